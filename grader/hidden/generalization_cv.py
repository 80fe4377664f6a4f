"""Hidden checks of assignment 03 (generalization and cross-validation).

The random functions are judged by properties (ByProperties), using the problem functions of
course_lib.checks.generalization_cv on more cases than the visible check: they cannot be
judged by one random stream. early_stopping is deterministic and judged by its values
against the reference (ByReference), on curves chosen so that every catalogued mistake
gives another answer.
"""
import numpy as np

from course_lib.checking import invoke
from course_lib.checks.generalization_cv import (bootstrap_fresh_problem, bootstrap_problem,
                                                 bootstrap_reach_problem, cross_validate_problem, kfold_problem,
                                                 select_problem, split_problem)
from grader.checks.specs import ByProperties, ByReference, Case


def _differ(a, b):
    if isinstance(a, (list, tuple)):
        return len(a) != len(b) or any(_differ(x, y) for x, y in zip(a, b))
    return not np.array_equal(np.asarray(a), np.asarray(b))


def _seeds_differ(name, kwargs):
    def check(fn):
        if not _differ(invoke(fn, dict(kwargs, rng=np.random.default_rng(1))).value(name),
                       invoke(fn, dict(kwargs, rng=np.random.default_rng(2))).value(name)):
            return "generators with different seeds gave the same result: the randomness must come from rng."
        return None
    return check


def _unique_fraction(fn):
    n = 5000
    sample = np.asarray(invoke(fn, dict(n=n, rng=np.random.default_rng(7))).value("bootstrap_indices"))
    fraction = len(np.unique(sample)) / n
    if not 0.60 <= fraction <= 0.665:
        return (f"a bootstrap sample of n={n} rows should contain about 1 - 1/e = 63% distinct rows; "
                f"yours has {fraction:.0%}: draw each index uniformly from range(n), with replacement.")
    return None


SPLITS = [(23, 0.3, 0.2), (100, 0.15, 0.15), (37, 0.2, 0.25), (61, 0.33, 0.17), (10, 0.1, 0.1), (1000, 0.1, 0.2)]
FOLDS = [(23, 5), (20, 4), (10, 10), (7, 2), (100, 7), (50, 3)]
CV = [(23, 5), (30, 3), (12, 12), (41, 4)]
SELECT = [
    (22, 4, (0.9, -0.05, 0.5, -1.2), None),
    (30, 5, (-0.4, 0.0, 0.3), None),
    (25, 3, (1.5, 0.0, 0.0, -2.0), ["wide", "first", "tied", "low"]),
    (40, 10, (0.2, -0.1, 0.05, 0.7, -0.6), None),
]
EARLY = [
    ("validation curve with a later, unreached minimum", [5.0, 3.0, 2.5, 2.6, 2.4, 2.45, 2.5, 2.7, 2.2, 2.9, 3.0], 3),
    ("loss rising steadily after its minimum", [3.0, 2.0, 1.0, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0], 2),
    ("zig-zag that never beats the best", [3.0, 2.0, 2.5, 2.2, 2.6, 2.3, 2.7, 2.4, 2.8], 2),
    ("tied lowest losses", [3.0, 2.0, 2.0, 2.5, 2.6, 2.7], 3),
    ("still improving at the end", [4.0, 3.0, 2.5, 2.0, 1.8, 1.7], 2),
    ("patience 1", [2.0, 1.0, 1.2, 0.5, 0.4], 1),
    ("a single epoch", [1.0], 5),
    ("float32 noisy curve", list(np.float32(1 + (np.arange(40) - 15.0) ** 2 / 200
                                            + 0.05 * np.sin(np.arange(40) * 2.1))), 4),
]


SPECS = {
    "train_val_test_split": ByProperties(checks=[
        (f"n={n}, val_frac={v}, test_frac={t}", lambda fn, n=n, v=v, t=t, s=s: split_problem(fn, n, v, t, seed=s))
        for s, (n, v, t) in enumerate(SPLITS)] + [
        ("different seeds give different splits", _seeds_differ("train_val_test_split",
                                                                dict(n=50, val_frac=0.2, test_frac=0.2))),
    ]),
    "kfold_indices": ByProperties(checks=[
        (f"n={n}, k={k}", lambda fn, n=n, k=k, s=s: kfold_problem(fn, n, k, seed=s)) for s, (n, k) in enumerate(FOLDS)] + [
        ("different seeds give different folds", _seeds_differ("kfold_indices", dict(n=30, k=3))),
    ]),
    "cross_validate": ByProperties(checks=[
        (f"instrumented model, n={n}, k={k}", lambda fn, n=n, k=k, s=s: cross_validate_problem(fn, n, k, seed=s))
        for s, (n, k) in enumerate(CV)]),
    "select_by_cv": ByProperties(checks=[
        (f"{len(o)} candidates, n={n}, k={k}" + (", with a tie" if labels else ""),
         lambda fn, n=n, k=k, o=o, labels=labels, s=s: select_problem(fn, n, k, o, seed=s, labels=labels))
        for s, (n, k, o, labels) in enumerate(SELECT)]),
    "early_stopping": ByReference(
        outputs=("stop_epoch", "best_epoch"),
        cases=[Case(label, dict(val_losses=np.array(losses, dtype=type(losses[0])), patience=p))
               for label, losses, p in EARLY],
        # a tie for the best, a lower loss after the stop, and a rise-then-dip before it, so
        # that every catalogued mistake gives another answer
        visible=dict(val_losses=np.array([3.0, 2.0, 2.5, 2.0, 2.2, 2.1, 2.3, 1.5]), patience=3),
    ),
    "bootstrap_indices": ByProperties(checks=[
        (f"n={n}", lambda fn, n=n, s=s: bootstrap_problem(fn, n, seed=s)) for s, n in enumerate([40, 1, 2, 100, 1000])] + [
        ("every row can be drawn", lambda fn: bootstrap_reach_problem(fn, n=3, draws=200, seed=11)),
        ("about 63% distinct rows", _unique_fraction),
        ("one generator gives a fresh sample on every call", lambda fn: bootstrap_fresh_problem(fn, n=50, seed=3)),
    ]),
}
