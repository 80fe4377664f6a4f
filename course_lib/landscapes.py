"""Loss landscapes with known curvature, handed to sharpness and power-iteration functions.

A quadratic loss(w) = offset + (w - minimum) @ hessian @ (w - minimum) / 2 has the Hessian
`hessian` everywhere, so what a curvature estimate should find is known exactly: its largest
eigenvalue, and r**2 * trace(hessian) / (2 d) for the mean rise over the sphere of radius r
around the minimum. Each function records in `log` (a list) the points it was evaluated at,
so a check can see where a student's code looked, not only what it returned. The checks hand
them to your function as wire Recipes (course_lib.wire): rebuilt from plain data where your
function runs.
"""
import numpy as np


def _point(w, minimum, log):
    w = np.array(w, dtype=float)
    if w.shape != minimum.shape:
        raise ValueError(f"this function takes a parameter vector of shape {minimum.shape}, got shape {w.shape}")
    log.append(w)
    return w - minimum


def quadratic_loss(hessian, minimum, offset, log):
    """loss(w) = offset + (w - minimum) @ hessian @ (w - minimum) / 2, a float; logs each w."""
    hessian, minimum = np.asarray(hessian, dtype=float), np.asarray(minimum, dtype=float)

    def loss(w):
        d = _point(w, minimum, log)
        return float(offset + 0.5 * d @ hessian @ d)
    return loss


def quadratic_gradient(hessian, minimum, log):
    """grad(w) = hessian @ (w - minimum), the gradient of quadratic_loss; logs each w."""
    hessian, minimum = np.asarray(hessian, dtype=float), np.asarray(minimum, dtype=float)

    def grad(w):
        return hessian @ _point(w, minimum, log)
    return grad


def symmetric_matrix(eigenvalues, rng: np.random.Generator) -> np.ndarray:
    """A symmetric matrix with the given eigenvalues and random (rotated) eigenvectors."""
    q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return (q * np.asarray(eigenvalues, dtype=float)) @ q.T
