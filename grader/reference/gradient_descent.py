"""Reference solutions of assignment 01 (gradient descent)."""
import numpy as np


def mse_loss_grad(w, X, y):
    residual = X @ w - y
    loss = np.mean(residual**2)
    grad = 2.0 / X.shape[0] * (X.T @ residual)
    return loss, grad


def gd_step(w, grad, lr):
    return w - lr * grad


def minibatch_indices(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def momentum_step(w, grad, velocity, lr, beta):
    velocity = beta * velocity + grad
    return w - lr * velocity, velocity


def nesterov_step(w, grad, velocity, lr, beta):
    velocity = beta * velocity + grad
    return w - lr * (grad + beta * velocity), velocity
