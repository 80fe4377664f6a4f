"""Assignment 07 beyond the generic tests: correct answers written other ways earn full marks (visible and
hidden checks), a backward pass is judged with the forward pass it belongs to, wrong answers outside the
catalogue are told what is wrong, and the statistical checks accept correct draws for many seeds."""
import contextlib
import io

import numpy as np
import pytest

from course_lib.checking import CheckFailed
from course_lib.checks import deep_networks as checks
from grader import grade
from grader.authoring.sample_class import source_as
from grader.hidden.deep_networks import SPECS
from grader.mistakes.deep_networks import MISTAKES
from grader.reference import deep_networks as reference
from submission import as_submission

TOPIC = "deep_networks"


def hidden(name, fn):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        earned = grade(TOPIC, name, fn, points=2)
    return earned, out.getvalue()


def visible(name, fn):
    with contextlib.redirect_stdout(io.StringIO()):
        getattr(checks, f"check_{name}")(fn)


def notebook(*functions) -> dict:
    """A notebook's namespace: the reference's answers, then `functions` in the place of the graded
    function each answers (ANSWERS)."""
    namespace = {"np": np}
    for name in SPECS:
        exec(compile(source_as(getattr(reference, name), name), "<submission>", "exec"), namespace)
    for fn in functions:
        exec(compile(source_as(fn, ANSWERS[fn.__name__]), "<submission>", "exec"), namespace)
    return namespace


ANSWERS = {  # the graded function each variant below answers
    "xavier_scaled_random_float32": "xavier_init",
    "xavier_one_column_at_a_time": "xavier_init",
    "xavier_transposed_draw_from_a_copy": "xavier_init",
    "he_standard_normal_times_std": "he_init",
    "he_row_by_row_float32": "he_init",
    "forward_with_loops_and_stable_sigmoid": "mlp_forward",
    "backward_in_place_on_copies": "mlp_backward",
    "step_decay_by_a_loop": "step_decay_lr",
    "cosine_with_math": "cosine_lr",
    "sharpness_all_directions_at_once": "sharpness",
    "sharpness_by_rejection_from_the_cube": "sharpness",
    "sharpness_perturbing_a_copy_in_place": "sharpness",
    "power_iteration_estimate_inside_the_loop": "top_hessian_eigenvalue",
    "forward_caching_pre_activations": "mlp_forward",
    "backward_from_pre_activations": "mlp_backward",
    "forward_with_the_wrong_sigmoid": "mlp_forward",
    "backward_of_the_wrong_sigmoid": "mlp_backward",
    "xavier_only_positive": "xavier_init",
    "xavier_with_the_normal_default": "xavier_init",
    "sharpness_positive_directions": "sharpness",
    "power_iteration_from_a_fixed_start": "top_hessian_eigenvalue",
    "cosine_warmup_by_min": "cosine_lr",
}


# --- correct answers written other ways -----------------------------------------------------------
def xavier_scaled_random_float32(fan_in, fan_out, rng, distribution="uniform"):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    if distribution == "uniform":
        return ((2 * rng.random((fan_in, fan_out)) - 1) * np.sqrt(3) * std).astype(np.float32)
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(np.float32)


def xavier_one_column_at_a_time(fan_in, fan_out, rng, distribution="uniform"):
    W = np.empty((fan_in, fan_out))
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    for j in range(fan_out):
        if distribution == "uniform":
            W[:, j] = rng.uniform(-bound, bound, size=fan_in)
        else:
            W[:, j] = rng.normal(0.0, bound / np.sqrt(3), size=fan_in)
    return W


def xavier_transposed_draw_from_a_copy(fan_in, fan_out, rng, distribution="uniform"):
    import copy
    rng = copy.deepcopy(rng)
    var = 2.0 / (fan_in + fan_out)
    if distribution == "normal":
        return rng.normal(scale=np.sqrt(var), size=(fan_out, fan_in)).T
    return rng.uniform(low=-np.sqrt(3 * var), high=np.sqrt(3 * var), size=(fan_out, fan_in)).T


