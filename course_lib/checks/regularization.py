"""Visible checks of assignment 05 (regularization).

Functions judged by their values are checked against stored results (`check_against_fixture`).
Random functions (dropout) and batch normalization are checked by their properties: drop rate
and scaling of the mask, evaluation mode, reproducibility from `rng`; for batch norm, the
statistics of the normalised output, the running averages and the agreement of the backward
pass with numerical gradients of *your* forward pass. Nothing here holds an answer.
"""
import numpy as np

from course_lib.checking import (CheckFailed, check_against_fixture, check_float_array, close, companion, fresh_problem,
                                 generator_problem, invoke, load_fixture, matches_mistake, mistake_message,
                                 named_mistake, outputs_differ, outputs_of, quiet, relative_difference)
from course_lib.gradcheck import numerical_gradient

TOPIC = "regularization"
PASSED = "✓ {} passes the visible checks ({}). Grading runs more cases."


def check_l2_penalty(l2_penalty) -> None:
    """l2_penalty(w, lam) -> (value, grad) on one stored input."""
    check_against_fixture(l2_penalty, TOPIC, "l2_penalty")


def check_l1_penalty(l1_penalty) -> None:
    """l1_penalty(w, lam) -> (value, subgrad) on one stored input (with an exact zero in w)."""
    check_against_fixture(l1_penalty, TOPIC, "l1_penalty")


def check_adamw_step(adamw_step) -> None:
    """adamw_step(...) -> (w_new, m_new, v_new) on one stored step."""
    check_against_fixture(adamw_step, TOPIC, "adamw_step")


def check_label_smoothing(label_smoothing) -> None:
    """label_smoothing(y_onehot, eps) on one stored input."""
    check_against_fixture(label_smoothing, TOPIC, "label_smoothing")


def check_mixup(mixup) -> None:
    """mixup(x, y_onehot, lam, perm) on one stored input (perm is passed as integers)."""
    spec = load_fixture(TOPIC)["mixup"]
    kwargs = {k: np.array(v, dtype=int if k == "perm" else float) if isinstance(v, list) else v
              for k, v in spec["inputs"].items()}
    outcome = invoke(mixup, kwargs)
    if outcome.problem("mixup"):
        raise CheckFailed(outcome.problem("mixup"))
    names = spec["output_names"]
    expected = [np.array(e, dtype=float) for e in spec["expected"]]
    outputs = [check_float_array(o, e.shape, f"mixup's {n}")
               for o, e, n in zip(outputs_of(outcome.result, names, "mixup"), expected, names)]
    if close(outputs, expected, 1e-6):
        print(PASSED.format("mixup", "types and shapes, inputs unchanged, one stored input"))
        return
    wrong = [n for o, e, n in zip(outputs, expected, names) if relative_difference(o, e) > 1e-6]
    message = f"mixup returns the right shapes, but {outputs_differ(wrong)} from the stored result."
    for mistake in spec["mistakes"]:
        if matches_mistake(outputs, [np.array(m, dtype=float) for m in mistake["outputs"]]):
            raise CheckFailed(message + "\n" + mistake_message(mistake["key"], mistake["title"], mistake["hint"]))
    raise CheckFailed(message + " Compare your code with the formula above, term by term.")


# --- dropout --------------------------------------------------------------------------------
def _call(fn, name, kwargs, n_outputs):
    result = invoke(fn, kwargs).value(name)
    return outputs_of(result, [""] * n_outputs, name) if n_outputs > 1 else result


