"""Synthetic data sets, made on the fly from a seeded `numpy.random.Generator`."""
import numpy as np


def make_linear_regression(n: int, d: int, noise: float, rng: np.random.Generator, scales=None):
    """Draw a noisy linear regression problem.

    Returns X (n, d), y (n,) and the true weights w_true (d,), with
    y = X @ w_true + noise * standard normal. `scales` (d,) stretches the feature
    columns (badly scaled features make the loss an elongated bowl).
    """
    X = rng.standard_normal((n, d))
    if scales is not None:
        X = X * np.asarray(scales, dtype=float)
    w_true = rng.standard_normal(d)
    y = X @ w_true + noise * rng.standard_normal(n)
    return X, y, w_true
