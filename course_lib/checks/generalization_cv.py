"""Visible checks of assignment 03 (generalization and cross-validation).

The graded functions that are random or take a model as an argument are checked by their
properties (coverage, disjointness, sizes, which rows reach `fit`, reproducibility from
`rng`), never against one random stream; early_stopping, which is deterministic, against
stored values. The `*_problem` functions return a sentence
saying what is wrong, or None; the hidden checks call them on more cases.

The instrumented models (`recording_model`) are not answers: they are stand-ins for a real
model that remember which rows they were fitted on and asked to predict.
"""
import numpy as np

from course_lib.checking import (MISTAKE_BLOCK, NOT_IMPLEMENTED, CheckFailed, check_against_fixture, companion,
                                 fresh_problem, generator_problem, index_coverage, invoke, named_mistake)
from course_lib.wire import Recipe

TOPIC = "generalization_cv"


def _passed(name, what):
    print(f"✓ {name} passes the visible checks ({what}). Grading runs more cases.")


def _raise_if(problem):
    if problem:
        raise CheckFailed(problem)


def check_train_val_test_split(train_val_test_split) -> None:
    _raise_if(split_problem(train_val_test_split, n=23, val_frac=0.3, test_frac=0.2, seed=0))
    _passed("train_val_test_split", "disjoint sets covering every row, sizes, shuffled, reproducible from rng")


def check_kfold_indices(kfold_indices) -> None:
    _raise_if(kfold_problem(kfold_indices, n=23, k=5, seed=0))
    _passed("kfold_indices", "folds disjoint and covering every row, sizes, training rows, reproducible from rng")


def check_cross_validate(cross_validate) -> None:
    _raise_if(cross_validate_problem(cross_validate, n=23, k=5, seed=0))
    _passed("cross_validate", "a fresh model per fold, no validation row reaches fit, the k losses")


def check_select_by_cv(select_by_cv) -> None:
    _raise_if(select_problem(select_by_cv, n=22, k=4, offsets=(0.9, -0.05, 0.5, -1.2), seed=0))
    _raise_if(select_problem(select_by_cv, n=15, k=3, offsets=(1.0, 0.0, 0.0), seed=1, labels=["a", "b", "c"]))
    _passed("select_by_cv", "same folds for every candidate, mean CV losses, the best candidate")


def check_early_stopping(early_stopping) -> None:
    """early_stopping(val_losses, patience) -> (stop_epoch, best_epoch) on one stored curve."""
    check_against_fixture(early_stopping, TOPIC, "early_stopping")


def check_bootstrap_indices(bootstrap_indices) -> None:
    _raise_if(bootstrap_problem(bootstrap_indices, n=40, seed=0))
    _raise_if(bootstrap_fresh_problem(bootstrap_indices, n=40, seed=0))
    _raise_if(bootstrap_reach_problem(bootstrap_indices, n=3, draws=100, seed=0))
    _passed("bootstrap_indices", "size, range, repeats, drawn from rng, a new sample on every call")


# --- helpers ------------------------------------------------------------------------------
def _int_vector(value):
    return isinstance(value, np.ndarray) and value.ndim == 1 and np.issubdtype(value.dtype, np.integer)


def _drawn_from_rng(fn, name, kwargs, *, seed, where, can_vary=True, unvarying=None):
    """`generator_problem`: the result is a function of rng's state alone. The mistake global_rng is
    named where `name` has it, and the mistake `unvarying` when the result is the same for every seed."""
    return generator_problem(fn, name, kwargs, seed=seed, where=where, can_vary=can_vary,
                             global_mistake=_maybe_named(name, "global_rng"),
                             unvarying_mistake=_maybe_named(name, unvarying) if unvarying else "")


def _contiguous(idx):
    return len(idx) == 0 or np.array_equal(np.sort(idx), np.arange(idx.min(), idx.min() + len(idx)))


