"""Hidden checks of assignment 06 (backpropagation through time).

A forward function returns (hidden states, cache); only the hidden states are compared with
the reference, since the cache is the student's own business. A backward function can only
read the cache of the student's own forward, so its checks run the student's forward (looked
up by name in the namespace where the student's backward was defined: the notebook) and then
the student's backward, and compare the gradients with the reference's forward + backward.
When no forward of that name exists there (a backward defined on its own, as the tests do),
the reference forward supplies the cache, whose layout is documented in grader/reference/bptt.py.
A mismatch is diagnosed by running the reference forward and each catalogued mistake's
backward on the same inputs (grader/mistakes/bptt.py).

Cases: N > 1, D != H, several time steps, weights large enough that tanh is neither linear
nor saturated, and upstream gradients at every step as well as only at the last one
(many-to-one); one float32 case per function (rtol 1e-4). The LSTM functions are checked the
same way: lstm_step_forward on its h and c, its backward with upstream gradients on both, and
cell states large enough (|c| up to about 2) that tanh(c) is far from linear.
"""

from collections import namedtuple

import numpy as np

from course_lib.checking import (CheckFailed, check_output, close, companion, invoke, mistake_message,
                                 outputs_of)
from grader.checks.specs import ByProperties, ByReference, Case, Visible, diagnose
from grader.hidden import generator
from grader.mistakes.bptt import MISTAKES
from grader.reference import bptt as reference

SEED = 20260606
GRADIENTS = ("dx", "dh_prev", "dWx", "dWh", "db")
SEQUENCE_GRADIENTS = ("dx", "dh0", "dWx", "dWh", "db")


def _weights(normal, D, H, scale=0.7):
    return dict(Wx=scale * normal((D, H)), Wh=scale * normal((H, H)) / np.sqrt(H) * 1.6,
                b=0.3 * normal(H))


