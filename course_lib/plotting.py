"""The course's plotting vocabulary, so every trajectory and curve looks the same.

All helpers draw on a Matplotlib Axes you pass in; `figure` makes them and `show`
displays the result. While grading nothing is displayed, so figures cost next to nothing there:
one small Axes stands in for a whole grid (made ahead of time by a grading kernel's fork server,
see `make_spares`), the drawing helpers (contours, paths, path_panels, curves,
add_legend, histogram) return at once, and `show` only closes.
"""
import functools

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np

from course_lib.runtime import is_grading


def _drawn_only_when_displayed(draw):
    """`draw` does nothing while grading, where no figure is displayed."""
    @functools.wraps(draw)
    def draw_unless_grading(*args, **kwargs):
        if not is_grading():
            draw(*args, **kwargs)
    return draw_unless_grading


_spares = []        # blank (Figure, Axes) pairs made before any notebook ran, for `figure` while grading


def make_spares(count: int) -> None:
    """Make `count` blank figures for `figure` to hand out while grading, one per call. A grading
    kernel's fork server makes them once, before it forks any kernel: each kernel starts with
    copies of its own, and spends nothing on the first `count` figures of its notebook."""
    from matplotlib.figure import Figure

    for _ in range(count):
        fig = Figure()
        _spares.append((fig, fig.add_subplot()))


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 4.0):
    """A figure with a grid of axes; returns (fig, axes) with axes flattened to a 1-D array.

    While grading, one Axes stands in for every cell of the grid (the figure is never shown).
    """
    if is_grading():
        fig, ax = _spares.pop() if _spares else plt.subplots()
        return fig, np.array([ax] * (ncols * nrows), dtype=object)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes.ravel()


def show(fig) -> None:
    """Display `fig` in the notebook; while grading, release it unlaid and undrawn instead."""
    if is_grading():
        plt.close(fig)
    else:
        fig.tight_layout()
        plt.show()


@_drawn_only_when_displayed
def contours(axes, objective, levels: int = 30, resolution: int = 200) -> None:
    """Log-spaced contour lines of a 2-D `objective` over its xlim x ylim, its minimum and axis labels.

    `axes` is one Axes or several (small multiples): the grid of losses is computed once for all.
    """
    xs = np.linspace(*objective.xlim, resolution)
    ys = np.linspace(*objective.ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = np.array([[objective.loss((x, y)) for x in xs] for y in ys])
    shifted = Z - Z.min() + 1e-3
    for ax in np.atleast_1d(axes):
        ax.contour(X, Y, shifted, levels=np.geomspace(shifted.min() * 1.01, shifted.max(), levels),
                   colors="0.75", linewidths=0.7)
        ax.plot(*objective.minimum, marker="*", markersize=12, color="black", linestyle="none")
        ax.set_xlim(objective.xlim)
        ax.set_ylim(objective.ylim)
        ax.set_xlabel(objective.coordinates[0])
        ax.set_ylabel(objective.coordinates[1])
        ax.set_title(objective.name)


@_drawn_only_when_displayed
def paths(ax, runs: dict, color=None, legend: bool = True) -> None:
    """Draw each trajectory in `runs` (label -> array of shape (steps, 2)) with its start marked."""
    for label, path in runs.items():
        path = np.asarray(path)
        line, = ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, linewidth=1.2, label=label, color=color)
        ax.plot(path[0, 0], path[0, 1], marker="o", color=line.get_color())
    if legend:
        add_legend(ax)


@_drawn_only_when_displayed
def path_panels(axes, objective, runs: dict) -> None:
    """Small multiples: trajectory i of `runs` (label -> (steps, 2) array) alone on axes[i], over the
    contours of `objective`, titled with its label and drawn in colour Ci, the colour `curves` gives
    the i-th series, so a method keeps its colour from the panels to the loss curves."""
    axes = list(axes)[:len(runs)]
    contours(axes, objective)
    for i, (ax, (label, path)) in enumerate(zip(axes, runs.items())):
        paths(ax, {label: path}, color=f"C{i}", legend=False)
        ax.set_title(label, fontsize="medium")


@_drawn_only_when_displayed
def curves(ax, series: dict, xlabel: str = "step", ylabel: str = "loss", logy: bool = True,
           legend: bool = True) -> None:
    """Plot each curve in `series` (label -> 1-D values, or (x, values) pairs) against its index;
    `legend=False` leaves the labels to a legend elsewhere (small multiples share one)."""
    for label, values in series.items():
        if isinstance(values, tuple):
            ax.plot(*values, label=label)
        else:
            ax.plot(np.arange(len(values)), values, label=label)
    if logy:
        ax.set_yscale("log")
        readable_log_ticks(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        add_legend(ax)


@_drawn_only_when_displayed
def add_legend(ax, loc="best", **options) -> None:
    """The legend of the labelled lines on `ax`, in small type; `options` go to Axes.legend."""
    ax.legend(loc=loc, fontsize="small", **options)


@_drawn_only_when_displayed
def histogram(ax, values, bins, logy: bool = False) -> None:
    """A histogram of `values` over the bin edges `bins`, counts on a log scale with readable ticks when
    `logy`."""
    ax.hist(values, bins=bins)
    if logy:
        ax.set_yscale("log")
        readable_log_ticks(ax.yaxis)


def _span(axis) -> float:
    """How many times larger the top of a log axis is than its bottom (inf when not positive)."""
    low, high = sorted(axis.get_view_interval())
    return high / low if low > 0 else np.inf


class _ReadableLogLocator(ticker.LogLocator):
    """Matplotlib's log ticks, except on an axis spanning less than a factor of 10, which may hold no
    power of ten at all: there evenly spaced round values (0.5, 1, 1.5)."""

    def tick_values(self, vmin, vmax):
        if 0 < vmin < vmax < 10 * vmin:
            return ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)
        return super().tick_values(vmin, vmax)


class _ReadableLogFormatter(ticker.LogFormatterSciNotation):
    """Matplotlib's log labels, except on an axis spanning less than a factor of 100: there plain
    numbers (0.2, 0.5, 1, 2) rather than 2 x 10^-1, at the major ticks, and at the minor ticks at 2,
    3 and 5 times a power of ten when the axis spans more than a factor of 10."""

    def __init__(self, minor: bool = False):
        super().__init__(labelOnlyBase=not minor, minor_thresholds=(1, 0.4))
        self.minor = minor

    def __call__(self, value, pos=None):
        span = _span(self.axis)
        if span >= 100:
            return super().__call__(value, pos)
        if self.minor and (span < 10 or f"{value:.0e}"[0] not in "235"):
            return ""
        return f"{value:.3g}"


def readable_log_ticks(axis) -> None:
    """Give a log-scaled `axis` (ax.yaxis, ax.xaxis) ticks and labels a reader can read at any span."""
    axis.set_major_locator(_ReadableLogLocator())
    axis.set_major_formatter(_ReadableLogFormatter())
    axis.set_minor_formatter(_ReadableLogFormatter(minor=True))