def he_standard_normal_times_std(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "normal":
        return rng.standard_normal(size=(fan_in, fan_out)) * np.sqrt(2 / fan_in)
    return np.sqrt(6 / fan_in) * (rng.random(size=(fan_in, fan_out)) * 2.0 - 1.0)


def he_row_by_row_float32(fan_in, fan_out, rng, distribution="normal"):
    rows = []
    for _ in range(fan_in):
        if distribution == "normal":
            rows.append(rng.normal(0, (2 / fan_in) ** 0.5, fan_out))
        else:
            rows.append(rng.uniform(-(6 / fan_in) ** 0.5, (6 / fan_in) ** 0.5, fan_out))
    return np.array(rows, dtype=np.float32)


def forward_with_loops_and_stable_sigmoid(X, weights, biases, activation):
    layers = []
    h = X
    for l in range(len(weights)):
        z = h @ weights[l] + biases[l]
        if l < len(weights) - 1:
            if activation == "sigmoid":
                z = np.exp(-np.logaddexp(0, -z))
            elif activation == "tanh":
                z = np.tanh(z)
            else:
                z = np.where(z > 0, z, 0.0)
        layers.append((h, weights[l], z))
        h = z
    return h, (layers, activation)


def backward_in_place_on_copies(dout, cache):
    layers, activation = cache
    grad = dout.astype(float)                       # a copy: the in-place products below leave dout alone
    dweights, dbiases = [None] * len(layers), [None] * len(layers)
    for l in range(len(layers) - 1, -1, -1):
        h_in, W, out = layers[l]
        if l != len(layers) - 1:
            if activation == "relu":
                grad *= out > 0
            elif activation == "tanh":
                grad *= 1 - out * out
            else:
                grad *= out - out * out
        dweights[l] = np.dot(h_in.T, grad)
        dbiases[l] = np.einsum("nd->d", grad)
        grad = np.dot(grad, W.T)
    return grad, dweights, dbiases


def step_decay_by_a_loop(step, base_lr, drop, every):
    lr = base_lr
    for _ in range(int(step / every)):
        lr *= drop
    return lr


def cosine_with_math(step, total_steps, base_lr, min_lr=0.0, warmup_steps=0):
    import math
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps * base_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return float(min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * progress)))


def sharpness_all_directions_at_once(loss_fn, w, radius, n_samples, rng):
    U = rng.normal(size=(n_samples, w.size))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    return np.mean([loss_fn(w + radius * u) - loss_fn(w) for u in U])


