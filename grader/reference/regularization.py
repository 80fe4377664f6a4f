"""Reference solutions of assignment 05 (regularization)."""
import numpy as np


def l2_penalty(w, lam):
    return lam * np.sum(w**2), 2.0 * lam * w


def l1_penalty(w, lam):
    return lam * np.sum(np.abs(w)), lam * np.sign(w)


def adamw_step(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    m_hat = m_new / (1 - beta1**t)
    v_hat = v_new / (1 - beta2**t)
    w_new = w - lr * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * w)
    return w_new, m_new, v_new


def dropout_forward(x, p_drop, rng, train):
    if not train:
        return x.copy(), np.ones_like(x)
    mask = (rng.random(x.shape) >= p_drop) / (1.0 - p_drop)
    mask = mask.astype(x.dtype)
    return x * mask, mask


def dropout_backward(dout, mask):
    return dout * mask


def batchnorm_forward(x, gamma, beta, eps, running_mean, running_var, momentum, train):
    if train:
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = (x - mu) * inv_std
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        inv_std = 1.0 / np.sqrt(running_var + eps)
        x_hat = (x - running_mean) * inv_std
        running_mean, running_var = running_mean.copy(), running_var.copy()
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std), running_mean, running_var


def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
    return dx, dgamma, dbeta


def label_smoothing(y_onehot, eps):
    return (1 - eps) * y_onehot + eps / y_onehot.shape[1]


def mixup(x, y_onehot, lam, perm):
    return lam * x + (1 - lam) * x[perm], lam * y_onehot + (1 - lam) * y_onehot[perm]
