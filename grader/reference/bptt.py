"""Reference solutions of assignment 06 (backpropagation through time).

Cache layouts (the catalogued mistakes of the backward functions rely on them, and the solution
notebook uses the same, so that its backward can read the cache of a catalogued forward):
rnn_step_forward's cache is (x, h_prev, Wx, Wh, h_next); rnn_forward's cache is the list of
its T step caches, in time order. Each function is self-contained (no calls between them), so
that its source alone runs as a submission.
"""
import numpy as np


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h_next, (x, h_prev, Wx, Wh, h_next)


def rnn_step_backward(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1.0 - h_next**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    cache, h_prev = [], h0
    for t in range(T):
        h_next = np.tanh(x[:, t] @ Wx + h_prev @ Wh + b)
        cache.append((x[:, t], h_prev, Wx, Wh, h_next))
        h[:, t], h_prev = h_next, h_next
    return h, cache


def rnn_backward(dh, cache):
    x0, _, Wx, Wh, _ = cache[0]
    N, T, _ = dh.shape
    dx = np.zeros((N, T, x0.shape[1]), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0], dtype=Wh.dtype)
    dh_prev = np.zeros_like(dh[:, 0])
    for t in reversed(range(T)):
        x, h_prev, _, _, h_next = cache[t]
        da = (dh[:, t] + dh_prev) * (1.0 - h_next**2)
        dx[:, t], dh_prev = da @ Wx.T, da @ Wh.T
        dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def clip_grad_norm(grads, max_norm):
    total = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads]


# The LSTM. Gates are stacked along the 4H axis in the order input, forget, output, candidate
# (i, f, o, g). lstm_step_forward's cache is (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c);
# lstm_forward's cache is the list of its T step caches, in time order.
def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = (1.0 / (1.0 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c)


def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, o, g, c = cache
    tanh_c = np.tanh(c)
    dc = dc + dh * o * (1.0 - tanh_c**2)
    da = np.concatenate([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                         dh * tanh_c * o * (1.0 - o), dc * i * (1.0 - g**2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H), dtype=np.result_type(x, h0, Wx, Wh, b))
    cache, h_prev, c_prev = [], h0, np.zeros_like(h0)
    for t in range(T):
        h_prev, c_prev, step = lstm_step_forward(x[:, t], h_prev, c_prev, Wx, Wh, b)
        h[:, t] = h_prev
        cache.append(step)
    return h, cache


def lstm_backward(dh, cache):
    Wx, Wh = cache[0][3], cache[0][4]
    N, T, H = dh.shape
    dx = np.zeros((N, T, Wx.shape[0]), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dtype=Wh.dtype)
    dh_prev, dc_prev = np.zeros_like(dh[:, 0]), np.zeros_like(dh[:, 0])
    for t in reversed(range(T)):
        x, h_prev, c_prev, _, _, i, f, o, g, c = cache[t]
        tanh_c = np.tanh(c)
        dh_t = dh[:, t] + dh_prev
        dc_t = dc_prev + dh_t * o * (1.0 - tanh_c**2)
        da = np.concatenate([dc_t * g * i * (1.0 - i), dc_t * c_prev * f * (1.0 - f),
                             dh_t * tanh_c * o * (1.0 - o), dc_t * i * (1.0 - g**2)], axis=1)
        dx[:, t], dh_prev, dc_prev = da @ Wx.T, da @ Wh.T, dc_t * f
        dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db
