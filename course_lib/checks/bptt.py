"""Visible checks of assignment 06 (backpropagation through time).

The RNN functions are checked without stored answers: a forward step by probes whose result
is known in advance (x = identity rows gives tanh(Wx), ...), rnn_forward against your own
rnn_step_forward, and each backward function against central-difference gradients of your
own forward (the gradient check of the lesson, reporting the worst index). A backward
function is checked together with the forward of the same name defined in your notebook,
since only that forward's cache is something your backward can read. clip_grad_norm and
lstm_step_forward are checked against stored values, lstm_forward against your own
lstm_step_forward, and the LSTM's backward functions against central differences of your own
forward; stored gradients of catalogued mistakes name a mistake. Grading runs more cases.
"""
import numpy as np

from course_lib.checking import (RTOL, CheckFailed, check_float_array, close, companion, invoke, matches_mistake,
                                 load_fixture, mistake_message, named_mistake, outputs_of,
                                 relative_difference)
from course_lib.gradcheck import numerical_gradient
from course_lib.sequences import gradient_errors

TOPIC = "bptt"
TOL = 1e-5


def _run(fn, kwargs, name, names):
    return outputs_of(invoke(fn, kwargs).value(name), names, name)


def _near(a, b, tol=TOL):
    return np.shape(a) == np.shape(b) and relative_difference(a, b) <= tol


def _companion(fn, name):
    """The function called `name` in the namespace where fn was defined (your notebook)."""
    other = companion(fn, name)
    if other is None:
        raise CheckFailed(f"This check runs your {name} first and then the function under test on its cache, "
                          f"but no function called {name} is defined in your notebook.")
    return other


def _step_inputs(seed=0, N=3, D=4, H=5):
    r = np.random.default_rng(seed)
    return dict(x=r.standard_normal((N, D)), h_prev=np.tanh(r.standard_normal((N, H))),
                Wx=0.7 * r.standard_normal((D, H)), Wh=0.6 * r.standard_normal((H, H)), b=0.3 * r.standard_normal(H))


def rnn_step_forward_problem(fn):
    """What is wrong with rnn_step_forward on probes with known answers, or None."""
    name = "rnn_step_forward"
    base = _step_inputs()
    D, H = base["Wx"].shape
    probes = [
        ("x = rows of the identity, h_prev = 0, b = 0: row i of h_next must be tanh(Wx[i])",
         dict(base, x=np.eye(D), h_prev=np.zeros((D, H)), b=np.zeros(H)), np.tanh(base["Wx"]),
         [(base["Wx"], "missing_tanh")]),
        ("x = 0, h_prev = rows of the identity, b = 0: row i of h_next must be tanh(Wh[i])",
         dict(base, x=np.zeros((H, D)), h_prev=np.eye(H), b=np.zeros(H)), np.tanh(base["Wh"]),
         [(base["Wh"], "missing_tanh"), (np.tanh(base["Wh"].T), "wh_transposed")]),
        ("x = 0, h_prev = 0: every row of h_next must be tanh(b)",
         dict(base, x=np.zeros((2, D)), h_prev=np.zeros((2, H))), np.tanh(np.tile(base["b"], (2, 1))),
         [(np.tile(base["b"], (2, 1)), "missing_tanh")]),
    ]
    for what, kwargs, expected, fingerprints in probes:
        h = check_float_array(_run(fn, kwargs, name, ("h_next", "cache"))[0], expected.shape, f"{name}'s h_next")
        if not _near(h, expected, 1e-6):
            for fingerprint, key in fingerprints:
                if _near(h, fingerprint, 1e-6):
                    return f"Probe: {what}.\n" + named_mistake(TOPIC, name, key)
            return f"Probe: {what}. Your h_next differs."
    # the general case: the three contributions must add up inside the tanh
    h = _run(fn, base, name, ("h_next", "cache"))[0]
    parts = [_run(fn, dict(base, **zeroed), name, ("h_next", "cache"))[0] for zeroed in (
        dict(h_prev=np.zeros_like(base["h_prev"]), b=np.zeros(H)),
        dict(x=np.zeros_like(base["x"]), b=np.zeros(H)),
        dict(x=np.zeros_like(base["x"]), h_prev=np.zeros_like(base["h_prev"])))]
    if not _near(np.arctanh(np.clip(h, -1 + 1e-12, 1 - 1e-12)), sum(np.arctanh(p) for p in parts), 1e-6):
        return ("On random inputs, the input, recurrent and bias terms do not add up inside one tanh: "
                "h_next = tanh(x @ Wx + h_prev @ Wh + b).")
    return None


