"""Unit tests of every check, visible and hidden, against the reference and every catalogued mistake."""
import contextlib
import copy
import importlib
import io
import re
import warnings

import numpy as np
import pytest

from course_lib.checking import CheckFailed
from grader import grade
from grader.checks.judge import topic_modules
from grader.checks.specs import ByReference
from submission import as_submission


def graded_functions(assignment):
    specs, _, _ = topic_modules(assignment.topic)
    return list(specs.SPECS)


def hidden(assignment, name, fn, points=2.0):
    """(points earned, printed report) of the hidden checks."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        earned = grade(assignment.topic, name, fn, points=points)
    return earned, out.getvalue()


def visible(assignment, name):
    return getattr(importlib.import_module(f"course_lib.checks.{assignment.topic}"), f"check_{name}")


def test_reference_passes_every_check(assignment):
    _, reference, _ = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        fn = as_submission(getattr(reference, name), topic=assignment.topic)
        with contextlib.redirect_stdout(io.StringIO()):
            visible(assignment, name)(fn)
        earned, report = hidden(assignment, name, fn)
        assert type(earned) is float and earned == 2.0, report


def named_keys(text) -> list:
    """The keys of the mistakes a report or a visible check's message names, in order."""
    return re.findall(r"^Named mistake: .* \[(\w+)\]$", text, re.M)


def test_every_mistake_loses_points_and_is_named(assignment):
    """Each catalogued mistake is named, and no other: a mistake is never blamed on another one's cases
    (global_rng was named on small cases of no_shuffle, excludes_last and fixed_seed)."""
    _, _, mistakes = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            earned, report = hidden(assignment, name, as_submission(mistake.implementation, name, assignment.topic))
            assert earned < 2.0, f"{name}: {mistake.key} kept full points"
            assert named_keys(report) == [mistake.key], f"{name}: {mistake.key} not named alone in\n{report}"


def test_visible_checks_name_the_mistakes_they_see(assignment):
    """A visible check judged by stored values names every catalogued mistake, and never prints numbers."""
    specs, _, mistakes = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    visible(assignment, name)(as_submission(mistake.implementation, name, assignment.topic))
            except CheckFailed as failure:
                message = str(failure)
                assert not re.search(r"\d\.\d{4,}", message), f"{name}: a message shows values:\n{message}"
                assert set(named_keys(message)) <= {mistake.key}, f"visible {name} blames another mistake:\n{message}"
                if isinstance(specs.SPECS[name], ByReference):
                    assert f"[{mistake.key}]" in message, f"visible {name} does not name {mistake.key}:\n{message}"
            else:
                assert not isinstance(specs.SPECS[name], ByReference), f"visible {name} accepts {mistake.key}"


def test_mistakes_are_far_from_the_reference_where_they_differ(assignment):
    """No mistake lands in the grey zone between the tolerance and an obvious difference."""
    specs, reference, mistakes = topic_modules(assignment.topic)
    for name, spec in specs.SPECS.items():
        if not isinstance(spec, ByReference):
            continue
        for case in spec.cases:
            want = spec.run(getattr(reference, name), case)
            for mistake in mistakes.MISTAKES[name]:
                try:
                    got = spec.run(mistake.implementation, case)
                except CheckFailed:
                    continue
                gaps = [_gap(g, w) for gs, ws in zip(got, want) for g, w in zip(gs, ws)]
                worst = max(gaps)
                assert worst <= case.rtol / 10 or worst > 1e-2, f"{name}/{mistake.key} on {case.label}: {worst:.1e}"


def _flat(x):
    if isinstance(x, (list, tuple)):
        return np.concatenate([_flat(e) for e in x]) if len(x) else np.zeros(0)
    return np.ravel(np.asarray(x, dtype=float))


def _gap(got, want):
    got, want = _flat(got), _flat(want)
    if got.shape != want.shape:
        return np.inf
    return np.max(np.abs(got - want), initial=0.0) / max(np.max(np.abs(want), initial=0.0), 1e-12)