# --- train_val_test_split -------------------------------------------------------------------
def split_problem(fn, n, val_frac, test_frac, seed):
    """What is wrong with fn's split of n rows, or None.

    Properties: three 1-D integer arrays (train, val, test), disjoint, covering range(n);
    round(val_frac * n) validation rows, round(test_frac * n) test rows, the rest training;
    shuffled (no set a block of consecutive rows for n >= 20; for fewer rows, not the same blocks for
    every seed), a function of rng's state alone (see `generator_problem`).
    """
    name = "train_val_test_split"
    where = f"For n={n}, val_frac={val_frac}, test_frac={test_frac}:"
    kwargs = dict(n=n, val_frac=val_frac, test_frac=test_frac)
    outcome = invoke(fn, dict(kwargs, rng=np.random.default_rng(seed)))
    if outcome.problem(name):
        return outcome.problem(name)
    result = outcome.result
    if not isinstance(result, (tuple, list)) or len(result) != 3 or not all(_int_vector(r) for r in result):
        return f"{name} should return three 1-D integer arrays (train_idx, val_idx, test_idx)."
    train, val, test = result
    outside, repeated, missing = index_coverage([train, val, test], n)
    if outside:
        return f"{where} some indices lie outside range(n)."
    if repeated:
        return (f"{where} some rows appear in more than one set (or twice in one).\n"
                + named_mistake(TOPIC, name, "overlap"))
    if missing:
        return f"{where} {missing} rows are in none of the three sets; every row must be used."
    want = (n - round(val_frac * n) - round(test_frac * n), round(val_frac * n), round(test_frac * n))
    got = (len(train), len(val), len(test))
    if got != want:
        message = f"{where} the sets have sizes {got} (train, val, test); the docstring's rounding gives {want}."
        if got[1:] == (int(val_frac * n), int(test_frac * n)):
            message += "\n" + named_mistake(TOPIC, name, "truncated_sizes")
        return message
    blocks = all(_contiguous(s) for s in (train, val, test))
    if n >= 20 and blocks:
        return f"{where} each set is a block of consecutive rows.\n" + named_mistake(TOPIC, name, "no_shuffle")
    return _drawn_from_rng(fn, name, kwargs, seed=seed, where=where, unvarying="no_shuffle" if blocks else None)


# --- kfold_indices -------------------------------------------------------------------------
def kfold_problem(fn, n, k, seed):
    """What is wrong with fn's k folds of n rows, or None.

    Properties: a list of k pairs (train_idx, val_idx) of 1-D integer arrays; the validation
    folds are disjoint, cover every row exactly once, and differ in size by at most one; each
    fold's training rows are exactly the rows outside its validation fold; shuffled (as for
    `split_problem`); a function of rng's state alone.
    """
    name = "kfold_indices"
    where = f"For n={n}, k={k}:"
    outcome = invoke(fn, dict(n=n, k=k, rng=np.random.default_rng(seed)))
    if outcome.problem(name):
        return outcome.problem(name)
    folds = outcome.result
    if not isinstance(folds, (list, tuple)) or not all(
            isinstance(f, (tuple, list)) and len(f) == 2 and _int_vector(f[0]) and _int_vector(f[1]) for f in folds):
        return f"{name} should return a list of (train_idx, val_idx) pairs of 1-D integer arrays."
    if len(folds) != k:
        return f"{where} {name} returned {len(folds)} folds instead of k."
    outside, repeated, missing = index_coverage([v for _, v in folds], n)
    if outside or index_coverage([t for t, _ in folds], n)[0]:
        return f"{where} some indices lie outside range(n)."
    if repeated:
        return (f"{where} some rows are in more than one validation fold.\n"
                + named_mistake(TOPIC, name, "overlapping_folds"))
    if missing:
        message = f"{where} {missing} rows are in no validation fold; each row must be validated exactly once."
        if missing == n % k:
            message += "\n" + named_mistake(TOPIC, name, "floor_fold_size")
        return message
    sizes = [len(v) for _, v in folds]
    if max(sizes) - min(sizes) > 1:
        return f"{where} the validation folds have sizes {sizes}; they should differ by at most one."
    for i, (train, val) in enumerate(folds):
        if np.intersect1d(train, val).size:
            return (f"{where} fold {i}'s training rows include some of its own validation rows.\n"
                    + named_mistake(TOPIC, name, "val_in_training"))
        if len(train) != len(np.unique(train)) or len(train) + len(val) != n:
            return (f"{where} fold {i} should train on every row outside its validation fold, each "
                    f"once ({n - len(val)} rows); it has {len(train)}.")
    blocks = all(_contiguous(v) for _, v in folds)
    if n >= 20 and blocks:
        return f"{where} every validation fold is a block of consecutive rows.\n" + named_mistake(TOPIC, name, "no_shuffle")
    return _drawn_from_rng(fn, name, dict(n=n, k=k), seed=seed, where=where,
                           unvarying="no_shuffle" if blocks else None)