def check_rnn_step_forward(rnn_step_forward) -> None:
    """rnn_step_forward(x, h_prev, Wx, Wh, b) -> (h_next, cache), by probes with known answers."""
    problem = rnn_step_forward_problem(rnn_step_forward)
    if problem:
        raise CheckFailed(problem)
    print("✓ rnn_step_forward passes the visible checks (shapes, inputs unchanged, probes with known "
          "answers, the three terms inside one tanh). Grading runs more cases.")


def _sequence_inputs(seed=1, N=2, T=4, D=3, H=4):
    r = np.random.default_rng(seed)
    return dict(x=r.standard_normal((N, T, D)), h0=np.tanh(r.standard_normal((N, H))),
                Wx=0.7 * r.standard_normal((D, H)), Wh=0.8 * r.standard_normal((H, H)) / np.sqrt(H) * 1.6,
                b=0.3 * r.standard_normal(H))


def check_rnn_forward(rnn_forward) -> None:
    """rnn_forward(x, h0, Wx, Wh, b) -> (h, cache): each step must be your rnn_step_forward's."""
    name = "rnn_forward"
    step = _companion(rnn_forward, "rnn_step_forward")
    if rnn_step_forward_problem(step):
        raise CheckFailed("This check compares rnn_forward with your rnn_step_forward, which does not pass "
                          "its own check yet: fix it first.")
    kw = _sequence_inputs()
    N, T, _ = kw["x"].shape
    H = kw["h0"].shape[1]
    h = check_float_array(_run(rnn_forward, kw, name, ("h", "cache"))[0], (N, T, H), f"{name}'s h")
    weights = {k: kw[k] for k in ("Wx", "Wh", "b")}
    one = lambda t, prev: step(kw["x"][:, t], prev, **weights)[0]
    if _near(h[:, 0], kw["h0"], 1e-6):
        raise CheckFailed(f"{name}'s h[:, 0] equals h0.\n" + named_mistake(TOPIC, name, "stores_previous_state"))
    if not _near(h[:, 0], one(0, kw["h0"]), 1e-6):
        if _near(h[:, 0], one(0, np.zeros_like(kw["h0"])), 1e-6):
            raise CheckFailed(f"{name}'s first state is wrong.\n" + named_mistake(TOPIC, name, "h0_ignored"))
        raise CheckFailed(f"{name}'s h[:, 0] is not rnn_step_forward(x[:, 0], h0, Wx, Wh, b).")
    for t in range(1, T):
        if not _near(h[:, t], one(t, h[:, t - 1]), 1e-6):
            if all(_near(h[:, s], one(s, kw["h0"]), 1e-6) for s in range(T)):
                raise CheckFailed(f"{name}'s states do not follow each other.\n"
                                  + named_mistake(TOPIC, name, "no_recurrence"))
            raise CheckFailed(f"{name}'s h[:, {t}] is not rnn_step_forward(x[:, {t}], h[:, {t - 1}], Wx, Wh, b).")
    print("✓ rnn_forward passes the visible checks (shapes, inputs unchanged, every state follows from the "
          "previous one by your rnn_step_forward). Grading runs more cases.")


def _numeric_gradients(forward, kw, upstream, args):
    """Central differences of loss = sum(upstream * hidden states of forward) w.r.t. each argument."""
    def loss(name, value):
        return float(np.sum(upstream * forward(**dict(kw, **{name: value}))[0]))
    return [numerical_gradient(lambda v, name=name: loss(name, v), kw[name]) for name in args]


def _gradient_report(name, out_names, produced, numeric, per_step=False):
    lines, wrong = [], []
    for out, got, num in zip(out_names, produced, numeric):
        error, index = gradient_errors(got, num)
        where = f"time step {index[1]}, index {index}" if per_step and out == "dx" else f"index {index}"
        lines.append(f"  {out:>7}: relative error {error:.1e} (worst at {where})")
        if error > TOL:
            wrong.append(out)
    return wrong, "\n".join(lines)