def test_warnings_and_stderr_from_student_code_do_not_escape(assignment, capfd):
    _, reference, _ = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        correct = as_submission(getattr(reference, name), topic=assignment.topic)

        def noisy(*args, **kwargs):
            import sys
            warnings.warn("a warning from the student's own code")
            print("debug output on stderr", file=sys.stderr)
            return correct(*args, **kwargs)

        earned, report = hidden(assignment, name, noisy)
        assert earned == 2.0, report
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("points", [1, 2.5])
def test_partial_credit_is_a_plain_float_within_the_points(assignment, points):
    _, _, mistakes = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            earned, _ = hidden(assignment, name, as_submission(mistake.implementation, name, assignment.topic), points)
            assert type(earned) is float and 0.0 <= earned < points


# --- generalization_cv: answers that use the generator or their own helpers in other correct ways -----------
CV_OWN_HELPERS = '''
def kfold_indices(n, k, rng):
    folds = np.array_split(rng.permutation(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


def cross_validate(fit, loss, X, y, k, rng):
    losses = []
    for train, val in kfold_indices(len(y), k, rng):
        losses.append(loss(y[val], fit(X[train], y[train])(X[val])))
    return np.array(losses, dtype=float)


def select_by_cv(candidates, make_fit, loss, X, y, k, rng):
    scores = []
    for candidate in candidates:
        folds = kfold_indices(len(y), k, copy.deepcopy(rng))   # the same folds for every candidate
        fit = make_fit(candidate)
        scores.append(np.mean([loss(y[val], fit(X[train], y[train])(X[val])) for train, val in folds]))
    scores = np.array(scores, dtype=float)
    return candidates[int(np.argmin(scores))], scores
'''


def cv_notebook(kfold=None) -> dict:
    """The functions of a notebook whose cross_validate and select_by_cv call its own kfold_indices;
    with `kfold`, a catalogued mistake, that kfold_indices is the mistaken one."""
    import copy
    from grader.authoring.sample_class import source_as
    namespace = {"np": np, "copy": copy}
    exec(compile(CV_OWN_HELPERS, "<submission>", "exec"), namespace)
    if kfold is not None:
        exec(compile(source_as(kfold.implementation, "kfold_indices"), "<submission>", "exec"), namespace)
    return namespace


def test_select_by_cv_that_leaves_the_callers_generator_untouched_earns_full_marks():
    """Drawing the same folds for every candidate from a copy of rng is correct: the docstring does not ask
    that the caller's generator advance, so the checks judge what the function returns (they crashed)."""
    from conftest import ASSIGNMENTS
    cv = next(a for a in ASSIGNMENTS if a.topic == "generalization_cv")
    fn = cv_notebook()["select_by_cv"]
    with contextlib.redirect_stdout(io.StringIO()):
        visible(cv, "select_by_cv")(fn)
    earned, report = hidden(cv, "select_by_cv", fn)
    assert earned == 2.0, report


@pytest.mark.parametrize("name, key", [(name, key) for name in ("cross_validate", "select_by_cv")
                                       for key in ("floor_fold_size", "overlapping_folds", "val_in_training")]
                         + [("cross_validate", "no_shuffle")])   # select_by_cv's checks do not ask for a shuffle
def test_a_right_function_on_the_students_wrong_kfold_indices_blames_kfold_indices(name, key):
    from conftest import ASSIGNMENTS
    from grader.mistakes.generalization_cv import MISTAKES
    cv = next(a for a in ASSIGNMENTS if a.topic == "generalization_cv")
    fn = cv_notebook(next(m for m in MISTAKES["kfold_indices"] if m.key == key))[name]
    with pytest.raises(CheckFailed) as failure, contextlib.redirect_stdout(io.StringIO()):
        visible(cv, name)(fn)
    earned, report = hidden(cv, name, fn)
    for said in (str(failure.value), report):
        assert "your kfold_indices draws, and kfold_indices is wrong" in said, said
        assert "Named mistake" not in said, f"a mistake of {name} is named:\n{said}"
    assert earned < 2.0