def dropout_forward_problem(fn, shape=(200, 100), p_drop=0.3, seed=0, dtype=float):
    """What is wrong with fn as inverted dropout on an input of `shape`, or None.

    Properties: out and mask are float arrays of x's shape with out = x * mask; in training
    mode the mask holds 0 (dropped) or 1 / (1 - p_drop) (kept), with a fraction p_drop of
    zeros (within 5 standard deviations); the mask is a function of rng's state alone
    (`generator_problem`), and every call draws a new one (`fresh_problem`: a training loop
    calls dropout with one generator at every step); in evaluation mode out equals x and the
    mask is all ones.
    """
    name = "dropout_forward"
    where = f"For x of shape {shape}, p_drop={p_drop}:"
    x = (np.random.default_rng(1000 + seed).standard_normal(shape) + 3.0).astype(dtype)
    out, mask = _call(fn, name, dict(x=x, p_drop=p_drop, rng=np.random.default_rng(seed), train=True), 2)
    out = check_float_array(out, shape, f"{name}'s out")
    mask = check_float_array(mask, shape, f"{name}'s mask")
    tol = 1e-5 if dtype == np.float32 else 1e-9
    if relative_difference(out, x * mask) > tol:
        return f"{where} out should equal x * mask (the mask is the scaled keep mask)."
    kept = mask[mask != 0]
    dropped = float(np.mean(mask == 0))
    spread = 5 * np.sqrt(max(p_drop * (1 - p_drop), 1e-12) / mask.size) + 1e-12
    scale = 1.0 / (1.0 - p_drop)
    if p_drop != 0.5 and p_drop > 0 and abs(dropped - (1 - p_drop)) < spread:
        return (f"{where} {dropped:.1%} of the units were dropped, about 1 - p_drop.\n"
                + named_mistake(TOPIC, name, "keep_drop_swapped"))
    if abs(dropped - p_drop) > spread:
        return f"{where} {dropped:.1%} of the units were dropped; about {p_drop:.0%} should be."
    if kept.size and np.allclose(kept, 1.0) and p_drop > 0:
        return f"{where} the kept units are not rescaled.\n" + named_mistake(TOPIC, name, "not_inverted")
    if kept.size and not np.allclose(kept, scale, rtol=1e-5):
        return f"{where} the kept entries of the mask should all equal 1 / (1 - p_drop)."
    if p_drop > 0:
        given = dict(x=x, p_drop=p_drop, train=True)
        problem = (generator_problem(fn, name, given, seed=seed, where=where,
                                     global_mistake="\n" + named_mistake(TOPIC, name, "global_rng"))
                   or fresh_problem(fn, name, given, seed=seed, where=where, what="mask"))
        if problem:
            return problem
    out_eval, mask_eval = _call(fn, name, dict(x=x, p_drop=p_drop, rng=np.random.default_rng(seed), train=False), 2)
    out_eval = check_float_array(out_eval, shape, f"{name}'s out (evaluation mode)")
    mask_eval = check_float_array(mask_eval, shape, f"{name}'s mask (evaluation mode)")
    if not (np.array_equal(out_eval, x) and np.all(mask_eval == 1)):
        return (f"{where} with train=False the output should be x itself and the mask all ones.\n"
                + named_mistake(TOPIC, name, "dropout_in_eval"))
    return None


def check_dropout_forward(dropout_forward) -> None:
    """dropout_forward(x, p_drop, rng, train), checked by its properties."""
    problem = dropout_forward_problem(dropout_forward)
    if problem:
        raise CheckFailed(problem)
    print(PASSED.format("dropout_forward", "drop rate, scaling, evaluation mode, reproducible from rng"))


def dropout_backward_problem(fn, shape=(50, 40), p_drop=0.3, seed=0, dtype=float):
    """What is wrong with fn(dout, mask) for a scaled keep mask of `shape`, or None."""
    name = "dropout_backward"
    rng = np.random.default_rng(seed)
    mask = ((rng.random(shape) >= p_drop) / (1 - p_drop)).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    dx = check_float_array(_call(fn, name, dict(dout=dout, mask=mask), 1), shape, f"{name}'s dx")
    tol = 1e-5 if dtype == np.float32 else 1e-9
    if relative_difference(dx, dout * mask) <= tol:
        return None
    where = f"For a mask of shape {shape} with p_drop={p_drop}:"
    if relative_difference(dx, dout) <= tol:
        return f"{where} dx equals dout.\n" + named_mistake(TOPIC, name, "backward_ignores_mask")
    if relative_difference(dx, dout * (mask != 0)) <= tol:
        return f"{where} dx is masked but not scaled.\n" + named_mistake(TOPIC, name, "backward_unscaled")
    if not np.array_equal(dx == 0, mask == 0):
        return (f"{where} the units that receive no gradient are not the ones the mask dropped.\n"
                + named_mistake(TOPIC, name, "mask_not_reused"))
    return f"{where} dx differs from the gradient of out = x * mask."


