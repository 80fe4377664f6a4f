"""Numerical gradients: the independent check of any gradient you derive by hand."""
import numpy as np


def numerical_gradient(f, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function `f` at `w` (any shape).

    Each entry costs two evaluations of f: (f(w + h e_i) - f(w - h e_i)) / (2h).
    `w` is not modified.
    """
    w = np.array(w, dtype=float)
    grad = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[i] = h
        grad[i] = (f(w + step) - f(w - step)) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """max |a - b| / max(|a|, |b|), elementwise; 0 when both are zero."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
    return float(np.max(ratios))
