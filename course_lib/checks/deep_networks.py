"""Visible checks of assignment 07 (training deep networks).

mlp_forward and the two schedules are compared with stored values; mlp_backward runs on the
cache of *your* mlp_forward and is compared with central differences of it. The
initialisations are random, so they are checked by their properties: shape, bound, mean,
variance and the shape of the distribution within statistical tolerances, reproducibility from
`rng`. sharpness and
top_hessian_eigenvalue run on quadratic losses whose curvature is known (course_lib.landscapes),
which record where your code evaluated them. A result that matches a catalogued mistake names
it. Nothing here holds an answer.
"""
import numpy as np

from course_lib.checking import (CheckFailed, check_float_array, close, companion, generator_problem, invoke,
                                 load_fixture, matches_mistake, mistake_message, named_mistake, outputs_of,
                                 relative_difference)
from course_lib.gradcheck import numerical_gradient
from course_lib.landscapes import quadratic_gradient, quadratic_loss, symmetric_matrix
from course_lib.wire import Recipe

TOPIC = "deep_networks"
PASSED = "✓ {} passes the visible checks ({}). Grading runs more cases."
# Every statistical test below fails a correct implementation with probability at most DELTA
# (a Hoeffding, Gaussian or chi-square tail bound, stated where it is used); a check makes fewer
# than 100 such tests in all, so by the union bound a correct answer fails one with probability
# below 100 * DELTA = 1e-6.
DELTA = 1e-8
LOG_TERM = np.log(2 / DELTA)        # ln(2 / delta): the two-sided tail bounds' exponent


def _named(name, key):
    return "\n" + named_mistake(TOPIC, name, key)


def _stored_mistake(stored, produced):
    """The message of the first stored mistake whose outputs `produced` reproduces, or ''."""
    for mistake in stored["mistakes"]:
        if "outputs" in mistake and matches_mistake(produced, [np.array(m) for m in mistake["outputs"]]):
            return "\n" + mistake_message(mistake["key"], mistake["title"], mistake["hint"])
    return ""


def _rng_problem(fn, name, kwargs, seed, where):
    """`generator_problem` of fn(**kwargs, rng=...), naming global_rng where it shows."""
    return generator_problem(fn, name, kwargs, seed=seed, where=where, global_mistake=_named(name, "global_rng"))


