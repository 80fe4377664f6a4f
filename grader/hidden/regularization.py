"""Hidden checks of assignment 05 (regularization).

Value-judged functions (penalties, AdamW, label smoothing, mixup) run against the reference
on cases where every catalogued mistake changes the result far beyond the tolerance: weights
with exact zeros (L1), lr != 1 and weight_decay != 0 with small t (AdamW), K != N (label
smoothing), lam != 1/2 and permutations that are not their own inverse (mixup).

Dropout is judged by properties (course_lib.checks.regularization), never one random stream,
with p_drop != 1/2 so that keeping and dropping cannot be confused.

Batch norm: the forward's cache is the student's own business, so batchnorm_forward is judged
on (out, running_mean_new, running_var_new) only, against the reference, in training and
evaluation mode, with eps large enough (and the variance small enough) that its place matters,
momentum != 1/2 and small batches. batchnorm_backward is called on the cache of the student's
*own* batchnorm_forward (looked up in the notebook's namespace, or the reference's when the
submission has none): when that forward agrees with the reference, dx, dgamma, dbeta are
compared with the reference's; otherwise with numerical gradients of the student's forward.
gamma is never all ones, so a dx without gamma shows.
"""

import numpy as np

from course_lib.checking import (CheckFailed, check_output, close, companion, invoke, mistake_message,
                                 outputs_differ, outputs_of)
from course_lib.checks.regularization import (batchnorm_backward_problem, batchnorm_case,
                                              dropout_backward_problem, dropout_forward_problem)
from grader.checks.specs import ByProperties, ByReference, Case, diagnose
from grader.hidden import generator
from grader.mistakes import regularization as mistakes
from grader.reference import regularization as reference

SEED = 20260505


def _weights(rng, shape, dtype=float, zeros=0):
    w = rng.standard_normal(shape).astype(dtype)
    flat = w.reshape(-1)
    flat[rng.choice(flat.size, size=zeros, replace=False)] = 0.0
    return w


def _adam(rng, shape, t, dtype=float, **hyper):
    normal = rng.standard_normal
    base = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    base.update(hyper)
    g = normal(shape) * rng.uniform(0.1, 10.0, shape)
    return dict(w=normal(shape).astype(dtype), grad=g.astype(dtype),
                m=(0.1 * normal(shape)).astype(dtype) if t > 1 else np.zeros(shape, dtype),
                v=(0.1 * normal(shape) ** 2).astype(dtype) if t > 1 else np.zeros(shape, dtype), t=t, **base)


SCALES = np.array([0.1, 1.0, 20.0])


def _scaled_gradient(w):
    return SCALES * (w - 1.0)


def _onehot(rng, n, k, dtype=float):
    return np.eye(k, dtype=dtype)[rng.integers(0, k, n)]


def _mixup(rng, n, shape, k, lam, dtype=float):
    perm = rng.permutation(n)
    while np.array_equal(perm[perm], np.arange(n)):
        perm = rng.permutation(n)
    return dict(x=rng.standard_normal((n,) + shape).astype(dtype), y_onehot=_onehot(rng, n, k, dtype), lam=lam,
                perm=perm)


def _l2_penalty_spec(rng):
    return ByReference(
        outputs=("value", "grad"),
        cases=[
            Case("vector, lam 0.1", dict(w=_weights(rng, 6), lam=0.1)),
            Case("matrix, lam 3", dict(w=_weights(rng, (4, 5)), lam=3.0)),
            Case("float32, lam 0.01", dict(w=_weights(rng, (3, 3), np.float32), lam=0.01), rtol=1e-4),
        ],
        visible=dict(w=_weights(rng, 4), lam=0.5),
    )


def _l1_penalty_spec(rng):
    return ByReference(
        outputs=("value", "subgrad"),
        cases=[
            Case("vector with zeros, lam 0.1", dict(w=_weights(rng, 8, zeros=3), lam=0.1)),
            Case("matrix with zeros, lam 2", dict(w=_weights(rng, (4, 5), zeros=6), lam=2.0)),
            Case("all zeros, lam 0.3", dict(w=np.zeros(5), lam=0.3)),
            Case("float32 with zeros", dict(w=_weights(rng, (3, 4), np.float32, zeros=4), lam=0.05), rtol=1e-4),
        ],
        visible=dict(w=np.array([0.8, 0.0, -1.5, 0.0, 0.3]), lam=0.5),
    )


