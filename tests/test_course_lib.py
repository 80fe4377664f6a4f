"""Unit tests of the student-side helpers, and proof that they hold no answer."""
import ast
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import course_lib
from course_lib.checking import (HINT_WIDTH, CheckFailed, check_against_fixture, check_output, companion, index_coverage,
                                 invoke, mistake_message, quiet)
from course_lib.gradcheck import numerical_gradient, relative_error
from course_lib.objectives import elongated_bowl, rosenbrock, saddle
from course_lib.optimize import run_updates
from course_lib.runtime import budget
from grader.checks.judge import topic_modules

COURSE_LIB = Path(course_lib.__file__).parent


@pytest.mark.parametrize("objective", [elongated_bowl((1.0, 9.0)), rosenbrock(), saddle()], ids=lambda o: o.name)
def test_objective_gradients_match_numerical_ones(objective):
    rng = np.random.default_rng(0)
    for w in rng.uniform(-1.5, 1.5, size=(5, 2)):
        assert relative_error(objective.grad(w), numerical_gradient(objective.loss, w)) < 1e-6
    assert np.linalg.norm(objective.grad(objective.minimum)) < 1e-12


def test_numerical_gradient_leaves_its_input_alone():
    w = np.array([1.0, -2.0])
    numerical_gradient(lambda v: float(np.sum(v**3)), w)
    assert np.array_equal(w, [1.0, -2.0])


def test_run_updates_records_the_path_and_stops_when_it_overflows():
    bowl = elongated_bowl((1.0, 4.0))
    step = lambda lr: (lambda w, g, s: (w - lr * g, s))
    path, losses = run_updates(step(0.1), np.array([1.0, 1.0]), bowl.grad, 20, loss=bowl.loss)
    assert path.shape == (21, 2) and losses.shape == (21,) and losses[-1] < losses[0]
    exploded, _ = run_updates(step(1e3), np.array([1.0, 1.0]), bowl.grad, 500)
    assert len(exploded) < 501 and np.all(np.isfinite(exploded))


def test_budget_shortens_only_while_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert budget(100, 5) == 100
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert budget(100, 5) == 5


def test_quiet_keeps_warnings_and_stderr_in(capfd):
    with quiet():
        warnings.warn("hidden")
        print("hidden", file=sys.stderr)
        np.log(np.zeros(1))
    assert capfd.readouterr().err == ""


def test_invoke_reports_mutation_and_errors_by_name():
    def mutates(w):
        w += 1
        return w

    problem = invoke(mutates, {"w": np.zeros(2)}).problem("f")
    assert "modified its input `w`" in problem and "[mutates_input]" in problem
    assert "not implemented yet" in invoke(lambda: (_ for _ in ()).throw(NotImplementedError()), {}).problem("f")
    assert invoke(lambda w: w + 1, {"w": np.zeros(2)}).problem("f") is None


def test_invoke_sees_arrays_modified_inside_a_list():
    def scales_in_place(grads):
        for g in grads:
            g *= 0.5
        return grads

    assert "modified its input `grads`" in invoke(scales_in_place, {"grads": [np.ones(2), np.ones(3)]}).problem("f")


