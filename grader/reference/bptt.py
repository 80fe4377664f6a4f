"""Reference solutions of assignment 06 (backpropagation through time).

Cache layouts (the catalogued mistakes of the backward functions rely on them):
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