# --- instrumented models ---------------------------------------------------------------------
def labelled_rows(n, seed):
    """A data set whose first column is the row number, so a model can tell which rows it sees."""
    rng = np.random.default_rng(1000 + seed)
    X = np.column_stack([np.arange(n, dtype=float), rng.standard_normal(n)])
    return X, rng.standard_normal(n)


def squared_error(y_true, y_pred):
    return float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))


def recording_model(X_all, y_all, log, offset=0.0, tag=None):
    """fit(X, y) -> predict, a tiny model (mean of the training targets + offset + 0.3 x) that
    appends to `log` one record per fit: {"tag", "offset", "train" (row numbers), "predicted"
    (row numbers of every predict call)}. It refuses X and y whose rows do not match.

    The checks read only the row numbers from a record and recompute the predictions
    (`model_outputs`): under `course grade` the model runs in the student's kernel, so its
    record is what they can check, not what they trust."""
    def fit(X, y):
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        rows = X[:, 0].astype(int)
        if len(rows) != len(y) or not np.array_equal(y, y_all[rows]):
            raise CheckFailed("fit received X and y whose rows do not match: index both with the same rows.")
        record = {"tag": tag, "offset": offset, "train": rows, "predicted": []}
        log.append(record)
        level = float(np.mean(y)) + offset

        def predict(X_new):
            X_new = np.asarray(X_new, dtype=float)
            record["predicted"].append(X_new[:, 0].astype(int))
            return level + 0.3 * X_new[:, 1]
        return predict
    return fit


def candidate_models(X_all, y_all, log):
    """make_fit(candidate) for candidates (tag, offset): a recording model per candidate."""
    return lambda candidate: recording_model(X_all, y_all, log, offset=candidate[1], tag=candidate[0])


def model_outputs(record, X_all, y_all) -> list:
    """The predictions a recorded model made, one array per predict call, recomputed from its rows."""
    level = float(np.mean(y_all[record["train"]])) + record["offset"]
    return [level + 0.3 * X_all[rows, 1] for rows in record["predicted"]]


def _maybe_named(name, key):
    """"\n" + the named mistake `key` of `name`, or "" when `name` has no such mistake."""
    try:
        return "\n" + named_mistake(TOPIC, name, key)
    except KeyError:
        return ""


def _fold_problems(records, n, where, name, what="each fold"):
    """Problems with the fits in `records`: leaks, coverage, training on the rest; or None."""
    for r in records:
        if not r["predicted"]:
            return f"{where} a model was fitted but never used to predict: {what} should predict its validation rows."
    val_sets = [np.concatenate(r["predicted"]) for r in records]
    for r, val in zip(records, val_sets):
        if np.intersect1d(r["train"], val).size:
            return (f"{where} a model predicted rows it was fitted on: a validation row reached fit."
                    + _maybe_named(name, "val_in_training"))
    for r, val in zip(records, val_sets):
        if len(r["train"]) < len(val):
            return (f"{where} each model was fitted on fewer rows than it was judged on."
                    + _maybe_named(name, "swapped"))
    counts = np.bincount(np.concatenate(val_sets), minlength=n)
    if np.any(counts > 1):
        return f"{where} some rows were validated by more than one model; the folds must be disjoint."
    if np.any(counts == 0):
        missing = int(np.sum(counts == 0))
        message = f"{where} {missing} rows were never validated."
        if missing == n % len(records):
            message += _maybe_named(name, "floor_fold_size")
        return message
    sizes = [len(v) for v in val_sets]
    if max(sizes) - min(sizes) > 1:
        return f"{where} the validation folds have sizes {sizes}; they should differ by at most one."
    for r, val in zip(records, val_sets):
        if len(np.unique(r["train"])) != n - len(val) or len(r["train"]) != n - len(val):
            return f"{where} a model was not fitted on exactly the rows outside its validation fold."
    return None


