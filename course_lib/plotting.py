"""The course's plotting vocabulary, so every trajectory and curve looks the same.

All helpers draw on a Matplotlib Axes you pass in; `figure` makes them and `show`
displays the result (and only closes it while grading, where nothing is displayed).
"""
import matplotlib.pyplot as plt
import numpy as np

from course_lib.runtime import is_grading


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 4.0):
    """A figure with a grid of axes; returns (fig, axes) with axes flattened to a 1-D array."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes.ravel()


def show(fig) -> None:
    """Display `fig` in the notebook; while grading, release it instead."""
    fig.tight_layout()
    if is_grading():
        plt.close(fig)
    else:
        plt.show()


def contours(ax, objective, levels: int = 30, resolution: int = 200) -> None:
    """Log-spaced contour lines of a 2-D `objective` over its xlim x ylim, and its minimum."""
    xs = np.linspace(*objective.xlim, resolution)
    ys = np.linspace(*objective.ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = np.array([[objective.loss((x, y)) for x in xs] for y in ys])
    lowest = Z.min()
    shifted = Z - lowest + 1e-3
    ax.contour(X, Y, shifted, levels=np.geomspace(shifted.min() * 1.01, shifted.max(), levels),
               colors="0.75", linewidths=0.7)
    ax.plot(*objective.minimum, marker="*", markersize=12, color="black", linestyle="none")
    ax.set_xlim(objective.xlim)
    ax.set_ylim(objective.ylim)
    ax.set_title(objective.name)


def paths(ax, runs: dict) -> None:
    """Draw each trajectory in `runs` (label -> array of shape (steps, 2)) with its start marked."""
    for label, path in runs.items():
        path = np.asarray(path)
        line, = ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, linewidth=1.2, label=label)
        ax.plot(path[0, 0], path[0, 1], marker="o", color=line.get_color())
    ax.legend(loc="best", fontsize="small")


def curves(ax, series: dict, xlabel: str = "step", ylabel: str = "loss", logy: bool = True) -> None:
    """Plot each curve in `series` (label -> 1-D values, or (x, values) pairs) against its index."""
    for label, values in series.items():
        if isinstance(values, tuple):
            ax.plot(*values, label=label)
        else:
            ax.plot(np.arange(len(values)), values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