@pytest.mark.parametrize("value, message", [
    ([1.0, 2.0], "should be a NumPy array"),
    (np.zeros(3), "has shape (3,) but should have shape (2,)"),
    (np.zeros(2, dtype=int), "should hold floating-point numbers"),
    (np.array([1.0, np.nan]), "NaN or infinity"),
])
def test_check_output_says_what_is_wrong(value, message):
    with pytest.raises(CheckFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_output(value, np.zeros(2), "w_new")


def test_check_output_wants_integers_where_the_expected_value_is_one():
    assert check_output(np.int64(3), 4, "stop_epoch") == 3
    with pytest.raises(CheckFailed, match="should hold integers"):
        check_output(3.0, 4, "stop_epoch")


def test_index_coverage_counts_outside_repeated_and_missing_rows():
    assert index_coverage([np.array([0, 1]), np.array([2, 3])], 4) == (0, 0, 0)
    assert index_coverage([np.array([0, 0, 5]), np.array([-1])], 3) == (2, 1, 2)
    assert index_coverage([], 2) == (0, 0, 2)


def test_companion_finds_the_students_other_function():
    namespace = {}
    exec("def forward(x):\n    return x\n\ndef backward(d):\n    return d\n", namespace)
    assert companion(namespace["backward"], "forward") is namespace["forward"]
    assert companion(namespace["backward"], "missing") is None


def graded_names():
    from grader.pipeline.assignments import all_assignments
    return {name for a in all_assignments() for name in topic_modules(a.topic)[0].SPECS}


def test_course_lib_defines_no_graded_function_and_never_imports_grader():
    graded = graded_names()
    for path in COURSE_LIB.rglob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not defined & graded, f"{path} defines {defined & graded}"
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        modules = [a.name for n in imports for a in n.names] + [n.module or "" for n in imports if isinstance(n, ast.ImportFrom)]
        assert not any(m == "grader" or m.startswith("grader.") for m in modules), f"{path} imports grader"


def test_one_output_that_differs_takes_a_singular_verb():
    with pytest.raises(CheckFailed, match=r"but w_new differs from the stored result"):
        check_against_fixture(lambda w, grad, lr: w + lr * grad, "gradient_descent", "gd_step")
    with pytest.raises(CheckFailed, match=r"but w_new, velocity_new differ from the stored result"):
        check_against_fixture(lambda w, grad, velocity, lr, beta: (w + 1.0, velocity + 1.0),
                              "gradient_descent", "momentum_step")


def test_every_hint_is_wrapped_between_words_within_the_hint_width():
    from grader.pipeline.assignments import all_assignments
    for topic in [a.topic for a in all_assignments()]:
        for mistakes in topic_modules(topic)[2].MISTAKES.values():
            for m in mistakes:
                title, *hint = mistake_message(m.key, m.title, m.hint).splitlines()
                assert title == f"Named mistake: {m.title} [{m.key}]"
                assert all(line.startswith("  ") and len(line) <= HINT_WIDTH for line in hint), hint
                assert " ".join(line.strip() for line in hint) == " ".join(m.hint.split())


def flat_network(activation="tanh", sizes=(3, 5, 4, 2), seed=0):
    """A FlatNetwork run by the reference forward and backward of assignment 07, and (X, y, w)."""
    from course_lib.deep import FlatNetwork
    from grader.reference.deep_networks import he_init, mlp_backward, mlp_forward
    rng = np.random.default_rng(seed)
    weights = [he_init(a, b, rng) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
    net = FlatNetwork(mlp_forward, mlp_backward, weights, biases, activation)
    X, y = rng.standard_normal((20, sizes[0])), rng.integers(0, sizes[-1], 20)
    return net, X, y, net.pack(weights, biases)


def test_a_flat_network_unpacks_what_it_packed_and_its_gradient_is_the_numerical_one():
    net, X, y, w = flat_network()
    weights, biases = net.unpack(w)
    assert [W.shape for W in weights] == [(3, 5), (5, 4), (4, 2)] and [b.shape for b in biases] == [(5,), (4,), (2,)]
    assert np.array_equal(net.pack(weights, biases), w) and w.size == net.size
    loss, grad = net.loss_and_grad(w, X, y)
    assert loss == net.loss(w, X, y)
    assert relative_error(grad, numerical_gradient(lambda v: net.loss(v, X, y), w)) < 1e-6


def test_training_stops_at_its_target_loss_and_when_the_loss_overflows():
    from course_lib.deep import train
    net, X, y, w = flat_network()
    sgd = lambda w, grad, state, lr, t: (w - lr * grad, state)
    start = net.loss(w, X, y)
    _, history = train(net, w, X, y, sgd, 0.1, steps=500, rng=np.random.default_rng(1), target_loss=0.9 * start,
                       record_every=5)
    assert history["loss"][-1] <= 0.9 * start < history["loss"][-2] and history["step"][-1] < 500
    net, X, y, w = flat_network("relu")
    _, history = train(net, w, X, y, sgd, 1e80, steps=500, rng=np.random.default_rng(1), batch_size=4, record_every=1)
    assert history["loss"][-1] == np.inf and history["step"][-1] < 500


def test_minibatch_training_takes_an_epoch_of_steps_and_is_reproducible_from_its_seed():
    from course_lib.mlp import make_noisy_rings, train
    rng = np.random.default_rng(0)
    data = (*make_noisy_rings(40, rng), *make_noisy_rings(20, rng))
    counted = []

    def sgd(w, grad, m, v, t):
        counted.append(t)
        return w - 0.1 * grad, m, v

    first = train(data, sgd, epochs=3, hidden=8, batch_size=16, eval_every=1, seed=5)
    assert max(counted) == 3 * 3, "40 examples in batches of 16: 3 steps per epoch"
    again = train(data, sgd, epochs=3, hidden=8, batch_size=16, eval_every=1, seed=5)
    assert np.array_equal(first.train_loss, again.train_loss)
    assert not np.array_equal(first.train_loss, train(data, sgd, epochs=3, hidden=8, batch_size=16, eval_every=1,
                                                      seed=6).train_loss)


def test_log_ticks_are_plain_numbers_on_a_narrow_span_and_powers_of_ten_on_a_wide_one():
    import matplotlib
    matplotlib.use("Agg")
    from course_lib import plotting
    fig, (narrow, wide) = plotting.figure(ncols=2)
    plotting.curves(narrow, {"loss": np.linspace(0.4, 1.6, 20)})
    plotting.curves(wide, {"loss": np.geomspace(1e-6, 1.0, 20)})
    fig.canvas.draw()
    narrow_labels = [t.get_text() for t in narrow.get_yticklabels() if t.get_text()]
    assert narrow_labels and all(re.fullmatch(r"[0-9.]+", label) for label in narrow_labels), narrow_labels
    assert any("10^{" in t.get_text() for t in wide.get_yticklabels())
    matplotlib.pyplot.close(fig)


def test_while_grading_figures_come_from_the_spares_made_ahead_then_afresh(monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    from course_lib import plotting
    monkeypatch.setattr(plotting, "_spares", [])
    plotting.make_spares(2)
    spares = [fig for fig, _ in plotting._spares]
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    handed = [plotting.figure(ncols=2) for _ in range(3)]
    assert [fig for fig, _ in handed[:2]] == spares[::-1] and handed[2][0] not in spares
    assert all(axes[0] is axes[1] and axes[0].figure is fig and not axes[0].lines for fig, axes in handed)
    for fig, _ in handed:
        plotting.show(fig)


def test_figures_cost_next_to_nothing_while_grading(monkeypatch):
    """Under grading one Axes stands in for a grid and the plotting helpers draw nothing; a student's
    session gets the whole grid, drawn."""
    import matplotlib
    matplotlib.use("Agg")
    from course_lib import plotting
    series, runs = {"loss": np.geomspace(1.0, 1e-3, 5)}, {"GD": np.zeros((3, 2))}
    for grading, panels, lines in ((True, 1, 0), (False, 8, 1)):
        if grading:
            monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
        else:
            monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
        fig, axes = plotting.figure(ncols=4, nrows=2)
        assert len(axes) == 8 and len(fig.axes) == panels
        plotting.curves(axes[0], series)
        plotting.path_panels(axes[1:3], rosenbrock(), runs)
        plotting.histogram(axes[3], np.arange(10.0), np.linspace(0, 10, 6), logy=True)
        assert len(axes[0].lines) == lines and (axes[0].get_legend() is None) == grading
        assert (not axes[3].patches) == grading
        matplotlib.pyplot.close(fig)
