"""Assignment 06 beyond the generic checks: every visible check names every catalogued mistake
(the generic test requires it only of checks judged by stored values), and correct LSTM code
written differently from the reference (loops, dict caches, another sigmoid formula, float32)
gets full marks from both checks."""
import contextlib
import io
import re

import numpy as np
import pytest

import course_lib.checks.bptt as visible
from course_lib.checking import CheckFailed
from grader import grade
from grader.checks.judge import topic_modules
from submission import as_submission

SPECS, REFERENCE, MISTAKES = topic_modules("bptt")


@pytest.mark.parametrize("name", list(SPECS.SPECS))
def test_visible_checks_name_every_catalogued_mistake(name):
    for mistake in MISTAKES.MISTAKES[name]:
        with pytest.raises(CheckFailed) as failure, contextlib.redirect_stdout(io.StringIO()):
            getattr(visible, f"check_{name}")(as_submission(mistake.implementation, name, "bptt"))
        message = str(failure.value)
        assert f"[{mistake.key}]" in message, f"visible {name} does not name {mistake.key}:\n{message}"
        assert not re.search(r"\d\.\d{4,}", message), message


LOOPS_AND_DICTS = '''
import numpy as np


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = np.einsum("nd,dk->nk", x, Wx) + np.einsum("nh,hk->nk", h_prev, Wh) + b
    gates = {name: a[:, k * H:(k + 1) * H] for k, name in enumerate("ifog")}
    gates = {name: np.tanh(v) if name == "g" else sigmoid(v) for name, v in gates.items()}
    c = c_prev.copy()
    c *= gates["f"]
    c += gates["i"] * gates["g"]
    h = gates["o"] * np.tanh(c)
    return h, c, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh, "c": c, **gates}


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    hs, caches, h, c = [], [], h0, np.zeros_like(h0)
    for t in range(T):
        h, c, step = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs.append(h)
        caches.append(step)
    return np.stack(hs, axis=1), {"steps": caches}


def lstm_step_backward(dh, dc, cache):
    i, f, o, g, c = (cache[k] for k in "ifogc")
    dc_total = dc + dh * o * (1.0 - np.tanh(c) ** 2)
    blocks = [dc_total * g * sigmoid_slope(i), dc_total * cache["c_prev"] * sigmoid_slope(f),
              dh * np.tanh(c) * sigmoid_slope(o), dc_total * i * (1.0 - g * g)]
    da = np.hstack(blocks)
    dWx = np.zeros_like(cache["Wx"])
    for n in range(da.shape[0]):          # one example at a time
        dWx += np.outer(cache["x"][n], da[n])
    dWh = sum(np.outer(cache["h_prev"][n], da[n]) for n in range(da.shape[0]))
    return da @ cache["Wx"].T, da @ cache["Wh"].T, f * dc_total, dWx, dWh, np.sum(da, axis=0)


def sigmoid_slope(s):
    return s - s * s


def lstm_backward(dh, cache):
    steps = cache["steps"]
    N, T, H = dh.shape
    dx, dWx, dWh, db = [None] * T, 0.0, 0.0, 0.0
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx[t], dh_next, dc_next, gx, gh, gb = lstm_step_backward(dh[:, t] + dh_next, dc_next, steps[t])
        dWx, dWh, db = dWx + gx, dWh + gh, db + gb
    return np.stack(dx, axis=1), dh_next, dWx, dWh, db
'''


def _namespace(source):
    namespace = {}
    exec(compile(source, "<submission>", "exec"), namespace)
    return namespace


def _full_marks(name, fn):
    with contextlib.redirect_stdout(io.StringIO()):
        getattr(visible, f"check_{name}")(fn)
        return grade("bptt", name, fn, points=1.0) == 1.0


@pytest.mark.parametrize("name", ["lstm_step_forward", "lstm_forward", "lstm_step_backward", "lstm_backward"])
def test_lstm_written_with_loops_dict_caches_and_another_sigmoid_gets_full_marks(name):
    assert _full_marks(name, _namespace(LOOPS_AND_DICTS)[name])


def test_lstm_forward_in_float32_gets_full_marks():
    namespace = _namespace(LOOPS_AND_DICTS)
    step = namespace["lstm_step_forward"]

    def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
        h, c, cache = step(*(a.astype(np.float32) for a in (x, h_prev, c_prev, Wx, Wh, b)))
        return h, c, cache

    namespace["lstm_step_forward"] = lstm_step_forward      # what the namespace's lstm_forward calls
    with contextlib.redirect_stdout(io.StringIO()):
        # float32 states agree with the reference to about 1e-7: the visible checks' tolerance
        # (1e-6) and the hidden float64 cases' (1e-6) both accept them
        visible.check_lstm_step_forward(lstm_step_forward)
        assert grade("bptt", "lstm_step_forward", lstm_step_forward, points=1.0) == 1.0
        assert grade("bptt", "lstm_forward", namespace["lstm_forward"], points=1.0) == 1.0


def test_lstm_backward_needs_the_cell_state_to_start_at_zero():
    namespace = _namespace(LOOPS_AND_DICTS)
    exec(compile(LOOPS_AND_DICTS.split("def lstm_forward")[0] + '''
def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    hs, caches, h, c = [], [], h0, np.ones_like(h0)
    for t in range(T):
        h, c, step = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs.append(h)
        caches.append(step)
    return np.stack(hs, axis=1), {"steps": caches}
''', "<submission>", "exec"), namespace)
    with contextlib.redirect_stdout(io.StringIO()):
        with pytest.raises(CheckFailed):
            visible.check_lstm_forward(namespace["lstm_forward"])
        assert grade("bptt", "lstm_forward", namespace["lstm_forward"], points=1.0) == 0.0


def test_init_rnn_scales_the_input_weights_by_the_given_std():
    from course_lib.sequences import init_rnn
    p = init_rnn(400, 50, np.random.default_rng(0), input_std=0.3, recurrent="gaussian")
    assert p["Wx"].shape == (400, 50) and abs(p["Wx"].std() - 0.3) < 0.01
    assert p["Wy"].shape == (50, 1) and np.all(p["b"] == 0.0) and np.all(p["by"] == 0.0)


def test_init_lstm_stacks_four_blocks_and_sets_only_the_forget_bias():
    from course_lib.sequences import init_lstm
    p = init_lstm(2, 5, np.random.default_rng(0), 0.5, forget_bias=1.5)
    assert p["Wx"].shape == (2, 20) and p["Wh"].shape == (5, 20) and p["b"].shape == (20,)
    assert np.all(p["b"][5:10] == 1.5) and np.all(np.delete(p["b"], np.s_[5:10]) == 0.0)
    for k in range(4):          # each recurrent block orthogonal
        block = p["Wh"][:, 5 * k:5 * (k + 1)]
        assert np.allclose(block.T @ block, np.eye(5))


def test_input_gradient_by_distance_is_one_at_the_last_step_and_tracks_the_forget_gate():
    from course_lib.sequences import init_lstm, input_gradient_by_distance, make_memory_task
    x = make_memory_task(16, 30, np.random.default_rng(1), 1.0)[0]
    reach = {}
    for bias in (0.0, 3.0):
        p = init_lstm(1, 8, np.random.default_rng(2), 0.5, forget_bias=bias)
        distance, ratio = input_gradient_by_distance(REFERENCE.lstm_forward, REFERENCE.lstm_backward, p, x,
                                                     np.random.default_rng(3))
        assert list(distance) == list(range(29, -1, -1)) and ratio[-1] == 1.0
        reach[bias] = ratio[0]
    assert reach[3.0] > 100 * reach[0.0]