def sharpness_by_rejection_from_the_cube(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    total = 0.0
    for _ in range(n_samples):
        while True:
            u = rng.uniform(-1, 1, size=w.shape)
            if 1e-3 < np.linalg.norm(u) <= 1:
                break
        total += loss_fn(w + radius * u / np.linalg.norm(u)) - base
    return total / n_samples


def sharpness_perturbing_a_copy_in_place(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    total = 0.0
    for _ in range(n_samples):
        g = rng.standard_normal(w.shape[0])
        point = w.copy()
        point += radius / np.sqrt(np.sum(g**2)) * g
        total += loss_fn(point)
    return total / n_samples - base


def power_iteration_estimate_inside_the_loop(grad_fn, w, rng, iters=100, h=1e-5):
    v = rng.normal(size=len(w))         # normalised after the first product
    estimate = 0.0
    for _ in range(iters):
        Hv = (grad_fn(w - h * v) - grad_fn(w + h * v)) / (-2 * h)
        estimate = (v @ Hv) / (v @ v)
        v = Hv / np.sqrt(Hv @ Hv)
    return estimate


CORRECT = [xavier_scaled_random_float32, xavier_one_column_at_a_time, xavier_transposed_draw_from_a_copy,
           he_standard_normal_times_std, he_row_by_row_float32, forward_with_loops_and_stable_sigmoid,
           backward_in_place_on_copies, step_decay_by_a_loop, cosine_with_math, sharpness_all_directions_at_once,
           sharpness_by_rejection_from_the_cube, sharpness_perturbing_a_copy_in_place,
           power_iteration_estimate_inside_the_loop]


@pytest.mark.parametrize("fn", CORRECT, ids=[fn.__name__ for fn in CORRECT])
def test_a_correct_answer_written_another_way_earns_full_marks(fn):
    answer = notebook(fn)[ANSWERS[fn.__name__]]
    visible(ANSWERS[fn.__name__], answer)
    earned, report = hidden(ANSWERS[fn.__name__], answer)
    assert earned == 2.0, report


# --- a forward and its backward with their own cache --------------------------------------------------
def forward_caching_pre_activations(X, weights, biases, activation):
    cache = {"activation": activation, "inputs": [], "z": []}
    h = X
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = h @ W + b
        cache["inputs"].append(h)
        cache["z"].append(z)
        if l + 1 < len(weights):
            h = {"sigmoid": lambda a: 1 / (1 + np.exp(-a)), "tanh": np.tanh, "relu": lambda a: a * (a > 0)}[activation](z)
        else:
            h = z
    cache["weights"] = list(weights)
    return h, cache


def backward_from_pre_activations(dout, cache):
    L = len(cache["z"])
    dW, db = [None] * L, [None] * L
    g = dout.copy()
    for l in range(L - 1, -1, -1):
        if l < L - 1:
            z = cache["z"][l]
            if cache["activation"] == "sigmoid":
                s = 1 / (1 + np.exp(-z))
                g = g * s * (1 - s)
            elif cache["activation"] == "tanh":
                g = g * (1 - np.tanh(z) ** 2)
            else:
                g = g * (z > 0)
        dW[l] = cache["inputs"][l].T @ g
        db[l] = np.sum(g, axis=0)
        g = g @ cache["weights"][l].T
    return g, dW, db


def test_a_forward_and_backward_with_their_own_cache_earn_full_marks():
    namespace = notebook(forward_caching_pre_activations, backward_from_pre_activations)
    for name in ("mlp_forward", "mlp_backward"):
        visible(name, namespace[name])
        earned, report = hidden(name, namespace[name])
        assert earned == 2.0, report


def forward_with_the_wrong_sigmoid(X, weights, biases, activation):
    act = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
    h, layers = X, []
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = h @ W + b
        out = z if l == len(weights) - 1 else act[activation](z)
        layers.append((h, W, out))
        h = out
    return h, (layers, activation)


def backward_of_the_wrong_sigmoid(dout, cache):
    layers, activation = cache
    slope = {"sigmoid": lambda o: -o * (1.0 - o), "tanh": lambda o: 1.0 - o**2, "relu": lambda o: (o > 0) * 1.0}
    grad, dweights, dbiases = dout, [], []
    for l in reversed(range(len(layers))):
        h_in, W, out = layers[l]
        if l < len(layers) - 1:
            grad = grad * slope[activation](out)
        dweights.insert(0, h_in.T @ grad)
        dbiases.insert(0, grad.sum(axis=0))
        grad = grad @ W.T
    return grad, dweights, dbiases


def test_a_backward_right_for_a_wrong_forward_is_judged_by_the_forwards_gradients():
    """The forward's mistake costs the forward's points; its backward, right for it, loses only the case that
    cannot be judged that way (float32, where central differences are too coarse)."""
    namespace = notebook(forward_with_the_wrong_sigmoid, backward_of_the_wrong_sigmoid)
    forward_earned, forward_report = hidden("mlp_forward", namespace["mlp_forward"])
    assert forward_earned < 2.0 and "[sigmoid_sign]" in forward_report
    visible("mlp_backward", namespace["mlp_backward"])
    earned, report = hidden("mlp_backward", namespace["mlp_backward"])
    failed = [line for line in report.splitlines() if line.startswith("  ✗")]
    assert len(failed) == 1 and "float32" in failed[0] and "fix the forward pass first" in failed[0], report
    assert "Named mistake" not in report


def test_a_backward_without_a_forward_in_the_notebook_runs_on_the_references_cache():
    fn = as_submission(reference.mlp_backward)
    earned, report = hidden("mlp_backward", fn)
    assert earned == 2.0, report
    with pytest.raises(CheckFailed, match="define mlp_forward in this notebook first"):
        visible("mlp_backward", fn)


# --- wrong answers outside the catalogue -------------------------------------------------------------
def xavier_only_positive(fan_in, fan_out, rng, distribution="uniform"):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(0, bound, size=(fan_in, fan_out))


def xavier_with_the_normal_default(fan_in, fan_out, rng, distribution="normal"):
    if distribution == "uniform":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=(fan_in, fan_out))
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def sharpness_positive_directions(loss_fn, w, radius, n_samples, rng):
    base = loss_fn(w)
    rises = []
    for _ in range(n_samples):
        u = rng.random(w.shape)
        rises.append(loss_fn(w + radius * u / np.linalg.norm(u)) - base)
    return float(np.mean(rises))


def power_iteration_from_a_fixed_start(grad_fn, w, rng, iters=100, h=1e-5):
    v = np.ones_like(w) / np.sqrt(w.size)
    for _ in range(iters):
        Hv = (grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h)
        v = Hv / np.linalg.norm(Hv)
    return float(v @ (grad_fn(w + h * v) - grad_fn(w - h * v)) / (2 * h))


def cosine_warmup_by_min(step, total_steps, base_lr, min_lr=0.0, warmup_steps=0):
    warm = min(1.0, (step + 1) / warmup_steps)
    t = max(step - warmup_steps, 0) / (total_steps - warmup_steps)
    return warm * (min_lr + (base_lr - min_lr) * (1 + np.cos(np.pi * t)) / 2)


@pytest.mark.parametrize("fn, said", [
    (xavier_only_positive, "the weights' mean should be 0"),
    (xavier_with_the_normal_default, "not drawn from 'uniform', the default of the signature"),
    (sharpness_positive_directions, "the directions are not uniform on the sphere"),
    (power_iteration_from_a_fixed_start, "different seeds all gave the same result"),
    (cosine_warmup_by_min, "raised ZeroDivisionError"),
])
def test_a_wrong_answer_outside_the_catalogue_is_told_what_is_wrong(fn, said):
    answer = notebook(fn)[ANSWERS[fn.__name__]]
    earned, report = hidden(ANSWERS[fn.__name__], answer)
    assert earned < 2.0 and said in report, report


@pytest.mark.parametrize("name, key", [("xavier_init", "xavier_fan_in_only"), ("he_init", "he_fan_out"),
                                       ("xavier_init", "bound_as_std"), ("he_init", "variance_as_std"),
                                       ("mlp_forward", "output_activated"),
                                       ("mlp_backward", "derivative_at_preactivation"),
                                       ("step_decay_lr", "decay_one_interval_early"),
                                       ("cosine_lr", "warmup_off_by_one"), ("cosine_lr", "cosine_ignores_warmup"),
                                       ("cosine_lr", "full_period"), ("cosine_lr", "min_lr_not_added"),
                                       ("sharpness", "no_base_loss"), ("sharpness", "gaussian_not_normalised"),
                                       ("sharpness", "max_not_mean"),
                                       ("top_hessian_eigenvalue", "not_renormalised")])
def test_the_visible_check_names_the_mistakes_the_lesson_warns_about(name, key):
    mistake = next(m for m in MISTAKES[name] if m.key == key)
    with pytest.raises(CheckFailed, match=rf"\[{key}\]"):
        visible(name, as_submission(mistake.implementation, name, TOPIC))


# --- statistical tolerances ------------------------------------------------------------------------------
def _uniform_by_scaling(fan_in, fan_out, rng, distribution="uniform"):
    var = 2.0 / (fan_in + fan_out)
    if distribution == "uniform":
        return (rng.random((fan_in, fan_out)) - 0.5) * 2 * np.sqrt(3 * var)
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(var)


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_the_initialisation_checks_accept_correct_draws_for_many_seeds(distribution):
    for fn in (reference.xavier_init, _uniform_by_scaling):
        for seed in range(40):
            assert checks.init_problem(fn, "xavier_init", 200, 300, distribution, seed) is None, seed


def test_the_curvature_checks_accept_correct_draws_for_many_seeds():
    land = checks.landscape([4.0, 2.0, 1.0, 0.5, 0.1], seed=0)
    for seed in range(30):
        assert checks.sharpness_problem(reference.sharpness, land, radius=0.1, n_samples=300, seed=seed) is None
        assert checks.top_hessian_problem(reference.top_hessian_eigenvalue, land, seed=seed, iters=50) is None


def test_the_initialisation_cases_keep_every_mistaken_variance_far_from_the_others():
    """A mistake is named when the weights' variance is within 5% of its own; the variance test's tolerance is
    below 4% on 60 000 weights. So in every case the right variance and the mistakes' lie 20% apart or more."""
    from grader.hidden.deep_networks import HE, XAVIER
    visible_cases = {"xavier_init": [(200, 300, "uniform"), (300, 100, "normal")],
                     "he_init": [(200, 300, "normal"), (300, 200, "uniform")]}
    for name, cases in (("xavier_init", XAVIER), ("he_init", HE)):
        for fan_in, fan_out, distribution in [c[:3] for c in cases] + visible_cases[name]:
            if fan_in * fan_out < 1000:
                continue
            right = checks.RULES[name]["variance"](fan_in, fan_out)
            table = checks.mistaken_variances(name, fan_in, fan_out, distribution)
            values = sorted({right, *(v for v, _ in table)})
            assert all(b / a >= 1.2 for a, b in zip(values, values[1:])), (name, fan_in, fan_out, table)
