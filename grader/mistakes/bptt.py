"""Catalogued mistakes of assignment 06 (backpropagation through time).

Each implementation is a self-contained function with the graded function's signature, using
only `np`. The backward mistakes read their cache in the reference's layout: a step cache is
(x, h_prev, Wx, Wh, h_next) and rnn_forward's cache is the list of the T step caches; an LSTM
step cache is (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c) and lstm_forward's cache the list of
them. The forward mistakes return caches in the same layout, which is the solution notebook's,
so that a sample submission's correct backward can read them. The
hidden checks therefore diagnose a student's backward by running the reference forward and
then each mistake's backward on the same inputs, and comparing the gradients with the ones
the student's own forward + backward produced (grader/hidden/bptt.py).
"""
import numpy as np

from grader.checks.specs import Mistake


# rnn_step_forward ---------------------------------------------------------------------------
def missing_tanh(x, h_prev, Wx, Wh, b):
    h_next = x @ Wx + h_prev @ Wh + b
    return h_next, (x, h_prev, Wx, Wh, h_next)


def wh_transposed(x, h_prev, Wx, Wh, b):
    h_next = np.tanh(x @ Wx + h_prev @ Wh.T + b)
    return h_next, (x, h_prev, Wx, Wh, h_next)


# rnn_forward --------------------------------------------------------------------------------
def h0_ignored(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, cache, h_prev = np.zeros((N, T, h0.shape[1])), [], np.zeros_like(h0)
    for t in range(T):
        h_next = np.tanh(x[:, t] @ Wx + h_prev @ Wh + b)
        cache.append((x[:, t], h_prev, Wx, Wh, h_next))
        h[:, t], h_prev = h_next, h_next
    return h, cache


def no_recurrence(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, cache = np.zeros((N, T, h0.shape[1])), []
    for t in range(T):
        h_next = np.tanh(x[:, t] @ Wx + h0 @ Wh + b)
        cache.append((x[:, t], h0, Wx, Wh, h_next))
        h[:, t] = h_next
    return h, cache


def stores_previous_state(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, cache, h_prev = np.zeros((N, T, h0.shape[1])), [], h0
    for t in range(T):
        h_next = np.tanh(x[:, t] @ Wx + h_prev @ Wh + b)
        cache.append((x[:, t], h_prev, Wx, Wh, h_next))
        h[:, t], h_prev = h_prev, h_next
    return h, cache


# rnn_step_backward --------------------------------------------------------------------------
def no_tanh_derivative(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def tanh_applied_twice(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1.0 - np.tanh(h_next) ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def step_dwh_uses_h_next(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1.0 - h_next**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_next.T @ da, da.sum(axis=0)


# rnn_backward -------------------------------------------------------------------------------
def no_recurrent_gradient(dh, cache):
    N, T, H = dh.shape
    Wx, Wh = cache[0][2], cache[0][3]
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, _, _, h_next = cache[t]
        da = dh[:, t] * (1.0 - h_next**2)
        dx[:, t], dh_prev = da @ Wx.T, da @ Wh.T
        dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def dh0_not_from_last_step(dh, cache):
    N, T, H = dh.shape
    Wx, Wh = cache[0][2], cache[0][3]
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, _, _, h_next = cache[t]
        upstream = dh[:, t] + dh_prev
        da = upstream * (1.0 - h_next**2)
        dx[:, t], dh_prev = da @ Wx.T, da @ Wh.T
        dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, upstream, dWx, dWh, db


def weights_overwritten(dh, cache):
    N, T, H = dh.shape
    Wx, Wh = cache[0][2], cache[0][3]
    dx = np.zeros((N, T, Wx.shape[0]))
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, _, _, h_next = cache[t]
        da = (dh[:, t] + dh_prev) * (1.0 - h_next**2)
        dx[:, t], dh_prev = da @ Wx.T, da @ Wh.T
        dWx, dWh, db = x.T @ da, h_prev.T @ da, da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def dwh_uses_h_t(dh, cache):
    N, T, H = dh.shape
    Wx, Wh = cache[0][2], cache[0][3]
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, _, _, h_next = cache[t]
        da = (dh[:, t] + dh_prev) * (1.0 - h_next**2)
        dx[:, t], dh_prev = da @ Wx.T, da @ Wh.T
        dWx, dWh, db = dWx + x.T @ da, dWh + h_next.T @ da, db + da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


# clip_grad_norm -----------------------------------------------------------------------------
def per_array_clipping(grads, max_norm):
    return [g * min(1.0, max_norm / np.linalg.norm(g)) if np.linalg.norm(g) > 0 else g.copy() for g in grads]


def scales_up(grads, max_norm):
    total = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * (max_norm / total) for g in grads]


def value_clipping(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


# lstm_step_forward --------------------------------------------------------------------------
# (gates stacked as i, f, o, g; the step cache is (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c))
def pytorch_gate_order(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = (1.0 / (1.0 + np.exp(-a[:, k * H:(k + 1) * H])) for k in (0, 1, 3))
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c)


def cell_not_squashed(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = (1.0 / (1.0 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * c
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c)


def forget_gate_on_candidate(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = (1.0 / (1.0 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    c = i * c_prev + f * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c)


# lstm_forward -------------------------------------------------------------------------------
def cell_state_reset(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h, cache, h_prev, c_prev = np.zeros((N, T, H)), [], h0, np.zeros_like(h0)
    for t in range(T):
        c_prev = np.zeros_like(h0)
        a = x[:, t] @ Wx + h_prev @ Wh + b
        i, f, o = (1.0 / (1.0 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H:])
        c = f * c_prev + i * g
        h_next = o * np.tanh(c)
        cache.append((x[:, t], h_prev, c_prev, Wx, Wh, i, f, o, g, c))
        h[:, t], h_prev, c_prev = h_next, h_next, c
    return h, cache


def lstm_h0_ignored(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h, cache, h_prev, c_prev = np.zeros((N, T, H)), [], np.zeros_like(h0), np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + h_prev @ Wh + b
        i, f, o = (1.0 / (1.0 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H:])
        c = f * c_prev + i * g
        h_next = o * np.tanh(c)
        cache.append((x[:, t], h_prev, c_prev, Wx, Wh, i, f, o, g, c))
        h[:, t], h_prev, c_prev = h_next, h_next, c
    return h, cache


def cell_states_returned(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h, cache, h_prev, c_prev = np.zeros((N, T, H)), [], h0, np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + h_prev @ Wh + b
        i, f, o = (1.0 / (1.0 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        g = np.tanh(a[:, 3 * H:])
        c = f * c_prev + i * g
        h_next = o * np.tanh(c)
        cache.append((x[:, t], h_prev, c_prev, Wx, Wh, i, f, o, g, c))
        h[:, t], h_prev, c_prev = c, h_next, c
    return h, cache


# lstm_step_backward -------------------------------------------------------------------------
def sigmoid_derivative_of_preactivation(dh, dc, cache):
    # the sigmoid's derivative written with the pre-activation a = log(s / (1 - s)) of each gate s
    x, h_prev, c_prev, Wx, Wh, i, f, o, g, c = cache
    a_i, a_f, a_o = (np.log(s / (1.0 - s)) for s in (i, f, o))
    tanh_c = np.tanh(c)
    dc = dc + dh * o * (1.0 - tanh_c**2)
    da = np.concatenate([dc * g * a_i * (1.0 - a_i),
                         dc * c_prev * a_f * (1.0 - a_f),
                         dh * tanh_c * a_o * (1.0 - a_o),
                         dc * i * (1.0 - g**2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def cell_tanh_derivative_missing(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, o, g, c = cache
    tanh_c = np.tanh(c)
    dc = dc + dh * o * 1.0
    da = np.concatenate([dc * g * i * (1.0 - i),
                         dc * c_prev * f * (1.0 - f),
                         dh * tanh_c * o * (1.0 - o),
                         dc * i * (1.0 - g**2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def dc_prev_without_forget_gate(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, o, g, c = cache
    tanh_c = np.tanh(c)
    dc = dc + dh * o * (1.0 - tanh_c**2)
    da = np.concatenate([dc * g * i * (1.0 - i),
                         dc * c_prev * f * (1.0 - f),
                         dh * tanh_c * o * (1.0 - o),
                         dc * i * (1.0 - g**2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def gate_gradients_misordered(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, o, g, c = cache
    tanh_c = np.tanh(c)
    dc = dc + dh * o * (1.0 - tanh_c**2)
    da = np.concatenate([dc * g * i * (1.0 - i),
                         dc * c_prev * f * (1.0 - f),
                         dc * i * (1.0 - g**2),
                         dh * tanh_c * o * (1.0 - o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# lstm_backward ------------------------------------------------------------------------------
def cell_gradient_not_carried(dh, cache):
    Wx, Wh = cache[0][3], cache[0][4]
    N, T, H = dh.shape
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dh_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, c_prev, _, _, i, f, o, g, c = cache[t]
        tanh_c = np.tanh(c)
        dh_t = dh[:, t] + dh_prev
        dc_t = dh_t * o * (1.0 - tanh_c**2)
        da = np.concatenate([dc_t * g * i * (1.0 - i), dc_t * c_prev * f * (1.0 - f),
                             dh_t * tanh_c * o * (1.0 - o), dc_t * i * (1.0 - g**2)], axis=1)
        dx[:, t], dh_prev = da @ Wx.T, da @ Wh.T      # dc_t * f is never passed back
        dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def only_last_upstream(dh, cache):
    Wx, Wh = cache[0][3], cache[0][4]
    N, T, H = dh.shape
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dh_prev, dc_prev = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, c_prev, _, _, i, f, o, g, c = cache[t]
        tanh_c = np.tanh(c)
        dh_t = (dh[:, t] if t == T - 1 else 0.0) + dh_prev
        dc_t = dc_prev + dh_t * o * (1.0 - tanh_c**2)
        da = np.concatenate([dc_t * g * i * (1.0 - i), dc_t * c_prev * f * (1.0 - f),
                             dh_t * tanh_c * o * (1.0 - o), dc_t * i * (1.0 - g**2)], axis=1)
        dx[:, t], dh_prev, dc_prev = da @ Wx.T, da @ Wh.T, dc_t * f
        dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def hidden_gradient_not_carried(dh, cache):
    Wx, Wh = cache[0][3], cache[0][4]
    N, T, H = dh.shape
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dh_prev, dc_prev = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        x, h_prev, c_prev, _, _, i, f, o, g, c = cache[t]
        tanh_c = np.tanh(c)
        dh_t = dh[:, t]
        dc_t = dc_prev + dh_t * o * (1.0 - tanh_c**2)
        da = np.concatenate([dc_t * g * i * (1.0 - i), dc_t * c_prev * f * (1.0 - f),
                             dh_t * tanh_c * o * (1.0 - o), dc_t * i * (1.0 - g**2)], axis=1)
        dx[:, t], dh_prev, dc_prev = da @ Wx.T, da @ Wh.T, dc_t * f
        dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


MISTAKES = {
    "rnn_step_forward": [
        Mistake("missing_tanh", "Nonlinearity missing",
                "Your new hidden state is the affine map x @ Wx + h_prev @ Wh + b itself. The vanilla "
                "RNN squashes it: h_next = tanh(x @ Wx + h_prev @ Wh + b), which keeps every entry in (-1, 1).",
                missing_tanh),
        Mistake("wh_transposed", "Recurrent matrix transposed",
                "You multiplied h_prev by Wh.T. With the row convention of this course (one example per "
                "row, h_prev of shape (N, H)) the recurrent term is h_prev @ Wh, like x @ Wx.", wh_transposed),
    ],
    "rnn_forward": [
        Mistake("h0_ignored", "Initial state ignored",
                "Your first step starts from zeros instead of the h0 you were given. The recurrence "
                "starts at h_prev = h0.", h0_ignored),
        Mistake("no_recurrence", "Every step starts from h0",
                "Each of your steps uses h0 as its previous state, so nothing is carried along the "
                "sequence. Feed each new hidden state into the next step: h_prev = h_next.", no_recurrence),
        Mistake("stores_previous_state", "Hidden states shifted by one step",
                "Your h[:, t] holds the state before step t (h0 at t = 0). It should hold the state "
                "after reading x[:, t]: h[:, t] = h_t, so h[:, -1] is the final state.", stores_previous_state),
    ],
    "rnn_step_backward": [
        Mistake("no_tanh_derivative", "tanh derivative missing",
                "You sent dh_next straight to the weights. The gradient first passes through tanh: "
                "da = dh_next * (1 - h_next**2), and every other gradient is computed from da.",
                no_tanh_derivative),
        Mistake("tanh_applied_twice", "tanh derivative taken at the wrong point",
                "You used 1 - tanh(h_next)**2. h_next is already tanh(a), so the derivative of tanh at a "
                "is 1 - h_next**2, without applying tanh again.", tanh_applied_twice),
        Mistake("step_dwh_uses_h_next", "dWh computed with the new state",
                "dWh multiplies the state that entered the step, h_prev (the term h_prev @ Wh), not the "
                "state it produced: dWh = h_prev.T @ da.", step_dwh_uses_h_next),
    ],
    "rnn_backward": [
        Mistake("no_recurrent_gradient", "Gradient from step t+1 not added",
                "At each step you backpropagated only dh[:, t], dropping the gradient dh_prev that "
                "arrives from step t+1 through the hidden state. h_t feeds both the loss and the next "
                "step, so its gradient is the sum: step_backward(dh[:, t] + dh_prev, ...). Without it, "
                "no gradient ever travels back in time.", no_recurrent_gradient),
        Mistake("dh0_not_from_last_step", "dh0 taken one step too late",
                "Your dh0 is the upstream gradient of the first step's output h_1 (dh[:, 0] plus what "
                "arrives from step 1). dh0 is what comes out of the backward of step 0: the dh_prev "
                "it returns.", dh0_not_from_last_step),
        Mistake("weights_overwritten", "Shared-weight gradients overwritten",
                "Your dWx, dWh, db hold only the contribution of one time step. The same weights are "
                "used at every step of the unrolled graph, so their gradients are sums over time: "
                "dWx += ..., starting from zeros.", weights_overwritten),
        Mistake("dwh_uses_h_t", "dWh computed with h_t instead of h_{t-1}",
                "At step t the recurrent term is h_{t-1} @ Wh, so dWh gets h_{t-1}.T @ da_t (h0 at "
                "t = 0), not h_t.T @ da_t.", dwh_uses_h_t),
    ],
    "clip_grad_norm": [
        Mistake("per_array_clipping", "Each array clipped separately",
                "You clipped each array to max_norm on its own, which changes the direction of the "
                "overall gradient. Compute one norm over all arrays together, "
                "sqrt(sum of every squared entry), and scale every array by the same factor.",
                per_array_clipping),
        Mistake("scales_up", "Small gradients scaled up",
                "Your result always has norm max_norm. Clipping only ever scales down: when the "
                "global norm is at most max_norm, return the gradients unchanged.", scales_up),
        Mistake("value_clipping", "Entries clipped instead of the norm",
                "np.clip limits each entry separately (clipping by value), which changes the "
                "gradient's direction. Clipping by norm keeps the direction and scales every array "
                "by max_norm / total_norm when the total norm exceeds max_norm.", value_clipping),
    ],
    "lstm_step_forward": [
        Mistake("pytorch_gate_order", "Gates read in another order",
                "You read the output gate and the candidate from each other's blocks (PyTorch stacks its "
                "gates as i, f, g, o). In this course the 4H columns of a hold the gates in the order "
                "input, forget, output, candidate: a[:, :H] is i, a[:, H:2H] is f, a[:, 2H:3H] is o and "
                "a[:, 3H:] is g.", pytorch_gate_order),
        Mistake("cell_not_squashed", "No tanh on the cell before the output gate",
                "Your h is o * c. The cell state is not bounded (it adds up over time), so the LSTM "
                "squashes it before the output gate lets it out: h = o * tanh(c).", cell_not_squashed),
        Mistake("forget_gate_on_candidate", "Forget gate applied to the candidate",
                "You multiplied the candidate by the forget gate and the old cell by the input gate. The "
                "forget gate decides how much of the old memory to keep, the input gate how much of the "
                "new candidate to write: c = f * c_prev + i * g.", forget_gate_on_candidate),
    ],
    "lstm_forward": [
        Mistake("cell_state_reset", "Cell state not carried",
                "Every one of your steps starts from a zero cell state. Only the very first step does "
                "(c0 = 0); after that, each step receives the c returned by the step before, just as it "
                "receives the previous h.", cell_state_reset),
        Mistake("lstm_h0_ignored", "Initial hidden state ignored",
                "Your first step starts from zeros instead of the h0 you were given. The recurrence "
                "starts at h_prev = h0 (and c_prev = 0).", lstm_h0_ignored),
        Mistake("cell_states_returned", "Cell states returned instead of hidden states",
                "Your h[:, t] holds the cell state c_t. The LSTM's output at step t is the hidden state "
                "h_t = o_t * tanh(c_t); the cell state stays inside.", cell_states_returned),
    ],
    "lstm_step_backward": [
        Mistake("sigmoid_derivative_of_preactivation", "Sigmoid derivative taken at the pre-activation",
                "You computed a * (1 - a) with the pre-activation a. The derivative of the sigmoid is "
                "sigma(a) * (1 - sigma(a)), written with the gate's value: i * (1 - i) for the input "
                "gate, and the same for f and o.", sigmoid_derivative_of_preactivation),
        Mistake("cell_tanh_derivative_missing", "tanh derivative of the cell missing",
                "h = o * tanh(c), so the gradient that reaches c from h is dh * o * (1 - tanh(c)**2). You "
                "left out the factor 1 - tanh(c)**2.", cell_tanh_derivative_missing),
        Mistake("dc_prev_without_forget_gate", "dc_prev without the forget gate",
                "c = f * c_prev + i * g, so the gradient of c_prev is the total gradient of c times f. "
                "You passed the gradient of c back unchanged.", dc_prev_without_forget_gate),
        Mistake("gate_gradients_misordered", "Gate gradients stacked in another order",
                "The gradient of the pre-activation must be stacked in the order the forward pass read "
                "the gates (i, f, o, g); you swapped the blocks of the output gate and the candidate.",
                gate_gradients_misordered),
    ],
    "lstm_backward": [
        Mistake("cell_gradient_not_carried", "Cell gradient not carried from step to step",
                "Each of your steps starts its cell gradient from zero. c_t feeds the next step through "
                "f * c_t, so the dc_prev returned by step t+1 is part of the gradient of c_t: call the "
                "step backward with the dc_prev of the step after it (zero at the last step). This path "
                "is the LSTM's whole point: it is the one along which gradients survive.",
                cell_gradient_not_carried),
        Mistake("only_last_upstream", "Only the last step's upstream gradient used",
                "You used dh[:, -1] and ignored the upstream gradients of the earlier hidden states. "
                "Every h_t can feed the loss: at step t backpropagate dh[:, t] plus the dh_prev returned "
                "by step t+1.", only_last_upstream),
        Mistake("hidden_gradient_not_carried", "Hidden-state gradient not carried from step to step",
                "At each step you backpropagated only dh[:, t], dropping the dh_prev that arrives from "
                "step t+1 (h_t feeds the next step's gates). Pass dh[:, t] + dh_prev to the step backward, "
                "together with the carried dc_prev.", hidden_gradient_not_carried),
    ],
}