def _backward_check(fn, name, forward_name, kw, upstream, args, out_names, diagnose, per_step):
    forward = _companion(fn, forward_name)
    h, cache = _run(forward, kw, forward_name, ("h", "cache"))
    upstream_name = "dh" if name == "rnn_backward" else "dh_next"
    produced = _run(fn, {upstream_name: upstream, "cache": cache}, name, out_names)
    numeric = _numeric_gradients(forward, kw, upstream, args)
    produced = [check_float_array(p, n.shape, f"{name}'s {o}") for p, n, o in zip(produced, numeric, out_names)]
    wrong, report = _gradient_report(name, out_names, produced, numeric, per_step)
    if wrong:
        key = diagnose(wrong, produced, numeric, kw, upstream, h)
        raise CheckFailed(f"{name}'s gradients disagree with a numerical gradient of your {forward_name} "
                          f"({', '.join(wrong)} wrong):\n{report}" + ("\n" + named_mistake(TOPIC, name, key) if key else ""))
    print(f"✓ {name} passes the visible checks: every gradient agrees with central differences of your "
          f"{forward_name}.\n{report}\nGrading runs more cases.")


def _diagnose_step(wrong, produced, numeric, kw, upstream, h_next):
    if wrong == ["dWh"]:
        return "step_dwh_uses_h_next"
    db = produced[4]
    if _near(db, upstream.sum(axis=0), 1e-6):
        return "no_tanh_derivative"
    if _near(db, (upstream * (1 - np.tanh(h_next) ** 2)).sum(axis=0), 1e-6):
        return "tanh_applied_twice"
    return None


def check_rnn_step_backward(rnn_step_backward) -> None:
    """rnn_step_backward(dh_next, cache) on the cache of your rnn_step_forward, against central differences."""
    kw = _step_inputs(seed=2)
    upstream = np.random.default_rng(3).standard_normal(kw["h_prev"].shape)
    _backward_check(rnn_step_backward, "rnn_step_backward", "rnn_step_forward", kw, upstream,
                    ("x", "h_prev", "Wx", "Wh", "b"), ("dx", "dh_prev", "dWx", "dWh", "db"), _diagnose_step, False)


def _diagnose_sequence(wrong, produced, numeric, kw, upstream, h):
    if wrong == ["dh0"]:
        return "dh0_not_from_last_step"
    if wrong == ["dWh"]:
        return "dwh_uses_h_t"
    if sorted(wrong) == ["dWh", "dWx", "db"]:
        return "weights_overwritten"
    dx, num_dx = produced[0], numeric[0]
    if "dx" in wrong and _near(dx[:, -1], num_dx[:, -1]) and not _near(dx[:, :-1], num_dx[:, :-1]):
        return "no_recurrent_gradient"
    return None


def check_rnn_backward(rnn_backward) -> None:
    """rnn_backward(dh, cache) on the cache of your rnn_forward, against central differences."""
    kw = _sequence_inputs(seed=4)
    upstream = np.random.default_rng(5).standard_normal(kw["x"].shape[:2] + kw["h0"].shape[1:])
    _backward_check(rnn_backward, "rnn_backward", "rnn_forward", kw, upstream,
                    ("x", "h0", "Wx", "Wh", "b"), ("dx", "dh0", "dWx", "dWh", "db"), _diagnose_sequence, True)


def check_clip_grad_norm(clip_grad_norm) -> None:
    """clip_grad_norm(grads, max_norm): stored values above the threshold; unchanged below it."""
    r = np.random.default_rng(6)
    small = [0.01 * r.standard_normal(s) for s in [(3, 5), (5, 5), (5,)]]
    kept = [g.copy() for g in small]
    outcome = invoke(clip_grad_norm, dict(grads=small, max_norm=1.0))
    if outcome.problem("clip_grad_norm"):
        raise CheckFailed(outcome.problem("clip_grad_norm"))
    result = outcome.result
    if not isinstance(result, (list, tuple)) or len(result) != len(small):
        raise CheckFailed("clip_grad_norm should return a list with one array per gradient.")
    if not all(_near(g, k, 1e-12) for g, k in zip(result, kept)):
        message = "Gradients whose global norm is below max_norm must come back unchanged."
        total = np.sqrt(sum(np.sum(np.square(g)) for g in result))
        if abs(total - 1.0) < 1e-6:
            message += "\n" + named_mistake(TOPIC, "clip_grad_norm", "scales_up")
        raise CheckFailed(message)
    stored = load_fixture(TOPIC)["clip_grad_norm"]
    grads = [np.array(g, dtype=float) for g in stored["inputs"]["grads"]]
    result = _run(clip_grad_norm, dict(grads=grads, max_norm=stored["inputs"]["max_norm"]), "clip_grad_norm",
                  stored["output_names"])
    expected = [np.array(e) for e in stored["expected"]]
    result = [check_float_array(g, e.shape, "each clipped gradient") for g, e in zip(result, expected)]
    if not close(result, expected, RTOL):
        message = "On a stored list of five gradients with global norm above max_norm, your result differs."
        for mistake in stored["mistakes"]:
            if matches_mistake(result, [np.array(m) for m in mistake["outputs"]]):
                raise CheckFailed(message + "\n" + mistake_message(mistake["key"], mistake["title"], mistake["hint"]))
        raise CheckFailed(message + " Scale every array by max_norm / (global norm) when the global norm exceeds max_norm.")
    print("✓ clip_grad_norm passes the visible checks (below max_norm unchanged, inputs unchanged, a stored "
          "case above max_norm). Grading runs more cases.")