def _losses_of(records, X, y):
    return np.array([squared_error(y[np.concatenate(r["predicted"])], np.concatenate(model_outputs(r, X, y)))
                     for r in records])


# --- cross_validate ----------------------------------------------------------------------------
def cross_validate_problem(fn, n, k, seed):
    """What is wrong with fn's k-fold cross-validation on an instrumented model, or None.

    Properties: fit is called k times (a fresh model per fold), each model predicts only rows it
    was not fitted on, the validation rows of the k models are disjoint and cover every row, with
    sizes differing by at most one, and each model trains on all the other rows; the result is the
    k validation losses in the order the models were fitted; the folds come from rng alone.
    When the student's own kfold_indices is wrong, the problem says so (see `_blame_kfold`).
    """
    log = []
    problem = _cross_validate_problem(fn, n, k, seed, log)
    return _blame_kfold(fn, "cross_validate", problem, log, n, k, seed)


def _cross_validate_problem(fn, n, k, seed, log):
    name = "cross_validate"
    where = f"For n={n}, k={k}:"
    X, y = labelled_rows(n, seed)
    outcome = invoke(fn, dict(fit=Recipe(recording_model, dict(X_all=X, y_all=y), log), loss=squared_error, X=X, y=y, k=k,
                              rng=np.random.default_rng(seed)))
    if outcome.problem(name):
        return outcome.problem(name)
    if len(log) == 1 and k > 1:
        return (f"{where} fit was called once instead of k times.\n" + named_mistake(TOPIC, name, "fit_once"))
    if len(log) != k:
        return f"{where} fit was called {len(log)} times; each of the k folds must fit a fresh model."
    problem = _fold_problems(log, n, where, name)
    if problem:
        return problem
    result = outcome.result
    if np.ndim(result) == 0 and isinstance(result, (float, np.floating)):
        return (f"{where} {name} returned one number.\n" + named_mistake(TOPIC, name, "returns_mean"))
    if not isinstance(result, np.ndarray) or result.shape != (k,) or not np.issubdtype(result.dtype, np.floating):
        return f"{where} {name} should return a float array of shape ({k},), one loss per fold."
    if not np.allclose(result, _losses_of(log, X, y), rtol=1e-9, atol=0):
        return (f"{where} the returned losses are not loss(y_val, predictions) of the k models, in the "
                "order the models were fitted.")
    factory = lambda: Recipe(recording_model, dict(X_all=X, y_all=y))
    return _drawn_from_rng(lambda **kw: fn(fit=factory(), loss=squared_error, X=X, y=y, **kw), name,
                           dict(k=k), seed=seed, where=where)


# --- select_by_cv ---------------------------------------------------------------------------------
def select_problem(fn, n, k, offsets, seed, labels=None):
    """What is wrong with fn's choice among candidates (label, offset) on an instrumented model.

    Properties: each candidate is scored by k fresh fits on the same k folds (the same for every
    candidate), with no validation row reaching fit; scores[i] is candidate i's mean validation
    loss over the folds; the best candidate is the one with the lowest score (the first on ties).
    When the student's own kfold_indices is wrong, the problem says so (see `_blame_kfold`).
    """
    labels = labels or [f"c{i}" for i in range(len(offsets))]
    log = []
    problem = _select_problem(fn, n, k, offsets, seed, labels, log)
    return _blame_kfold(fn, "select_by_cv", problem, [r for r in log if r["tag"] == labels[0]], n, k, seed)