def check_dropout_backward(dropout_backward) -> None:
    """dropout_backward(dout, mask) for a given mask."""
    problem = dropout_backward_problem(dropout_backward)
    if problem:
        raise CheckFailed(problem)
    print(PASSED.format("dropout_backward", "dx for a stored mask"))


# --- batch normalization ---------------------------------------------------------------------
def batchnorm_case(n, d, seed, eps=1e-2, momentum=0.8, scale=0.1, dtype=float):
    """Inputs of one batch-norm case: gamma, beta and the running statistics are not trivial."""
    rng = np.random.default_rng(seed)
    return dict(x=(scale * (rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)) + rng.standard_normal(d)).astype(dtype),
                gamma=(rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)).astype(dtype),
                beta=rng.standard_normal(d).astype(dtype), eps=eps,
                running_mean=rng.standard_normal(d).astype(dtype),
                running_var=rng.uniform(0.01, 0.05, d).astype(dtype), momentum=momentum)


def batchnorm_forward_problem(fn, case: dict):
    """What is wrong with fn's training and evaluation outputs on `case`, judged by properties.

    Training mode: z = (out - beta) / gamma must have, per feature, mean 0 and mean square
    var / (var + eps) (var: the biased batch variance), and be a positive multiple of
    x - mean(x); the running statistics must follow the convention of the docstring.
    Evaluation mode: (out - beta) / gamma * sqrt(running_var + eps) + running_mean must give x back,
    and the running statistics must come back unchanged.
    """
    name = "batchnorm_forward"
    x, gamma, beta, eps = case["x"], case["gamma"], case["beta"], case["eps"]
    rm, rv, mom = case["running_mean"], case["running_var"], case["momentum"]
    n, d = x.shape
    where = f"For x of shape {x.shape} (eps={eps}, momentum={mom}):"
    out, _, rm_new, rv_new = _call(fn, name, dict(case, train=True), 4)
    out = check_float_array(out, x.shape, f"{name}'s out")
    rm_new = check_float_array(rm_new, (d,), f"{name}'s running_mean_new")
    rv_new = check_float_array(rv_new, (d,), f"{name}'s running_var_new")
    mu, var = x.mean(axis=0), x.var(axis=0)
    z = (out - beta) / gamma
    if np.max(np.abs(z.mean(axis=0))) > 1e-6:
        return f"{where} in training mode the normalised output (out - beta) / gamma should have mean 0 per feature."
    ms = (z**2).mean(axis=0)
    if relative_difference(ms, var / (var + eps)) > 1e-6:
        if relative_difference(ms, var / (var * n / (n - 1) + eps)) < 1e-6:
            return f"{where} the output is normalised with the wrong variance.\n" + named_mistake(TOPIC, name, "unbiased_variance")
        if relative_difference(ms, var / (np.sqrt(var) + eps) ** 2) < 1e-6:
            return f"{where} the output is normalised with the wrong scale.\n" + named_mistake(TOPIC, name, "eps_outside_sqrt")
        return (f"{where} in training mode the mean square of (out - beta) / gamma should be "
                "var / (var + eps) per feature, with var the batch's biased variance.")
    if relative_difference(z * np.sqrt(var + eps), x - mu) > 1e-6:
        return f"{where} in training mode (out - beta) / gamma should be proportional to x - mean(x) in each feature."
    if not (close([rm_new], [mom * rm + (1 - mom) * mu], 1e-6) and close([rv_new], [mom * rv + (1 - mom) * var], 1e-6)):
        if close([rm_new], [(1 - mom) * rm + mom * mu], 1e-6):
            return f"{where} the running mean is updated the wrong way.\n" + named_mistake(TOPIC, name, "momentum_swapped")
        return (f"{where} the running statistics should be momentum * running + (1 - momentum) * batch "
                "statistic, with the batch's mean and biased variance.")
    out, _, rm_same, rv_same = _call(fn, name, dict(case, train=False), 4)
    out = check_float_array(out, x.shape, f"{name}'s out (evaluation mode)")
    back = (out - beta) / gamma * np.sqrt(rv + eps) + rm
    if relative_difference(back, x) > 1e-6:
        if relative_difference((out - beta) / gamma * np.sqrt(var + eps) + mu, x) < 1e-6:
            return f"{where} evaluation mode used the batch's statistics.\n" + named_mistake(TOPIC, name, "batch_stats_in_eval")
        return f"{where} in evaluation mode the output should be gamma * (x - running_mean) / sqrt(running_var + eps) + beta."
    if not (np.allclose(rm_same, rm, rtol=0, atol=0) and np.allclose(rv_same, rv, rtol=0, atol=0)):
        return f"{where} evaluation mode must return the running statistics unchanged."
    return None