# The LSTM ------------------------------------------------------------------------------------
# Gates stacked along the 4H axis as input, forget, output, candidate (i, f, o, g). The step
# forward is checked against stored values, lstm_forward against your own lstm_step_forward,
# and each backward against central differences of your own forward; a backward whose gradients
# reproduce the stored gradients of a catalogued mistake is named.
LSTM_STEP_ARGS = ("x", "h_prev", "c_prev", "Wx", "Wh", "b")
LSTM_STEP_GRADIENTS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
LSTM_ARGS = ("x", "h0", "Wx", "Wh", "b")


def _stored(name):
    stored = load_fixture(TOPIC)[name]
    return {k: np.array(v, dtype=float) for k, v in stored["inputs"].items()}, stored


def _stored_mistake(stored, produced):
    """The mistake message of the first stored mistake whose outputs `produced` reproduces, or ''."""
    for mistake in stored["mistakes"]:
        if "outputs" in mistake and matches_mistake(produced, [np.array(m) for m in mistake["outputs"]]):
            return "\n" + mistake_message(mistake["key"], mistake["title"], mistake["hint"])
    return ""


def lstm_step_forward_problem(fn):
    """What is wrong with lstm_step_forward on the stored input, or None."""
    name = "lstm_step_forward"
    inputs, stored = _stored(name)
    kwargs = {k: inputs[k] for k in LSTM_STEP_ARGS}
    expected = [np.array(e) for e in stored["expected"]]
    h, c, _ = _run(fn, kwargs, name, ("h", "c", "cache"))
    produced = [check_float_array(h, expected[0].shape, f"{name}'s h"),
                check_float_array(c, expected[1].shape, f"{name}'s c")]
    if close(produced, expected, RTOL):
        return None
    wrong = [n for n, p, e in zip(("h", "c"), produced, expected) if relative_difference(p, e) > RTOL]
    return (f"On a stored input, your {' and '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} from the "
            "stored result." + (_stored_mistake(stored, produced) or
                                " Check the order of the gates in the 4H columns (i, f, o, g) and the two "
                                "update equations, term by term."))


def check_lstm_step_forward(lstm_step_forward) -> None:
    """lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h, c, cache), against stored values."""
    problem = lstm_step_forward_problem(lstm_step_forward)
    if problem:
        raise CheckFailed(problem)
    print("✓ lstm_step_forward passes the visible checks (shapes, inputs unchanged, h and c on a stored "
          "input). Grading runs more cases.")