def _select_problem(fn, n, k, offsets, seed, labels, log):
    name = "select_by_cv"
    candidates = list(zip(labels, offsets))
    where = f"For {len(candidates)} candidates, n={n}, k={k}:"
    X, y = labelled_rows(n, seed)
    make_fit = Recipe(candidate_models, dict(X_all=X, y_all=y), log)
    outcome = invoke(fn, dict(candidates=candidates, make_fit=make_fit, loss=squared_error, X=X, y=y, k=k,
                              rng=np.random.default_rng(seed)))
    if outcome.problem(name):
        return outcome.problem(name)
    result = outcome.result
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return f"{name} should return two values (best_candidate, scores)."
    best, scores = result
    per = {label: [r for r in log if r["tag"] == label] for label in labels}
    if all(len(per[label]) == 1 for label in labels) and k > 1:
        return (f"{where} each candidate was fitted once instead of k times.\n"
                + named_mistake(TOPIC, name, "training_loss"))
    for label in labels:
        if len(per[label]) != k:
            return f"{where} candidate {label} was fitted {len(per[label])} times instead of k = {k}."
        problem = _fold_problems(per[label], n, where, name, what="each fit")
        if problem:
            return problem
    partitions = {label: sorted(tuple(sorted(np.concatenate(r["predicted"]))) for r in per[label]) for label in labels}
    if any(partitions[label] != partitions[labels[0]] for label in labels):
        return (f"{where} the candidates were scored on different folds.\n"
                + named_mistake(TOPIC, name, "different_folds"))
    if not isinstance(scores, np.ndarray) or scores.shape != (len(candidates),) or not np.issubdtype(scores.dtype, np.floating):
        return f"{where} scores should be a float array of shape ({len(candidates)},), one per candidate."
    want = np.array([np.mean(_losses_of(per[label], X, y)) for label in labels])
    if not np.allclose(scores, want, rtol=1e-9, atol=0):
        if np.allclose(scores, k * want, rtol=1e-9, atol=0):
            return f"{where} the scores are not the mean losses.\n" + named_mistake(TOPIC, name, "sum_not_mean")
        return f"{where} scores[i] should be candidate i's mean validation loss over the k folds."
    first = int(np.argmin(want))
    if isinstance(best, (int, np.integer)) and not isinstance(best, bool):
        return f"{where} best is a number, not a candidate.\n" + named_mistake(TOPIC, name, "index_not_candidate")
    if not (isinstance(best, tuple) and best == candidates[first]):
        if isinstance(best, tuple) and best == candidates[int(np.argmax(want))]:
            return f"{where} the chosen candidate has the largest loss.\n" + named_mistake(TOPIC, name, "argmax")
        tied = [candidates[i] for i in np.flatnonzero(want == want[first])]
        if best in tied:
            return f"{where} among tied candidates, not the first was chosen.\n" + named_mistake(TOPIC, name, "last_on_ties")
        return f"{where} the chosen candidate is not the one with the lowest score."
    return _drawn_from_rng(lambda **kw: fn(candidates=candidates, make_fit=Recipe(candidate_models, dict(X_all=X, y_all=y)),
                                           loss=squared_error, X=X, y=y, **kw),
                           name, dict(k=k), seed=seed, where=where)


def _blame_kfold(fn, name, problem, records, n, k, seed):
    """`problem`, saying so when the folds come from the student's own kfold_indices and it is wrong.

    The docstrings ask for folds "as kfold_indices draws them", so a right cross_validate or
    select_by_cv that calls a wrong kfold_indices fails too. When the models in `records` were
    fitted and validated on exactly the folds kfold_indices(n, k, rng) returns, the fault is
    kfold_indices's: the problem says so, without naming a mistake of `name`. Otherwise a wrong
    kfold_indices is mentioned as a possible cause."""
    if problem is None or problem.startswith(f"{name} {NOT_IMPLEMENTED}"):
        return problem
    kfold = companion(fn, "kfold_indices")
    wrong = kfold_problem(kfold, n, k, seed) if kfold is not None else None
    if wrong is None or wrong.startswith(f"kfold_indices {NOT_IMPLEMENTED}"):
        return problem
    wrong = MISTAKE_BLOCK.sub("", wrong).strip().removeprefix(f"For n={n}, k={k}: ")
    drawn = invoke(kfold, dict(n=n, k=k, rng=np.random.default_rng(seed))).result
    if _validated_on(records, drawn):
        return (MISTAKE_BLOCK.sub("", problem).strip() + f"\nThese are the folds your kfold_indices draws, and "
                f"kfold_indices is wrong: {wrong}\nFix kfold_indices first: {name} is right to draw its folds "
                "with it.")
    return (problem + f"\nYour kfold_indices is wrong too: {wrong}\nIf {name} draws its folds with it, fix "
            "kfold_indices first.")


