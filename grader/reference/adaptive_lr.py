"""Reference solutions of assignment 02 (adaptive learning rates)."""
import numpy as np


def adagrad_step(w, grad, G, lr, eps):
    G = G + grad**2
    return w - lr * grad / (np.sqrt(G) + eps), G


def rmsprop_step(w, grad, s, lr, rho, eps):
    s = rho * s + (1 - rho) * grad**2
    return w - lr * grad / (np.sqrt(s) + eps), s


def adadelta_step(w, grad, Eg2, Edx2, rho, eps):
    Eg2 = rho * Eg2 + (1 - rho) * grad**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grad
    Edx2 = rho * Edx2 + (1 - rho) * dx**2
    return w + dx, Eg2, Edx2


def adam_step(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