def _adamw_step_spec(rng):
    return ByReference(
        outputs=("w_new", "m_new", "v_new"),
        cases=[
            Case("first step, t=1", _adam(rng, 5, t=1)),
            Case("step t=3 from nonzero moments", _adam(rng, (3, 4), t=3, lr=0.05, weight_decay=0.5)),
            Case("float32, t=2", _adam(rng, 6, t=2, dtype=np.float32), rtol=1e-4),
            Case("no weight decay, t=2", _adam(rng, 4, t=2, weight_decay=0.0, lr=0.1)),
            Case("30 steps on badly scaled gradients",
                 dict(w=np.array([3.0, -2.0, 0.5]), m=np.zeros(3), v=np.zeros(3), t=1, lr=0.05, beta1=0.9,
                      beta2=0.99, eps=1e-8, weight_decay=0.2),
                 steps=30, gradient=_scaled_gradient, carry=("w", "m", "v"), counter="t"),
        ],
        visible=_adam(rng, 3, t=2),
    )


def _label_smoothing_spec(rng):
    return ByReference(
        outputs=("targets",),
        cases=[
            Case("10 examples, 3 classes, eps 0.1", dict(y_onehot=_onehot(rng, 10, 3), eps=0.1)),
            Case("4 examples, 7 classes, eps 0.3", dict(y_onehot=_onehot(rng, 4, 7), eps=0.3)),
            Case("float32, 6 examples, 2 classes", dict(y_onehot=_onehot(rng, 6, 2, np.float32), eps=0.2),
                 rtol=1e-4),
        ],
        visible=dict(y_onehot=_onehot(rng, 5, 4), eps=0.2),
    )


def _mixup_spec(rng):
    return ByReference(
        outputs=("x_mixed", "y_mixed"),
        cases=[
            Case("8 examples, 3 features, lam 0.7", _mixup(rng, 8, (3,), 4, 0.7)),
            Case("image-shaped inputs, lam 0.2", _mixup(rng, 6, (2, 3, 3), 3, 0.2)),
            Case("float32, lam 0.9", _mixup(rng, 7, (5,), 2, 0.9, np.float32), rtol=1e-4),
        ],
        visible=_mixup(rng, 5, (2,), 3, 0.7),
    )


# --- batch norm ------------------------------------------------------------------------------
BN_CASES = [
    ("training, N=6, D=4", batchnorm_case(6, 4, seed=10), True, 1e-6),
    ("training, N=3, D=5, momentum 0.95", batchnorm_case(3, 5, seed=11, momentum=0.95), True, 1e-6),
    ("training, N=32, D=3, eps 0.05", batchnorm_case(32, 3, seed=12, eps=0.05, scale=0.3), True, 1e-6),
    ("training, float32", batchnorm_case(8, 4, seed=13, dtype=np.float32), True, 1e-4),
    ("evaluation, N=5, D=4", batchnorm_case(5, 4, seed=14), False, 1e-6),
    ("evaluation, N=1, D=3", batchnorm_case(1, 3, seed=15), False, 1e-6),
]
BN_OUTPUTS = ("out", "running_mean_new", "running_var_new")


def _bn_values(fn, kwargs):
    outcome = invoke(fn, kwargs)
    if outcome.problem("batchnorm_forward"):
        raise CheckFailed(outcome.problem("batchnorm_forward"))
    out, _, rm, rv = outputs_of(outcome.result, ("out", "cache", "running_mean_new", "running_var_new"),
                                "batchnorm_forward")
    return [out, rm, rv]


def _bn_forward_check(case, train, rtol):
    kwargs = dict(case, train=train)

    def check(fn):
        expected = _bn_values(reference.batchnorm_forward, kwargs)
        got = _bn_values(fn, kwargs)
        for g, e, n in zip(got, expected, BN_OUTPUTS):
            check_output(g, e, f"batchnorm_forward's {n}")
        if close(got, expected, rtol):
            return None
        wrong = [n for g, e, n in zip(got, expected, BN_OUTPUTS) if not close([g], [e], rtol)]
        problem = f"{outputs_differ(wrong)} from the reference."
        mistake = diagnose(got, mistakes.MISTAKES["batchnorm_forward"], lambda m: _bn_values(m, kwargs))
        return problem + ("\n" + mistake_message(mistake.key, mistake.title, mistake.hint) if mistake else "")

    return check