def _cast(kwargs, dtype):
    return {k: v.astype(dtype) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


def _step_case(normal, N, D, H, dtype=float):
    inputs = dict(x=normal((N, D)), h_prev=np.tanh(normal((N, H))), **_weights(normal, D, H))
    return _cast(dict(inputs, dh_next=normal((N, H))), dtype)


def _sequence_case(normal, N, T, D, H, dtype=float, many_to_one=False):
    inputs = dict(x=normal((N, T, D)), h0=np.tanh(normal((N, H))), **_weights(normal, D, H))
    dh = normal((N, T, H))
    if many_to_one:
        dh[:, :-1] = 0.0
    return _cast(dict(inputs, dh=dh), dtype)


def _step_cases(rng):
    normal = rng.standard_normal
    return [("N=4, D=3, H=5", _step_case(normal, 4, 3, 5), 1e-6),
            ("N=2, D=6, H=4", _step_case(normal, 2, 6, 4), 1e-6),
            ("N=8, D=2, H=7", _step_case(normal, 8, 2, 7), 1e-6),
            ("float32, N=5, D=4, H=3", _step_case(normal, 5, 4, 3, np.float32), 1e-4)]


def _sequence_cases(rng):
    normal = rng.standard_normal
    return [("N=3, T=6, D=4, H=5, gradients at every step", _sequence_case(normal, 3, 6, 4, 5), 1e-6),
            ("N=4, T=8, D=2, H=6, many-to-one (gradient at the last step only)",
             _sequence_case(normal, 4, 8, 2, 6, many_to_one=True), 1e-6),
            ("N=2, T=3, D=5, H=3, gradients at every step", _sequence_case(normal, 2, 3, 5, 3), 1e-6),
            ("N=5, T=10, D=3, H=4, many-to-one", _sequence_case(normal, 5, 10, 3, 4, many_to_one=True), 1e-6),
            ("float32, N=3, T=5, D=3, H=4", _sequence_case(normal, 3, 5, 3, 4, np.float32), 1e-4)]


# A forward function and its backward: the forward's arguments, the states it returns before its
# cache, the backward's upstream arguments and the gradients it returns.
Kind = namedtuple("Kind", "forward backward args states upstream gradients")
STEP = Kind("rnn_step_forward", "rnn_step_backward", ("x", "h_prev", "Wx", "Wh", "b"), ("h_next",), ("dh_next",),
            GRADIENTS)
SEQUENCE = Kind("rnn_forward", "rnn_backward", ("x", "h0", "Wx", "Wh", "b"), ("h",), ("dh",), SEQUENCE_GRADIENTS)
LSTM_STEP = Kind("lstm_step_forward", "lstm_step_backward", ("x", "h_prev", "c_prev", "Wx", "Wh", "b"), ("h", "c"),
                 ("dh", "dc"), ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"))
LSTM_SEQUENCE = Kind("lstm_forward", "lstm_backward", ("x", "h0", "Wx", "Wh", "b"), ("h",), ("dh",),
                     SEQUENCE_GRADIENTS)
STATE_NAMES = {"h_next": "hidden states", "h": "hidden states", "c": "cell states"}


def _states(fn, kwargs, kind, name):
    """The states a forward function returns before its cache (h, or h and c)."""
    outcome = invoke(fn, kwargs)
    if outcome.problem(name):
        raise CheckFailed(outcome.problem(name))
    return outputs_of(outcome.result, kind.states + ("cache",), name)


def _named(name, produced, run_mistake):
    """The message of the first mistake of `name` whose outputs (by run_mistake) match produced."""
    mistake = diagnose(produced, MISTAKES[name], run_mistake)
    return "\n" + mistake_message(mistake.key, mistake.title, mistake.hint) if mistake else ""


def forward_problem(fn, kind, kwargs, rtol):
    """What is wrong with the states a forward function returns on one case, or None."""
    name = kind.forward
    inputs = {k: kwargs[k] for k in kind.args}
    want = getattr(reference, name)(**inputs)[:len(kind.states)]
    got = _states(fn, inputs, kind, name)[:len(kind.states)]
    got = [check_output(g, w, f"{name}'s {STATE_NAMES[s]}") for g, w, s in zip(got, want, kind.states)]
    if close(got, want, rtol):
        return None
    wrong = [STATE_NAMES[s] for g, w, s in zip(got, want, kind.states) if not close([g], [w], rtol)]
    return (f"{name}'s {' and '.join(wrong)} differ from the reference."
            + _named(name, got, lambda m: list(m(**inputs)[:len(kind.states)])))


def backward_problem(fn, kind, kwargs, rtol):
    """Run the student's forward then fn (their backward); what is wrong, or None."""
    forward_name, name, out_names = kind.forward, kind.backward, kind.gradients
    inputs = {k: kwargs[k] for k in kind.args}
    upstream = {k: kwargs[k] for k in kind.upstream}
    ref_outputs = getattr(reference, forward_name)(**inputs)
    ref_states, ref_cache = ref_outputs[:-1], ref_outputs[-1]
    want = getattr(reference, name)(*upstream.values(), ref_cache)
    student_forward = companion(fn, forward_name)
    if student_forward is not None:
        outcome = invoke(student_forward, inputs)
        if outcome.problem(forward_name):
            return f"{name} is checked after your {forward_name}, which failed: {outcome.problem(forward_name)}"
        try:
            *states, cache = outputs_of(outcome.result, kind.states + ("cache",), forward_name)
        except CheckFailed as failure:
            return f"{name} is checked after your {forward_name}: {failure}"
        if not all(isinstance(s, np.ndarray) and close([s], [r], rtol) for s, r in zip(states, ref_states)):
            return (f"{name} is checked on the cache of your {forward_name}, whose "
                    f"{' and '.join(STATE_NAMES[s] for s in kind.states)} are wrong: fix {forward_name} first.")
    else:
        cache = ref_cache
    outcome = invoke(fn, {**upstream, "cache": cache})
    if outcome.problem(name):
        return outcome.problem(name)
    produced = outputs_of(outcome.result, out_names, name)
    for got, expected, out in zip(produced, want, out_names):
        check_output(got, expected, f"{name}'s {out}")
    if close(produced, want, rtol):
        return None
    wrong = [out for got, expected, out in zip(produced, want, out_names) if not close([got], [expected], rtol)]
    return (f"{', '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} from the reference."
            + _named(name, produced, lambda m: list(m(*upstream.values(), ref_cache))))


def _property_checks(problem, kind, cases):
    return [(label, lambda fn, kw=kw, rtol=rtol: problem(fn, kind, kw, rtol)) for label, kw, rtol in cases]


def _grads(normal, shapes, scale, dtype=float):
    return [(scale * normal(s)).astype(dtype) for s in shapes]


CLIP_SHAPES = [(3, 5), (5, 5), (5,), (5, 1), (1,)]
CLIP_OUTPUTS = ("dWx", "dWh", "db", "dWy", "dby")


def _clip_grad_norm_spec(rng):
    normal = rng.standard_normal
    return ByReference(
        outputs=CLIP_OUTPUTS,
        cases=[
            Case("global norm about 8, max_norm 1", dict(grads=_grads(normal, CLIP_SHAPES, 0.8), max_norm=1.0)),
            Case("global norm about 2.5, max_norm 5 (unchanged)",
                 dict(grads=_grads(normal, CLIP_SHAPES, 0.25), max_norm=5.0)),
            Case("one large array, max_norm 2",
                 dict(grads=[normal((3, 5)) * 10, *_grads(normal, CLIP_SHAPES[1:], 0.1)], max_norm=2.0)),
            Case("small gradients, max_norm 0.5 (unchanged)",
                 dict(grads=_grads(normal, CLIP_SHAPES, 0.02), max_norm=0.5)),
            Case("float32, max_norm 3", dict(grads=_grads(normal, CLIP_SHAPES, 1.5, np.float32), max_norm=3.0),
                 rtol=1e-4),
        ],
        # stored in the fixture, so one array: five gradients of shape (2, 3), stacked
        visible=dict(grads=normal((5, 2, 3)) * np.array([0.3, 0.5, 1.0, 1.5, 0.2])[:, None, None], max_norm=2.0),
    )


def _lstm_weights(normal, D, H):
    return dict(Wx=0.6 * normal((D, 4 * H)), Wh=0.9 * normal((H, 4 * H)) / np.sqrt(H), b=0.4 * normal(4 * H))


def _lstm_step_case(normal, N, D, H, dtype=float):
    inputs = dict(x=normal((N, D)), h_prev=np.tanh(normal((N, H))), c_prev=normal((N, H)),
                  **_lstm_weights(normal, D, H))
    return _cast(dict(inputs, dh=normal((N, H)), dc=normal((N, H))), dtype)


def _lstm_sequence_case(normal, N, T, D, H, dtype=float, many_to_one=False):
    inputs = dict(x=normal((N, T, D)), h0=np.tanh(normal((N, H))), **_lstm_weights(normal, D, H))
    dh = normal((N, T, H))
    if many_to_one:
        dh[:, :-1] = 0.0
    return _cast(dict(inputs, dh=dh), dtype)


def _lstm_step_cases(rng):
    normal = rng.standard_normal
    return [("N=4, D=3, H=5", _lstm_step_case(normal, 4, 3, 5), 1e-6),
            ("N=2, D=6, H=4", _lstm_step_case(normal, 2, 6, 4), 1e-6),
            ("N=6, D=2, H=3", _lstm_step_case(normal, 6, 2, 3), 1e-6),
            ("float32, N=5, D=4, H=3", _lstm_step_case(normal, 5, 4, 3, np.float32), 1e-4)]


def _lstm_sequence_cases(rng):
    normal = rng.standard_normal
    return [("N=3, T=6, D=4, H=5, gradients at every step", _lstm_sequence_case(normal, 3, 6, 4, 5), 1e-6),
            ("N=4, T=8, D=2, H=4, many-to-one (gradient at the last step only)",
             _lstm_sequence_case(normal, 4, 8, 2, 4, many_to_one=True), 1e-6),
            ("N=2, T=3, D=5, H=3, gradients at every step", _lstm_sequence_case(normal, 2, 3, 5, 3), 1e-6),
            ("float32, N=3, T=5, D=3, H=4", _lstm_sequence_case(normal, 3, 5, 3, 4, np.float32), 1e-4)]


# What each function is checked through: a backward pass runs on the cache of the student's own
# forward pass, and rnn_forward is compared with the student's rnn_step_forward.
DEPENDS = {
    "rnn_forward": ["rnn_step_forward"],
    "rnn_step_backward": ["rnn_step_forward"],
    "rnn_backward": ["rnn_forward"],
    "lstm_forward": ["lstm_step_forward"],
    "lstm_step_backward": ["lstm_step_forward"],
    "lstm_backward": ["lstm_forward"],
}

SPECS = {
    "rnn_step_forward": ByProperties(checks=_property_checks(
        forward_problem, STEP, _step_cases(generator(SEED, "rnn_step_forward")))),
    "rnn_step_backward": ByProperties(checks=_property_checks(
        backward_problem, STEP, _step_cases(generator(SEED, "rnn_step_backward")))),
    "rnn_forward": ByProperties(checks=_property_checks(
        forward_problem, SEQUENCE, _sequence_cases(generator(SEED, "rnn_forward")))),
    "rnn_backward": ByProperties(checks=_property_checks(
        backward_problem, SEQUENCE, _sequence_cases(generator(SEED, "rnn_backward")))),
    "clip_grad_norm": _clip_grad_norm_spec(generator(SEED, "clip_grad_norm")),
    "lstm_step_forward": ByProperties(checks=_property_checks(
        forward_problem, LSTM_STEP, _lstm_step_cases(generator(SEED, "lstm_step_forward")))),
    "lstm_forward": ByProperties(checks=_property_checks(
        forward_problem, LSTM_SEQUENCE, _lstm_sequence_cases(generator(SEED, "lstm_forward")))),
    "lstm_step_backward": ByProperties(checks=_property_checks(
        backward_problem, LSTM_STEP, _lstm_step_cases(generator(SEED, "lstm_step_backward")))),
    "lstm_backward": ByProperties(checks=_property_checks(
        backward_problem, LSTM_SEQUENCE, _lstm_sequence_cases(generator(SEED, "lstm_backward")))),
}



def _run_forward(kind):
    return lambda fn, inputs: list(fn(**{k: inputs[k] for k in kind.args})[:len(kind.states)])


def _run_backward(kind):
    """The gradients of fn (a backward) on the cache of the reference forward."""
    def run(fn, inputs):
        cache = getattr(reference, kind.forward)(**{k: inputs[k] for k in kind.args})[-1]
        return list(fn(*[inputs[k] for k in kind.upstream], cache))
    return run


def _lstm_visible(name, kind, case, expected):
    normal = generator(SEED, f"{name} visible").standard_normal
    return Visible(inputs=case(normal), outputs=kind.gradients if kind.backward == name else kind.states,
                   run=(_run_backward if kind.backward == name else _run_forward)(kind), expected=expected)


# Visible checks of the LSTM that compare with stored values: the step forward (h and c), and the
# backward passes, whose catalogued mistakes are named from their stored gradients (the visible
# check itself compares with central differences of the student's own forward).
VISIBLE = {
    "lstm_step_forward": _lstm_visible("lstm_step_forward", LSTM_STEP,
                                       lambda normal: _lstm_step_case(normal, 3, 4, 5), expected=True),
    "lstm_step_backward": _lstm_visible("lstm_step_backward", LSTM_STEP,
                                        lambda normal: _lstm_step_case(normal, 3, 4, 5), expected=False),
    "lstm_backward": _lstm_visible("lstm_backward", LSTM_SEQUENCE,
                                   lambda normal: _lstm_sequence_case(normal, 2, 5, 3, 4), expected=False),
}
