"""Small, fast models for the generalization assignments (03, 04): polynomial and ridge
regression in closed form on one input variable, and a curve-fitting data set.

None of these is a graded function; the notebooks use them as the models that the graded
procedures (splitting, cross-validation, bias-variance measurement, bagging) work on.
"""
import numpy as np


def true_curve(x):
    """The noiseless target used throughout: a smooth wiggle on [-1, 1]."""
    x = np.asarray(x, dtype=float)
    return np.sin(3.0 * x) + 0.5 * x


def make_curve_data(n: int, noise: float, rng: np.random.Generator, f=true_curve):
    """n inputs drawn uniformly on [-1, 1] and noisy targets f(x) + noise * N(0, 1).

    Returns x (n,) and y (n,).
    """
    x = rng.uniform(-1.0, 1.0, n)
    return x, f(x) + noise * rng.standard_normal(n)


def polynomial_features(x, degree: int):
    """Legendre features P_0(x), ..., P_degree(x) of inputs in [-1, 1]: shape (n, degree + 1).

    Legendre polynomials span the same functions as 1, x, ..., x**degree but are far better
    conditioned, so high degrees stay numerically harmless.
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    return np.polynomial.legendre.legvander(x, degree)


def ridge_weights(features, y, ridge: float = 0.0):
    """Weights minimising |features @ w - y|**2 + ridge * |w|**2 (least squares when ridge = 0)."""
    features = np.asarray(features, dtype=float)
    if ridge > 0:
        p = features.shape[1]
        features = np.vstack([features, np.sqrt(ridge) * np.eye(p)])
        y = np.concatenate([y, np.zeros(p)])
    return np.linalg.lstsq(features, y, rcond=None)[0]


def polynomial_fit(degree: int, ridge: float = 0.0):
    """A `fit(x, y) -> predict` function for polynomial (ridge) regression of the given degree.

    `fit` solves the least-squares problem in closed form; the returned `predict(x_new)`
    evaluates the fitted polynomial. This is the shape of model every procedure in
    assignments 03 and 04 expects.
    """
    def fit(x, y):
        w = ridge_weights(polynomial_features(x, degree), np.asarray(y, dtype=float), ridge)
        return lambda x_new: polynomial_features(x_new, degree) @ w
    return fit


def mse(y_true, y_pred) -> float:
    """Mean squared error, a float."""
    return float(np.mean((np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)) ** 2))


def make_spread_data(n: int, noise: float, rng: np.random.Generator, f=true_curve, jitter: float = 1.0):
    """n inputs spread evenly over [-1, 1], each moved at random by up to jitter/2 grid spacings
    (clipped to [-1, 1]), and noisy targets f(x) + noise * N(0, 1). Returns x (n,) and y (n,).

    Unlike uniformly random inputs, no training set leaves a wide gap, so a flexible polynomial
    never has to extrapolate far: its variance over training sets stays finite and measurable.
    """
    spacing = 2.0 / (n - 1)
    x = np.clip(np.linspace(-1.0, 1.0, n) + jitter * spacing * rng.uniform(-0.5, 0.5, n), -1.0, 1.0)
    return x, f(x) + noise * rng.standard_normal(n)
