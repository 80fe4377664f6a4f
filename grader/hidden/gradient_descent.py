"""Hidden checks of assignment 01 (gradient descent).

Cases use hyperparameters under which every catalogued mistake changes the result far
beyond the tolerance: lr != 1 (so a missing lr shows), nonzero starting velocities (so
stale or re-scaled velocities show), n > 1 (so sums and means differ).
"""
import numpy as np

from course_lib.checking import CheckFailed, invoke
from course_lib.checks.gradient_descent import minibatch_fresh_problem, minibatch_problem
from grader.checks.specs import ByProperties, ByReference, Case
from grader.hidden import generator

SEED = 20260101
CURVATURES = np.array([1.0, 25.0])


def bowl_gradient(w):
    return CURVATURES * w


def _regression(normal, n, d, dtype=float):
    return dict(w=normal(d).astype(dtype), X=normal((n, d)).astype(dtype), y=normal(n).astype(dtype))


def _step(normal, shape, dtype=float, **hyper):
    return dict(w=normal(shape).astype(dtype), grad=normal(shape).astype(dtype), **hyper)


def _mse_loss_grad_spec(rng):
    normal = rng.standard_normal
    return ByReference(
        outputs=("loss", "grad"),
        cases=[
            Case("8 examples, 3 features", _regression(normal, 8, 3)),
            Case("a single example", _regression(normal, 1, 4)),
            Case("200 examples, 10 features", _regression(normal, 200, 10)),
            Case("float32 inputs", _regression(normal, 16, 5, np.float32), rtol=1e-4),
        ],
        visible=_regression(normal, 4, 2),
    )


def _gd_step_spec(rng):
    normal = rng.standard_normal
    return ByReference(
        outputs=("w_new",),
        cases=[
            Case("vector", _step(normal, 5, lr=0.1)),
            Case("matrix weights", _step(normal, (3, 4), lr=0.05)),
            Case("large learning rate", _step(normal, 4, lr=2.5)),
            Case("float32", _step(normal, 6, np.float32, lr=0.3), rtol=1e-4),
        ],
        visible=_step(normal, 3, lr=0.1),
    )


def _momentum_spec(rng):
    """The spec of momentum_step or nesterov_step: same arguments, same kinds of cases."""
    normal = rng.standard_normal
    return ByReference(
        outputs=("w_new", "velocity_new"),
        cases=[
            Case("one step, vector", dict(_step(normal, 5), velocity=normal(5), lr=0.1, beta=0.9)),
            Case("one step, matrix weights", dict(_step(normal, (3, 4)), velocity=normal((3, 4)), lr=0.03,
                                                  beta=0.5)),
            Case("one step, float32", dict(_step(normal, 6, np.float32), velocity=normal(6).astype(np.float32),
                                           lr=0.2, beta=0.8), rtol=1e-4),
            Case("40 steps on an elongated bowl", dict(w=np.array([4.0, -1.5]), velocity=np.zeros(2), lr=0.03,
                                                       beta=0.9), steps=40, gradient=bowl_gradient,
                 carry=("w", "velocity")),
            Case("40 steps from a moving start", dict(w=np.array([-2.0, 1.0]), velocity=np.array([0.5, -3.0]),
                                                      lr=0.01, beta=0.95), steps=40, gradient=bowl_gradient,
                 carry=("w", "velocity")),
        ],
        visible=dict(_step(normal, 3), velocity=normal(3), lr=0.1, beta=0.9),
    )


def _minibatch_checks():
    sizes = [(10, 3), (12, 4), (7, 7), (5, 10), (1, 1), (100, 32)]
    checks = [(f"n={n}, batch_size={b}", lambda fn, n=n, b=b, s=s: minibatch_problem(fn, n, b, seed=s))
              for s, (n, b) in enumerate(sizes)]
    return checks + [
        ("different seeds give different epochs", _seeds_differ),
        ("one generator gives a fresh shuffle every epoch", lambda fn: minibatch_fresh_problem(fn, 50, 8, seed=3)),
        ("independent of NumPy's global random state", _ignores_global_state),
    ]


def _epoch(fn, rng, n=50, batch_size=8):
    outcome = invoke(fn, dict(n=n, batch_size=batch_size, rng=rng))
    if outcome.problem("minibatch_indices"):
        raise CheckFailed(outcome.problem("minibatch_indices"))
    try:
        return np.concatenate(outcome.result)
    except (TypeError, ValueError):
        raise CheckFailed("minibatch_indices should return a list of 1-D integer arrays.") from None


def _seeds_differ(fn):
    if np.array_equal(_epoch(fn, np.random.default_rng(1)), _epoch(fn, np.random.default_rng(2))):
        return "generators with different seeds gave the same epoch: the shuffle must come from rng."
    return None


def _ignores_global_state(fn):
    saved = np.random.get_state()
    try:
        np.random.seed(0)
        first = _epoch(fn, np.random.default_rng(4))
        np.random.seed(1)
        second = _epoch(fn, np.random.default_rng(4))
    finally:
        np.random.set_state(saved)
    if not np.array_equal(first, second):
        return "the epoch changed with np.random's global seed although rng was the same: use rng only."
    return None


SPECS = {
    "mse_loss_grad": _mse_loss_grad_spec(generator(SEED, "mse_loss_grad")),
    "gd_step": _gd_step_spec(generator(SEED, "gd_step")),
    "minibatch_indices": ByProperties(checks=_minibatch_checks()),
    "momentum_step": _momentum_spec(generator(SEED, "momentum_step")),
    # from SEED to SEED + 4, nesterov_missing_beta lands within 1% of the reference on a one-step case:
    # the two steps differ by only lr * (1 - beta) * velocity_new
    "nesterov_step": _momentum_spec(generator(SEED + 5, "nesterov_step")),
}