def test_a_named_conceptual_mistake_earns_little(assignment):
    """A mistake that misses the idea (a permutation for a bootstrap sample) earns at most CONCEPTUAL_SHARE of
    the points, however many cases cannot tell it apart (a permutation of one row is a bootstrap sample)."""
    from grader.checks.judge import CONCEPTUAL_SHARE
    _, _, mistakes = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            if mistake.conceptual:
                earned, report = hidden(assignment, name, as_submission(mistake.implementation, name, assignment.topic))
                assert earned <= 2.0 * CONCEPTUAL_SHARE, f"{name}: {mistake.key} earned {earned}\n{report}"


def test_bootstrap_without_replacement_earns_little():
    from conftest import ASSIGNMENTS
    from grader.mistakes.generalization_cv import MISTAKES
    cv = next(a for a in ASSIGNMENTS if a.topic == "generalization_cv")
    permutation = next(m for m in MISTAKES["bootstrap_indices"] if m.key == "permutation")
    earned, report = hidden(cv, "bootstrap_indices", as_submission(permutation.implementation, "bootstrap_indices"))
    assert earned <= 0.5 and "[permutation]" in report, report


def unseeded_minibatch_indices(n, batch_size, rng):
    order = np.random.default_rng().permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def unseeded_bootstrap_indices(n, rng):
    return np.random.default_rng().integers(0, n, size=n)


def unseeded_kfold_indices(n, k, rng):
    folds = np.array_split(np.random.default_rng().permutation(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


@pytest.mark.parametrize("topic, fn", [("gradient_descent", unseeded_minibatch_indices),
                                       ("generalization_cv", unseeded_bootstrap_indices),
                                       ("generalization_cv", unseeded_kfold_indices)])
def test_global_rng_is_named_only_where_the_global_state_is_used(topic, fn):
    """A function that draws from a generator of its own, unseeded, ignores rng but not by way of
    np.random's global state: it loses points, and global_rng is not named on it."""
    from conftest import ASSIGNMENTS
    assignment = next(a for a in ASSIGNMENTS if a.topic == topic)
    name = fn.__name__.removeprefix("unseeded_")
    with pytest.raises(CheckFailed) as failure, contextlib.redirect_stdout(io.StringIO()):
        visible(assignment, name)(as_submission(fn, name))
    earned, report = hidden(assignment, name, as_submission(fn, name))
    assert earned < 2.0 and "[global_rng]" not in report, report
    assert "[global_rng]" not in str(failure.value), failure.value


def bootstrap_from_a_copy(n, rng):
    return copy.deepcopy(rng).integers(0, n, size=n)


def minibatches_from_a_copy(n, batch_size, rng):
    order = copy.deepcopy(rng).permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


@pytest.mark.parametrize("topic, name, fn", [("generalization_cv", "bootstrap_indices", bootstrap_from_a_copy),
                                             ("gradient_descent", "minibatch_indices", minibatches_from_a_copy)])
def test_a_copy_of_the_generator_fails_only_the_new_numbers_on_every_call_its_docstring_asks_for(topic, name, fn):
    from conftest import ASSIGNMENTS
    assignment = next(a for a in ASSIGNMENTS if a.topic == topic)
    submitted = as_submission(fn, name)
    submitted.__globals__["copy"] = copy
    with pytest.raises(CheckFailed, match="two calls with the same generator"):
        with contextlib.redirect_stdout(io.StringIO()):
            visible(assignment, name)(submitted)
    earned, report = hidden(assignment, name, submitted)
    failed = re.findall(r"^  ✗ ([^:]+):", report, re.M)
    assert len(failed) == 1 and "fresh" in failed[0] and not named_keys(report), report
    assert earned > 1.5, report


def test_a_report_names_each_mistake_once_and_does_not_repeat_the_cases_label(assignment):
    _, _, mistakes = topic_modules(assignment.topic)
    repeated = re.compile(r"✗ (?P<label>[^:\n]+): For (?P<inputs>[^:\n]+):")
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            _, report = hidden(assignment, name, as_submission(mistake.implementation, name, assignment.topic))
            named = named_keys(report)
            assert len(named) == len(set(named)) and report.count("Named mistake:") == len(named), report
            for line in repeated.finditer(report):
                assert not all(p.strip() in line["label"] for p in line["inputs"].split(",")), line[0]
