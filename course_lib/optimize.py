"""Run an update rule for a number of steps and record where it went."""
import numpy as np


def run_updates(update, w0, grad, n_steps: int, state=None, loss=None):
    """Apply `update` n_steps times from w0.

    `update(w, g, state) -> (w_new, state_new)` wraps one of the step functions you
    write (for example `lambda w, g, v: momentum_step(w, g, v, lr=0.01, beta=0.9)`);
    `grad(w)` returns the gradient at w. `state` starts as zeros like w when None.

    Returns `path` of shape (n_steps + 1, *w0.shape) and, when `loss` is given,
    `losses` of shape (n_steps + 1,); otherwise `losses` is None. A run that
    overflows stops early and its path ends where the numbers were still finite.
    """
    w = np.array(w0, dtype=float)
    state = np.zeros_like(w) if state is None else state
    path = [w]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            w, state = update(w, grad(w), state)
            if not np.all(np.isfinite(w)):
                break
            path.append(np.array(w, dtype=float))
    path = np.array(path)
    losses = None if loss is None else np.array([loss(p) for p in path])
    return path, losses