def check_lstm_forward(lstm_forward) -> None:
    """lstm_forward(x, h0, Wx, Wh, b) -> (h, cache): each step must be your lstm_step_forward's, c0 = 0."""
    name = "lstm_forward"
    step = _companion(lstm_forward, "lstm_step_forward")
    if lstm_step_forward_problem(step):
        raise CheckFailed("This check compares lstm_forward with your lstm_step_forward, which does not pass "
                          "its own check yet: fix it first.")
    r = np.random.default_rng(7)
    N, T, D, H = 2, 5, 3, 4
    kw = dict(x=r.standard_normal((N, T, D)), h0=np.tanh(r.standard_normal((N, H))),
              Wx=0.6 * r.standard_normal((D, 4 * H)), Wh=0.45 * r.standard_normal((H, 4 * H)),
              b=0.4 * r.standard_normal(4 * H))
    h = check_float_array(_run(lstm_forward, kw, name, ("h", "cache"))[0], (N, T, H), f"{name}'s h")
    weights = {k: kw[k] for k in ("Wx", "Wh", "b")}
    zeros = np.zeros((N, H))

    def one(t, h_prev, c_prev):
        return _run(step, dict(x=kw["x"][:, t], h_prev=h_prev, c_prev=c_prev, **weights), "lstm_step_forward",
                    ("h", "c", "cache"))[:2]

    h_first, c_first = one(0, kw["h0"], zeros)
    if not _near(h[:, 0], h_first, 1e-6):
        if _near(h[:, 0], c_first, 1e-6):
            raise CheckFailed(f"{name}'s h[:, 0] is the cell state.\n"
                              + named_mistake(TOPIC, name, "cell_states_returned"))
        if _near(h[:, 0], one(0, zeros, zeros)[0], 1e-6):
            raise CheckFailed(f"{name}'s first state is wrong.\n" + named_mistake(TOPIC, name, "lstm_h0_ignored"))
        raise CheckFailed(f"{name}'s h[:, 0] is not the h of lstm_step_forward(x[:, 0], h0, c0 = 0, Wx, Wh, b).")
    c_prev = c_first
    for t in range(1, T):
        h_t, c_t = one(t, h[:, t - 1], c_prev)
        if not _near(h[:, t], h_t, 1e-6):
            if _near(h[:, t], one(t, h[:, t - 1], zeros)[0], 1e-6):
                raise CheckFailed(f"{name}'s h[:, {t}] follows from h[:, {t - 1}] with a zero cell state.\n"
                                  + named_mistake(TOPIC, name, "cell_state_reset"))
            raise CheckFailed(f"{name}'s h[:, {t}] is not the h of lstm_step_forward(x[:, {t}], h[:, {t - 1}], "
                              f"c_{t - 1}, Wx, Wh, b), with c_{t - 1} the cell state of the step before.")
        c_prev = c_t
    print("✓ lstm_forward passes the visible checks (shapes, inputs unchanged, every state follows from the "
          "previous h and c by your lstm_step_forward, starting from h0 and c0 = 0). Grading runs more cases.")


def _lstm_backward_check(fn, name, forward_name, args, states, upstream_names, out_names, per_step):
    inputs, stored = _stored(name)
    kw = {k: inputs[k] for k in args}
    upstream = [inputs[k] for k in upstream_names]
    forward = _companion(fn, forward_name)
    *_, cache = _run(forward, kw, forward_name, states + ("cache",))
    produced = _run(fn, {**dict(zip(upstream_names, upstream)), "cache": cache}, name, out_names)

    def loss(arg, value):
        outputs = forward(**dict(kw, **{arg: value}))
        return float(sum(np.sum(u * o) for u, o in zip(upstream, outputs[:len(states)])))

    numeric = [numerical_gradient(lambda v, arg=arg: loss(arg, v), kw[arg]) for arg in args]
    produced = [check_float_array(p, n.shape, f"{name}'s {o}") for p, n, o in zip(produced, numeric, out_names)]
    wrong, report = _gradient_report(name, out_names, produced, numeric, per_step)
    if wrong:
        raise CheckFailed(f"{name}'s gradients disagree with a numerical gradient of your {forward_name} "
                          f"({', '.join(wrong)} wrong):\n{report}" + _stored_mistake(stored, produced))
    print(f"✓ {name} passes the visible checks: every gradient agrees with central differences of your "
          f"{forward_name}.\n{report}\nGrading runs more cases.")


def check_lstm_step_backward(lstm_step_backward) -> None:
    """lstm_step_backward(dh, dc, cache) on the cache of your lstm_step_forward, against central differences
    of loss = sum(dh * h) + sum(dc * c)."""
    _lstm_backward_check(lstm_step_backward, "lstm_step_backward", "lstm_step_forward", LSTM_STEP_ARGS,
                         ("h", "c"), ("dh", "dc"), LSTM_STEP_GRADIENTS, False)


def check_lstm_backward(lstm_backward) -> None:
    """lstm_backward(dh, cache) on the cache of your lstm_forward, against central differences."""
    _lstm_backward_check(lstm_backward, "lstm_backward", "lstm_forward", LSTM_ARGS, ("h",), ("dh",),
                         ("dx", "dh0", "dWx", "dWh", "db"), True)