def _student_forward(fn):
    """The submission's own batchnorm_forward (leak-guarded), or the reference's when it has none."""
    forward = companion(fn, "batchnorm_forward")
    if forward is None:
        return reference.batchnorm_forward
    return forward


def _bn_backward_check(case, seed, rtol):
    dout = np.random.default_rng(seed).standard_normal(case["x"].shape).astype(case["x"].dtype)

    def check(fn):
        forward = _student_forward(fn)
        ref_out, ref_cache, _, _ = reference.batchnorm_forward(**dict(case, train=True))
        expected = list(reference.batchnorm_backward(dout, ref_cache))
        outcome = invoke(forward, dict(case, train=True))
        theirs = outcome.result[0] if outcome.error is None and isinstance(outcome.result, (tuple, list)) \
            and len(outcome.result) == 4 else None
        matches = isinstance(theirs, np.ndarray) and theirs.shape == ref_out.shape and close([theirs], [ref_out], rtol)
        if not matches:
            if case["x"].dtype == np.float32:
                return ("your batchnorm_forward does not agree with the reference on this float32 case, so "
                        "batchnorm_backward cannot be judged on it: fix the forward pass first.")
            expected = None  # judge the backward against numerical gradients of the student's forward
        return batchnorm_backward_problem(fn, forward, case, dout, expected=expected,
                                          rtol=rtol if matches else 1e-5)

    return check


# batchnorm_backward is checked on the cache of the student's own batchnorm_forward.
DEPENDS = {"batchnorm_backward": ["batchnorm_forward"]}

SPECS = {
    "l2_penalty": _l2_penalty_spec(generator(SEED, "l2_penalty")),
    "l1_penalty": _l1_penalty_spec(generator(SEED, "l1_penalty")),
    "adamw_step": _adamw_step_spec(generator(SEED, "adamw_step")),
    "dropout_forward": ByProperties(checks=[
        ("p_drop=0.3, 200x100", lambda fn: dropout_forward_problem(fn, (200, 100), 0.3, seed=11)),
        ("p_drop=0.8, 1-D input", lambda fn: dropout_forward_problem(fn, (20000,), 0.8, seed=12)),
        ("p_drop=0.1, 3-D input", lambda fn: dropout_forward_problem(fn, (20, 30, 40), 0.1, seed=13)),
        ("p_drop=0.3, float32", lambda fn: dropout_forward_problem(fn, (100, 100), 0.3, seed=14, dtype=np.float32)),
        ("p_drop=0 keeps everything", lambda fn: dropout_forward_problem(fn, (50, 20), 0.0, seed=15)),
    ]),
    "dropout_backward": ByProperties(checks=[
        ("p_drop=0.3", lambda fn: dropout_backward_problem(fn, (50, 40), 0.3, seed=21)),
        ("p_drop=0.75, 3-D", lambda fn: dropout_backward_problem(fn, (6, 7, 8), 0.75, seed=22)),
        ("float32", lambda fn: dropout_backward_problem(fn, (30, 30), 0.2, seed=23, dtype=np.float32)),
    ]),
    "batchnorm_forward": ByProperties(checks=[(label, _bn_forward_check(case, train, rtol))
                                              for label, case, train, rtol in BN_CASES]),
    "batchnorm_backward": ByProperties(checks=[
        ("N=8, D=5", _bn_backward_check(batchnorm_case(8, 5, seed=31), 41, 1e-6)),
        ("N=3, D=4", _bn_backward_check(batchnorm_case(3, 4, seed=32), 42, 1e-6)),
        ("N=64, D=2, large offsets", _bn_backward_check(batchnorm_case(64, 2, seed=33, scale=2.0, eps=1e-5), 43, 1e-6)),
        ("float32, N=10, D=3", _bn_backward_check(batchnorm_case(10, 3, seed=34, dtype=np.float32), 44, 1e-4)),
    ]),
    "label_smoothing": _label_smoothing_spec(generator(SEED, "label_smoothing")),
    "mixup": _mixup_spec(generator(SEED, "mixup")),
}
