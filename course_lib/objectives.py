"""Two-dimensional test functions for optimizers, each with its exact gradient.

Every objective maps parameters `w` of shape (2,) to a float, and its gradient maps
`w` to an array of shape (2,). `xlim` and `ylim` frame the interesting region for plots,
and `coordinates` names the two parameters on the plots' axes.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Objective:
    name: str
    loss: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    minimum: np.ndarray
    xlim: tuple
    ylim: tuple
    coordinates: tuple = ("w1", "w2")


def elongated_bowl(curvatures=(1.0, 10.0)) -> Objective:
    """f(w) = 0.5 * sum(c_i * w_i**2): a quadratic whose condition number is max(c)/min(c)."""
    c = np.asarray(curvatures, dtype=float)
    return Objective(
        name=f"bowl (condition number {c.max() / c.min():g})",
        loss=lambda w: 0.5 * float(np.sum(c * np.asarray(w) ** 2)),
        grad=lambda w: c * np.asarray(w, dtype=float),
        minimum=np.zeros(2),
        xlim=(-11.0, 11.0),
        ylim=(-4.0, 4.0),
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    """f(x, y) = (a - x)**2 + b * (y - x**2)**2: a curved, flat-bottomed valley; minimum (a, a**2)."""

    def loss(w):
        x, y = w
        return float((a - x) ** 2 + b * (y - x**2) ** 2)

    def grad(w):
        x, y = w
        return np.array([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)])

    return Objective("Rosenbrock", loss, grad, np.array([a, a**2]), (-2.0, 2.0), (-1.0, 3.0))


def saddle() -> Objective:
    """f(x, y) = x**2 + y**4/4 - y**2/2: a saddle point at the origin, minima at (0, +-1)."""

    def loss(w):
        x, y = w
        return float(x**2 + y**4 / 4 - y**2 / 2)

    def grad(w):
        x, y = w
        return np.array([2 * x, y**3 - y])

    return Objective("saddle", loss, grad, np.array([0.0, 1.0]), (-1.5, 1.5), (-1.6, 1.6), coordinates=("x", "y"))