# --- the network ------------------------------------------------------------------------------
def network_case(sizes, n, seed, dtype=float):
    """Inputs X (n, sizes[0]) and weights and biases of a network with layer widths `sizes`: weights
    large enough that every activation is far from linear, biases never zero."""
    rng = np.random.default_rng(seed)
    weights = [(1.5 * rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [(0.5 * rng.standard_normal(b)).astype(dtype) for b in sizes[1:]]
    return dict(X=rng.standard_normal((n, sizes[0])).astype(dtype), weights=weights, biases=biases)


ACTIVATIONS = ("sigmoid", "tanh", "relu")


def forward_out(fn, kwargs, name="mlp_forward"):
    """The output of a forward function fn(X, weights, biases, activation) -> (out, cache)."""
    out, _ = outputs_of(invoke(fn, kwargs).value(name), ("out", "cache"), name)
    N, D = kwargs["X"].shape[0], kwargs["weights"][-1].shape[1]
    return check_float_array(out, (N, D), f"{name}'s out")


def stored_network(inputs):
    """A network case from plain data: X, W0, W1, ..., b0, b1, ... (a fixture stores one array per key)."""
    layers = sum(1 for k in inputs if k[0] == "W" and k[1:].isdigit())
    return dict(X=np.array(inputs["X"], dtype=float),
                weights=[np.array(inputs[f"W{l}"], dtype=float) for l in range(layers)],
                biases=[np.array(inputs[f"b{l}"], dtype=float) for l in range(layers)])


def flat_network(case):
    """The plain data of a network case, one array per key (the inverse of stored_network)."""
    return dict(X=case["X"], **{f"W{l}": W for l, W in enumerate(case["weights"])},
                **{f"b{l}": b for l, b in enumerate(case["biases"])})


def _stored(name):
    stored = load_fixture(TOPIC)[name]
    return stored_network(stored["inputs"]), stored


def check_mlp_forward(mlp_forward) -> None:
    """mlp_forward(X, weights, biases, activation) -> (out, cache): out for each activation, against stored values."""
    case, stored = _stored("mlp_forward")
    produced = [forward_out(mlp_forward, dict(case, activation=a)) for a in ACTIVATIONS]
    expected = [np.array(e) for e in stored["expected"]]
    if close(produced, expected, 1e-6):
        print(PASSED.format("mlp_forward", "shapes, inputs unchanged, the output of a 3-layer network with each "
                                           "activation against stored values"))
        return
    wrong = [a for a, p, e in zip(ACTIVATIONS, produced, expected) if relative_difference(p, e) > 1e-6]
    raise CheckFailed(f"On a stored 3-layer network, your out differs from the stored result with "
                      f"activation {' and '.join(map(repr, wrong))}." + (_stored_mistake(stored, produced) or
                      " Each hidden layer is activation(h @ W + b); the last layer is h @ W + b alone."))


def backward_outputs(result, weights, name="mlp_backward"):
    """[dX, dW_0, ..., db_0, ...] from mlp_backward's result, each checked to be a float array of
    the right shape (a dweights in reverse layer order is named)."""
    dX, dweights, dbiases = outputs_of(result, ("dX", "dweights", "dbiases"), name)
    L = len(weights)
    for grads, what in ((dweights, "dweights"), (dbiases, "dbiases")):
        if not isinstance(grads, (list, tuple)) or len(grads) != L:
            raise CheckFailed(f"{name}'s {what} should be a list with one array per layer ({L}).")
    shapes = [W.shape for W in weights]
    got = [np.shape(g) for g in dweights]
    if got != shapes and got == shapes[::-1]:
        raise CheckFailed(f"{name}'s dweights come in reverse layer order." + _named(name, "layers_reversed"))
    if got != shapes and got == [s[::-1] for s in shapes]:
        raise CheckFailed(f"{name}'s dweights have the shapes of the transposed weights."
                          + _named(name, "weight_gradient_transposed"))
    return [dX] + list(dweights) + list(dbiases)


def gradient_shapes(case):
    """The shapes of dX, every dW and every db."""
    return [case["X"].shape] + [W.shape for W in case["weights"]] + [W.shape[1:] for W in case["weights"]]


def gradient_names(L):
    return ["dX"] + [f"dweights[{l}]" for l in range(L)] + [f"dbiases[{l}]" for l in range(L)]


def numerical_gradients(forward, case, activation, dout):
    """Central differences of sum(dout * out) of `forward` w.r.t. X, every W and every b."""
    def loss(**changed):
        out = forward_out(forward, dict(case, activation=activation, **changed))
        return float(np.sum(dout * out.astype(float)))

    grads = [numerical_gradient(lambda v: loss(X=v), case["X"])]
    for part in ("weights", "biases"):
        for l, p in enumerate(case[part]):
            def change(v, part=part, l=l):
                arrays = list(case[part])
                arrays[l] = v
                return loss(**{part: arrays})
            grads.append(numerical_gradient(change, p))
    return grads


def backward_problem(backward, forward, case, activation, dout, expected=None, rtol=1e-5, name_mistake=None):
    """What is wrong with backward(dout, cache), cache from forward on `case`, or None.

    `expected` ([dX, dW..., db...]) defaults to central differences of `forward` itself, so a
    backward pass is judged against the forward pass it belongs to. `name_mistake(produced)`
    gives the message of a catalogued mistake that the gradients reproduce, or ''."""
    name = "mlp_backward"
    if forward is None:
        return ("mlp_backward is checked together with your mlp_forward: define mlp_forward in this notebook "
                "first.")
    outcome = invoke(forward, dict(case, activation=activation))
    if outcome.problem("mlp_forward"):
        return outcome.problem("mlp_forward") + " (mlp_backward needs its cache)."
    cache = outputs_of(outcome.result, ("out", "cache"), "mlp_forward")[1]
    result = invoke(backward, dict(dout=dout, cache=cache)).value(name)
    names = gradient_names(len(case["weights"]))
    produced = [check_float_array(g, s, f"{name}'s {n}")
                for g, s, n in zip(backward_outputs(result, case["weights"]), gradient_shapes(case), names)]
    if expected is None:
        expected = numerical_gradients(forward, case, activation, dout)
    if close(produced, expected, rtol):
        return None
    wrong = [n for n, p, e in zip(names, produced, expected) if relative_difference(p, e) > rtol]
    return (f"{', '.join(wrong)} {'differs' if len(wrong) == 1 else 'differ'} from the gradients of the forward pass."
            + (name_mistake(produced) if name_mistake else ""))


def check_mlp_backward(mlp_backward) -> None:
    """mlp_backward(dout, cache) on the cache of your mlp_forward, against central differences of it."""
    forward = companion(mlp_backward, "mlp_forward")
    case, stored = _stored("mlp_backward")
    douts = np.array(stored["inputs"]["douts"], dtype=float)
    count = 1 + 2 * len(case["weights"])
    for index, (activation, dout) in enumerate(zip(ACTIVATIONS, douts)):
        part = {"mistakes": [dict(m, outputs=m["outputs"][index * count:(index + 1) * count])
                             for m in stored["mistakes"]]}
        problem = backward_problem(mlp_backward, forward, case, activation, dout,
                                   name_mistake=lambda produced: _stored_mistake(part, produced))
        if problem:
            forward_ran = forward is not None and not invoke(forward, dict(case, activation=activation)).problem(
                "mlp_forward")
            raise CheckFailed(f"With activation {activation!r}: {problem}" if forward_ran else problem)
    print(PASSED.format("mlp_backward", "dX, dweights and dbiases against central differences of your mlp_forward, "
                                        "for each activation"))


# --- initialisation ---------------------------------------------------------------------------
RULES = {   # the variance each initialisation asks for, and the fans it is written with
    "xavier_init": dict(variance=lambda fi, fo: 2.0 / (fi + fo), fans="(fan_in + fan_out)"),
    "he_init": dict(variance=lambda fi, fo: 2.0 / fi, fans="fan_in"),
}


def mistaken_variances(name, fi, fo, distribution):
    """(variance, key) of the catalogued mistakes that change the variance of `name`'s weights (or, for
    ignores_distribution, keep it but not the distribution)."""
    var = RULES[name]["variance"](fi, fo)
    bound2 = 3 * var                                    # the uniform bound, squared
    if name == "xavier_init":
        table = [(1.0 / fi, "xavier_fan_in_only"), (2.0 / fi, "xavier_fan_in_only")]
    else:
        table = [(2.0 / fo, "he_fan_out"), (1.0 / fi, "he_without_two")]
    if distribution == "uniform":
        table += [(bound2, "bound_as_std"), (var / 3, "std_as_bound"), (var, "ignores_distribution")]
    else:
        table += [(var**2, "variance_as_std")]
    return table


def init_problem(fn, name, fan_in, fan_out, distribution, seed, pass_distribution=True):
    """What is wrong with fn(fan_in, fan_out, rng, distribution) as `name`, or None; without
    `pass_distribution`, fn is called without it and must follow its signature's default.

    The weights must be a float array of shape (fan_in, fan_out); uniform ones within the bound
    sqrt(3 var); with many weights, their mean, mean square and the share of small (uniform) or
    large (normal) values must match the distribution within tolerances that a correct
    implementation misses with probability below DELTA each; and they must come from rng alone.
    """
    problem = _init_problem(fn, name, fan_in, fan_out, distribution, seed, pass_distribution)
    if problem and not pass_distribution and _init_problem(fn, name, fan_in, fan_out, distribution, seed, True) is None:
        return (f"For fan_in={fan_in}, fan_out={fan_out}, the default distribution: the weights are not drawn "
                f"from {distribution!r}, the default of the signature (distribution=\"{distribution}\").")
    return problem


def _init_problem(fn, name, fan_in, fan_out, distribution, seed, pass_distribution):
    rule = RULES[name]
    var = rule["variance"](fan_in, fan_out)
    bound, std = np.sqrt(3 * var), np.sqrt(var)
    where = f"For fan_in={fan_in}, fan_out={fan_out}, distribution={distribution!r}:"
    kwargs = dict(fan_in=fan_in, fan_out=fan_out)
    if pass_distribution:
        kwargs["distribution"] = distribution
    else:
        where = f"For fan_in={fan_in}, fan_out={fan_out}, the default distribution:"
    W = invoke(fn, dict(kwargs, rng=np.random.default_rng(seed))).value(name)
    if isinstance(W, np.ndarray) and W.shape == (fan_out, fan_in) and fan_in != fan_out:
        return f"{where} the weights have shape (fan_out, fan_in)." + _named(name, "shape_transposed")
    W = check_float_array(W, (fan_in, fan_out), f"{name}'s weights").astype(float)
    n = W.size
    mean_square = float(np.mean(W**2))
    mistaken = [key for v, key in mistaken_variances(name, fan_in, fan_out, distribution)
                if n >= 1000 and abs(mean_square / v - 1) < 0.05]
    if distribution == "uniform" and np.max(np.abs(W)) > bound * (1 + 1e-6):
        return (f"{where} some weights lie outside [-bound, bound], bound = sqrt(6 / {rule['fans']})."
                + (_named(name, mistaken[0]) if mistaken else ""))
    few_columns = dict(kwargs, fan_out=min(fan_out, 3))     # reproducibility: a few columns are enough
    if n < 1000:
        return _rng_problem(fn, name, few_columns, seed, where)
    if distribution == "uniform":
        # mean square: Hoeffding for W**2 in [0, bound**2]
        spread = bound**2 * np.sqrt(LOG_TERM / (2 * n))
    else:
        # n * mean_square / var is chi-square with n degrees of freedom (Laurent and Massart's bounds)
        spread = var * (2 * np.sqrt(LOG_TERM / n) + 2 * LOG_TERM / n)
    if abs(mean_square - var) > spread:
        message = (f"{where} the weights' variance is off: it should be 2 / {rule['fans']}"
                   + (f", and the bound sqrt(6 / {rule['fans']})." if distribution == "uniform" else "."))
        return message + (_named(name, mistaken[0]) if mistaken else "")
    # the share of small (uniform: |W| < bound / 2, a half) or large (normal: |W| > 2 std) weights:
    # Hoeffding for a mean of indicators
    spread = np.sqrt(LOG_TERM / (2 * n))
    if distribution == "uniform":
        share, want, what = float(np.mean(np.abs(W) < bound / 2)), 0.5, "uniform on [-bound, bound]"
    else:
        share, want, what = float(np.mean(np.abs(W) > 2 * std)), 0.0455, "normal"
    if abs(share - want) > spread:
        return (f"{where} the weights have the right variance but are not {what}."
                + _named(name, "ignores_distribution"))
    # the mean: Hoeffding for values in [-bound, bound]; a Gaussian tail for normal ones
    scale = bound if distribution == "uniform" else std
    if abs(float(np.mean(W))) > scale * np.sqrt(2 * LOG_TERM / n):
        return f"{where} the weights' mean should be 0: draw them symmetric around zero."
    return _rng_problem(fn, name, few_columns, seed, where)


def _check_init(fn, name, cases):
    for fan_in, fan_out, distribution, seed in cases:
        problem = init_problem(fn, name, fan_in, fan_out, distribution, seed)
        if problem:
            raise CheckFailed(problem)
    print(PASSED.format(name, "shape, bound, mean, variance and distribution of the weights for both "
                              "distributions, reproducible from rng"))


def check_xavier_init(xavier_init) -> None:
    """xavier_init(fan_in, fan_out, rng, distribution), checked by its properties."""
    _check_init(xavier_init, "xavier_init", [(200, 300, "uniform", 0), (300, 100, "normal", 1)])


def check_he_init(he_init) -> None:
    """he_init(fan_in, fan_out, rng, distribution), checked by its properties."""
    _check_init(he_init, "he_init", [(200, 300, "normal", 0), (300, 200, "uniform", 1)])


# --- learning-rate schedules -------------------------------------------------------------------
def schedule_values(fn, name, inputs):
    """fn at every step of inputs["steps"] (the other inputs as they are): an array of learning rates."""
    others = {k: v for k, v in inputs.items() if k != "steps"}
    values = []
    for step in inputs["steps"]:
        lr = check_float_array(invoke(fn, dict(others, step=int(step))).value(name), (), f"{name}'s learning rate")
        values.append(float(lr))
    return np.array(values)


def _check_schedule(fn, name, what):
    stored = load_fixture(TOPIC)[name]
    produced = [schedule_values(fn, name, stored["inputs"])]
    if close(produced, [np.array(stored["expected"][0])], 1e-6):
        print(PASSED.format(name, f"the learning rate at every step of a stored {what}"))
        return
    raise CheckFailed(f"On a stored {what}, your learning rates differ from the stored ones at some steps."
                      + (_stored_mistake(stored, produced) or " Compare your code with the formula above, term by term."))


def check_step_decay_lr(step_decay_lr) -> None:
    """step_decay_lr(step, base_lr, drop, every) at every step of a stored schedule."""
    _check_schedule(step_decay_lr, "step_decay_lr", "schedule")


def check_cosine_lr(cosine_lr) -> None:
    """cosine_lr(step, total_steps, base_lr, min_lr, warmup_steps) at every step of a stored schedule with warm-up."""
    _check_schedule(cosine_lr, "cosine_lr", "schedule with warm-up and min_lr")


# --- curvature ----------------------------------------------------------------------------------
def landscape(eigenvalues, seed, offset=1.5):
    """The plain data of a quadratic landscape: its Hessian (with these eigenvalues), minimum and offset."""
    rng = np.random.default_rng(seed)
    hessian = symmetric_matrix(eigenvalues, rng)
    return dict(hessian=hessian, minimum=rng.standard_normal(len(eigenvalues)), offset=offset)


def _scalar(value, name):
    return float(check_float_array(value, (), f"{name}'s result"))


def sharpness_problem(fn, land, radius, n_samples, seed, at_minimum=True, dtype=float):
    """What is wrong with fn(loss_fn, w, radius, n_samples, rng) on a quadratic landscape, or None.

    From the points loss_fn was evaluated at: n_samples of them at distance radius from w, the
    result their mean rise above loss_fn(w), their directions centred (the mean of u along fixed
    unit vectors; Hoeffding for values in [-1, 1]); the result near radius**2 trace(H) / (2 d)
    (Hoeffding for the rise, which lies between its values along H's extreme eigenvectors);
    reproducible from rng."""
    name = "sharpness"
    hessian, minimum = land["hessian"], land["minimum"]
    d = len(minimum)
    w = minimum if at_minimum else minimum + np.random.default_rng(seed + 100).standard_normal(d) * 0.3
    w = w.astype(dtype)
    where = f"For d={d}, radius={radius}, n_samples={n_samples}:"
    log = []
    kwargs = dict(w=w, radius=radius, n_samples=n_samples)
    result = _scalar(invoke(fn, dict(kwargs, loss_fn=Recipe(quadratic_loss, land, log),
                                     rng=np.random.default_rng(seed))).value(name), name)
    points = np.array([np.asarray(p, dtype=float) for p in log]).reshape(-1, d)
    w64 = w.astype(float)
    distances = np.linalg.norm(points - w64, axis=1)
    tol = 1e-4 if dtype == np.float32 else 1e-6
    scale = max(1.0, np.linalg.norm(w64) / radius)
    at_w = distances <= tol * radius * scale
    moved = points[~at_w]
    if len(moved) != n_samples:
        return f"{where} loss_fn was evaluated at {len(moved)} points away from w; sharpness looks at n_samples."
    steps = moved - w64
    lengths = distances[~at_w]
    if np.any(np.abs(lengths / radius - 1) > tol * scale):
        if n_samples > 1 and np.ptp(lengths) > 0.01 * radius:
            return f"{where} the points were not all at distance radius from w." + _named(name, "gaussian_not_normalised")
        return f"{where} the points were not at distance radius from w: w + radius * u, with |u| = 1."
    loss = lambda p: land["offset"] + 0.5 * (p - minimum) @ hessian @ (p - minimum)
    rises = np.array([loss(p) for p in moved]) - loss(w64)
    magnitude = max(np.max(np.abs(rises)), 1e-300)
    if abs(result - np.mean(rises)) > tol * magnitude:
        for value, key in ((np.mean(rises) + loss(w64), "no_base_loss"), (np.max(rises), "max_not_mean")):
            if abs(result - value) <= tol * max(magnitude, abs(value)):
                return f"{where} the result is not the mean rise of the loss." + _named(name, key)
        return f"{where} the result should be the mean of loss_fn(w + radius * u) - loss_fn(w) over the directions u."
    if n_samples > 1 and np.max(np.ptp(steps, axis=0)) == 0:
        return f"{where} every sample used the same direction." + _named(name, "same_direction")
    if n_samples >= 100:
        directions = steps / lengths[:, None]
        for axis in (np.ones(d) / np.sqrt(d), np.eye(d)[0]):
            if abs(np.mean(directions @ axis)) > np.sqrt(2 * LOG_TERM / n_samples):
                return (f"{where} the directions are not uniform on the sphere: on average they lean one way. "
                        "Normalise a standard normal vector: u = g / |g|.")
        eigenvalues = np.linalg.eigvalsh(hessian)
        gradient = np.linalg.norm(hessian @ (w64 - minimum))
        spread = (2 * radius * gradient + radius**2 * np.ptp(eigenvalues) / 2) * np.sqrt(LOG_TERM / (2 * n_samples))
        if abs(result - radius**2 * np.trace(hessian) / (2 * d)) > spread + tol * magnitude:
            return (f"{where} the mean rise is far from its value for directions uniform on the sphere. "
                    "Normalise a standard normal vector: u = g / |g|.")
    few = {k: v for k, v in kwargs.items() if k != "loss_fn"} | dict(n_samples=min(n_samples, 5))   # a few suffice
    return _rng_problem(lambda **given: fn(loss_fn=Recipe(quadratic_loss, land), **given), name, few, seed, where)


def check_sharpness(sharpness) -> None:
    """sharpness(loss_fn, w, radius, n_samples, rng) on a quadratic loss with a known Hessian."""
    problem = sharpness_problem(sharpness, landscape([3.0, 1.0, 0.5, 0.2], seed=0), radius=0.5,
                                n_samples=500, seed=1)
    if problem:
        raise CheckFailed(problem)
    print(PASSED.format("sharpness", "where loss_fn was evaluated, the mean rise, uniform directions, "
                                     "reproducible from rng"))


def _rayleigh(hessian, v):
    return float(v @ hessian @ v / (v @ v))


def top_hessian_problem(fn, land, seed, iters=None, h=None, converged=True):
    """What is wrong with fn(grad_fn, w, rng, iters, h) on a quadratic landscape, or None.

    From the points grad_fn was evaluated at: pairs w + h v, w - h v (central differences) with
    |v| = 1 after the first pair (renormalised); the result is the Rayleigh quotient v.Hv of the
    last (or second-last) direction probed. When `converged`, it must also be the eigenvalue of
    largest magnitude: the cases have |lambda_2 / lambda_1| <= 1/2 and k >= 50 iterations, so the
    error is at most |lambda_1 - lambda_d| 4**-k tan(theta)**2, theta the start's angle to the top
    eigenvector; that is below 1e-6 |lambda_1| unless |cos theta| < 1e-10, which a start uniform on
    the sphere has with probability below 1e-10 sqrt(d) < DELTA. The start comes from rng alone."""
    name = "top_hessian_eigenvalue"
    hessian, minimum = land["hessian"], land["minimum"]
    d = len(minimum)
    w = minimum + np.random.default_rng(seed + 100).standard_normal(d)
    kwargs = dict(w=w, **({} if iters is None else dict(iters=iters)), **({} if h is None else dict(h=h)))
    step = 1e-5 if h is None else h
    where = f"For d={d}, iters={100 if iters is None else iters}, h={step}:"
    shape = dict(hessian=hessian, minimum=minimum)
    log = []
    result = _scalar(invoke(fn, dict(kwargs, grad_fn=Recipe(quadratic_gradient, shape, log),
                                     rng=np.random.default_rng(seed))).value(name), name)
    points = np.array([np.asarray(p, dtype=float) for p in log]).reshape(-1, d)
    shifts = (points - w) / step
    sizes = np.linalg.norm(shifts, axis=1)
    if len(points) == 0:
        return f"{where} grad_fn was never called: estimate H v by differences of grad_fn."
    if np.any(sizes < 1e-3) or len(points) % 2:
        return (f"{where} grad_fn was evaluated at w itself, or not in pairs w + h v, w - h v."
                + _named(name, "forward_difference"))
    plus, minus = shifts[0::2], shifts[1::2]
    if relative_difference(plus, -minus) > 1e-6 and relative_difference(minus, -plus) > 1e-6:
        return f"{where} grad_fn should be evaluated in pairs w + h v, w - h v (central differences)."
    if np.any(np.abs(sizes[2:] - 1) > 1e-6):
        return f"{where} the probed vectors v are not of length 1." + _named(name, "not_renormalised")
    candidates = [_rayleigh(hessian, v) for v in plus[-2:]]
    top = np.linalg.eigvalsh(hessian)[np.argmax(np.abs(np.linalg.eigvalsh(hessian)))]
    tol = 1e-6 * abs(top)
    if not any(abs(result - c) <= tol for c in candidates):
        if any(abs(result - 2 * c) <= 2 * tol for c in candidates):
            return f"{where} the result is twice the curvature." + _named(name, "difference_over_h")
        if any(abs(result - np.linalg.norm(hessian @ v) / np.linalg.norm(v)) <= tol for v in plus[-2:]):
            return f"{where} the result is not the Rayleigh quotient." + _named(name, "norm_of_hv")
        return f"{where} the result should be the Rayleigh quotient v . (H v) of the last unit vector v."
    if converged and abs(result - top) > tol:
        return f"{where} the power iteration did not reach the eigenvalue of largest magnitude."
    # the result is the same for every start once converged: compare where the iteration started too
    def with_start(**given):
        grad_fn = Recipe(quadratic_gradient, shape)
        result = fn(grad_fn=grad_fn, **given)
        return np.concatenate([[float(result)], np.ravel(grad_fn.log[:1])])

    few = {k: v for k, v in kwargs.items() if k != "grad_fn"} | dict(iters=2)   # a few iterations suffice
    return _rng_problem(with_start, name, few, seed, where)


def check_top_hessian_eigenvalue(top_hessian_eigenvalue) -> None:
    """top_hessian_eigenvalue(grad_fn, w, rng, iters, h) on a quadratic loss with a known Hessian."""
    problem = (top_hessian_problem(top_hessian_eigenvalue, landscape([4.0, 1.5, 0.5, 0.1], seed=2), seed=3, iters=60)
               or top_hessian_problem(top_hessian_eigenvalue, landscape([2.0, 1.5, 0.5], seed=4), seed=5, iters=3,
                                      converged=False))
    if problem:
        raise CheckFailed(problem)
    print(PASSED.format("top_hessian_eigenvalue", "central differences, unit vectors, the Rayleigh quotient, "
                                                  "the top eigenvalue of a known Hessian, reproducible from rng"))