def _validated_on(records, folds) -> bool:
    """Whether the models in `records` were fitted and validated, in order, on the rows of `folds`."""
    try:
        wanted = [(np.sort(np.ravel(train)), np.sort(np.ravel(val))) for train, val in folds]
        used = [(np.sort(r["train"]), np.sort(np.concatenate(r["predicted"]))) for r in records]
    except Exception:  # whatever kfold_indices returned, it is not k folds
        return False
    return len(used) == len(wanted) and all(np.array_equal(u, w) for pair, other in zip(used, wanted)
                                            for u, w in zip(pair, other))


# --- bootstrap_indices -------------------------------------------------------------------------------
def bootstrap_problem(fn, n, seed):
    """What is wrong with fn's bootstrap sample of n rows, or None.

    Properties: a 1-D integer array of n indices in range(n), with repeats (for n >= 20), a
    function of rng's state alone (see `generator_problem`).
    """
    name = "bootstrap_indices"
    where = f"For n={n}:"
    outcome = invoke(fn, dict(n=n, rng=np.random.default_rng(seed)))
    if outcome.problem(name):
        return outcome.problem(name)
    sample = outcome.result
    if not _int_vector(sample):
        return f"{name} should return a 1-D integer array."
    if len(sample) != n:
        return f"{where} the sample holds {len(sample)} indices; a bootstrap sample has n."
    if np.any((sample < 0) | (sample >= n)):
        return f"{where} some indices lie outside range(n)."
    if n >= 20 and len(np.unique(sample)) == n:
        return f"{where} every row appears exactly once.\n" + named_mistake(TOPIC, name, "permutation")
    # below 5 rows, a sample that is the same for every seed may also be one that never draws the last row
    return _drawn_from_rng(fn, name, dict(n=n), seed=seed, where=where, can_vary=n >= 2,
                           unvarying="fixed_seed" if n >= 5 else None)


def bootstrap_fresh_problem(fn, n, seed):
    """What is wrong when two calls with one generator give the same sample of n rows, or None:
    the docstring asks for a new sample on every call."""
    return fresh_problem(fn, "bootstrap_indices", dict(n=n), seed=seed, where=f"For n={n}:", what="sample")


def bootstrap_reach_problem(fn, n, draws, seed):
    """What is wrong when `draws` samples of n rows, each from its own generator, never reach some row, or None."""
    name = "bootstrap_indices"
    seen = np.zeros(n, dtype=bool)
    samples = set()
    for draw in range(draws):
        outcome = invoke(fn, dict(n=n, rng=np.random.default_rng([seed, draw])))
        if outcome.problem(name):
            return outcome.problem(name)
        sample = np.asarray(outcome.result)
        if sample.shape != (n,) or not np.issubdtype(sample.dtype, np.integer) or np.any((sample < 0) | (sample >= n)):
            return f"{name} should return n integer indices in range(n)."
        seen[sample] = True
        samples.add(tuple(sample.tolist()))
    if len(samples) == 1:
        return f"For n={n}: {draws} generators with different seeds all gave the same sample: draw it from `rng`."
    if not seen.all():
        message = (f"For n={n}: in {draws} samples, each from its own generator, rows "
                   f"{np.flatnonzero(~seen).tolist()} were never drawn.")
        if not seen[-1] and seen[:-1].all():
            message += "\n" + named_mistake(TOPIC, name, "excludes_last")
        return message
    return None