def check_batchnorm_forward(batchnorm_forward) -> None:
    """batchnorm_forward(...) in training and evaluation mode, checked by its properties."""
    problem = batchnorm_forward_problem(batchnorm_forward, batchnorm_case(6, 4, seed=0))
    if problem:
        raise CheckFailed(problem)
    print(PASSED.format("batchnorm_forward", "output statistics, running averages, evaluation mode"))


def batchnorm_gradients(forward, case: dict, dout):
    """Numerical gradients (dx, dgamma, dbeta) of sum(dout * out) for a training-mode `forward`."""
    def loss(**changed):
        with quiet():
            return float(np.sum(dout * forward(**dict(case, train=True, **changed))[0]))
    return [numerical_gradient(lambda v, k=k: loss(**{k: v}), case[k], h=1e-6) for k in ("x", "gamma", "beta")]


def batchnorm_backward_problem(backward, forward, case: dict, dout, expected=None, rtol=1e-5):
    """What is wrong with backward(dout, cache), cache from forward(train=True) on `case`, or None.

    `expected` (dx, dgamma, dbeta) defaults to numerical gradients of `forward` itself, so a
    backward pass is judged against the forward pass it belongs to.
    """
    name = "batchnorm_backward"
    if forward is None:
        return ("batchnorm_backward is checked together with your batchnorm_forward: define "
                "batchnorm_forward in this notebook first.")
    outcome = invoke(forward, dict(case, train=True))
    if outcome.problem("batchnorm_forward"):
        return outcome.problem("batchnorm_forward") + " (batchnorm_backward needs its cache)."
    cache = outputs_of(outcome.result, [""] * 4, "batchnorm_forward")[1]
    x, gamma = case["x"], case["gamma"]
    n, d = x.shape
    got = _call(backward, name, dict(dout=dout, cache=cache), 3)
    got = [check_float_array(g, s, f"{name}'s {w}") for g, s, w in zip(got, [(n, d), (d,), (d,)], ("dx", "dgamma", "dbeta"))]
    if expected is None:
        expected = batchnorm_gradients(forward, case, dout)
    if close(got, expected, rtol):
        return None
    dx, dgamma, dbeta = got
    where = f"For x of shape {x.shape} and gamma not all 1:"
    wrong = [w for g, e, w in zip(got, expected, ("dx", "dgamma", "dbeta")) if relative_difference(g, e) > rtol]
    message = f"{where} {outputs_differ(wrong)} from the gradients of the forward pass."
    if matches_mistake([dgamma, dbeta], [expected[2], expected[1]]):
        return message + "\n" + named_mistake(TOPIC, name, "dgamma_dbeta_swapped")
    if matches_mistake([dx * gamma], [expected[0]]):
        return message + "\n" + named_mistake(TOPIC, name, "dx_without_gamma")
    scale = np.max(np.abs(dx)) * n
    centred = x - x.mean(axis=0)
    through_mean = np.max(np.abs(dx.sum(axis=0))) < 1e-6 * scale
    through_var = np.max(np.abs((dx * centred).sum(axis=0))) < 1e-6 * scale * np.max(np.abs(centred))
    if not through_mean and not through_var:
        return message + "\n" + named_mistake(TOPIC, name, "missing_mean_var_terms")
    if through_mean and not through_var:
        return message + "\n" + named_mistake(TOPIC, name, "missing_var_term")
    return message


def check_batchnorm_backward(batchnorm_backward) -> None:
    """batchnorm_backward(dout, cache) with the cache of your batchnorm_forward, against numerical gradients."""
    forward = companion(batchnorm_backward, "batchnorm_forward")
    case = batchnorm_case(8, 5, seed=1)
    dout = np.random.default_rng(2).standard_normal((8, 5))
    problem = batchnorm_backward_problem(batchnorm_backward, forward, case, dout)
    if problem:
        raise CheckFailed(problem)
    print(PASSED.format("batchnorm_backward", "dx, dgamma, dbeta against numerical gradients of your forward pass"))
