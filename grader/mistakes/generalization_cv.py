"""Catalogued mistakes of assignment 03 (generalization and cross-validation).

Each implementation is a self-contained function with the graded function's signature
(only `np` is used), so that it can be dropped into a submission.
"""
import numpy as np

from grader.checks.specs import Mistake


# --- train_val_test_split -------------------------------------------------------------
def split_no_shuffle(n, val_frac, test_frac, rng):
    n_val, n_test = round(val_frac * n), round(test_frac * n)
    order = np.arange(n)
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]


def split_overlap(n, val_frac, test_frac, rng):
    n_val, n_test = round(val_frac * n), round(test_frac * n)
    val = rng.choice(n, n_val, replace=False)
    test = rng.choice(n, n_test, replace=False)
    train = np.setdiff1d(np.arange(n), np.concatenate([val, test]))
    return train, val, test


def split_truncated(n, val_frac, test_frac, rng):
    n_val, n_test = int(val_frac * n), int(test_frac * n)
    order = rng.permutation(n)
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]


def split_global_rng(n, val_frac, test_frac, rng):
    n_val, n_test = round(val_frac * n), round(test_frac * n)
    order = np.random.permutation(n)
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]


# --- kfold_indices ----------------------------------------------------------------------
def kfold_floor(n, k, rng):
    order = rng.permutation(n)
    size = n // k
    folds = [order[i * size:(i + 1) * size] for i in range(k)]
    return [(np.setdiff1d(order, folds[i]), folds[i]) for i in range(k)]


def kfold_overlap(n, k, rng):
    size = int(np.ceil(n / k))
    folds = [rng.choice(n, size, replace=False) for _ in range(k)]
    return [(np.setdiff1d(np.arange(n), f), f) for f in folds]


def kfold_leak(n, k, rng):
    folds = np.array_split(rng.permutation(n), k)
    return [(np.arange(n), folds[i]) for i in range(k)]


def kfold_no_shuffle(n, k, rng):
    folds = np.array_split(np.arange(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


def kfold_global_rng(n, k, rng):
    folds = np.array_split(np.random.permutation(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


# --- cross_validate ---------------------------------------------------------------------
def cv_fit_once(fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    predict = fit(X, y)
    return np.array([loss(y[val], predict(X[val])) for val in folds], dtype=float)


def cv_leak(fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    return np.array([loss(y[val], fit(X, y)(X[val])) for val in folds], dtype=float)


def cv_swapped(fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    losses = []
    for i in range(k):
        train, val = np.concatenate(folds[:i] + folds[i + 1:]), folds[i]
        losses.append(loss(y[train], fit(X[val], y[val])(X[train])))
    return np.array(losses, dtype=float)


def cv_floor(fit, loss, X, y, k, rng):
    order = rng.permutation(len(y))
    size = len(y) // k
    losses = []
    for i in range(k):
        val = order[i * size:(i + 1) * size]
        train = np.setdiff1d(order, val)
        losses.append(loss(y[val], fit(X[train], y[train])(X[val])))
    return np.array(losses, dtype=float)


def cv_returns_mean(fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    losses = []
    for i in range(k):
        train, val = np.concatenate(folds[:i] + folds[i + 1:]), folds[i]
        losses.append(loss(y[val], fit(X[train], y[train])(X[val])))
    return float(np.mean(losses))


def cv_global_rng(fit, loss, X, y, k, rng):
    folds = np.array_split(np.random.permutation(len(y)), k)
    losses = []
    for i in range(k):
        train, val = np.concatenate(folds[:i] + folds[i + 1:]), folds[i]
        losses.append(loss(y[val], fit(X[train], y[train])(X[val])))
    return np.array(losses, dtype=float)


# --- select_by_cv -----------------------------------------------------------------------
def select_argmax(candidates, make_fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    scores = []
    for candidate in candidates:
        fit = make_fit(candidate)
        scores.append(np.mean([loss(y[f], fit(X[np.setdiff1d(np.arange(len(y)), f)],
                                                  y[np.setdiff1d(np.arange(len(y)), f)])(X[f])) for f in folds]))
    scores = np.array(scores, dtype=float)
    return candidates[int(np.argmax(scores))], scores


def select_index(candidates, make_fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    scores = []
    for candidate in candidates:
        fit = make_fit(candidate)
        scores.append(np.mean([loss(y[f], fit(X[np.setdiff1d(np.arange(len(y)), f)],
                                                  y[np.setdiff1d(np.arange(len(y)), f)])(X[f])) for f in folds]))
    scores = np.array(scores, dtype=float)
    return int(np.argmin(scores)), scores


def select_sum(candidates, make_fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    scores = []
    for candidate in candidates:
        fit = make_fit(candidate)
        scores.append(np.sum([loss(y[f], fit(X[np.setdiff1d(np.arange(len(y)), f)],
                                                 y[np.setdiff1d(np.arange(len(y)), f)])(X[f])) for f in folds]))
    scores = np.array(scores, dtype=float)
    return candidates[int(np.argmin(scores))], scores


def select_training_loss(candidates, make_fit, loss, X, y, k, rng):
    scores = np.array([loss(y, make_fit(c)(X, y)(X)) for c in candidates], dtype=float)
    return candidates[int(np.argmin(scores))], scores


def select_new_folds(candidates, make_fit, loss, X, y, k, rng):
    scores = []
    for candidate in candidates:
        folds = np.array_split(rng.permutation(len(y)), k)
        fit = make_fit(candidate)
        scores.append(np.mean([loss(y[f], fit(X[np.setdiff1d(np.arange(len(y)), f)],
                                                  y[np.setdiff1d(np.arange(len(y)), f)])(X[f])) for f in folds]))
    scores = np.array(scores, dtype=float)
    return candidates[int(np.argmin(scores))], scores


def select_last_tie(candidates, make_fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    scores = []
    for candidate in candidates:
        fit = make_fit(candidate)
        scores.append(np.mean([loss(y[f], fit(X[np.setdiff1d(np.arange(len(y)), f)],
                                                  y[np.setdiff1d(np.arange(len(y)), f)])(X[f])) for f in folds]))
    scores = np.array(scores, dtype=float)
    best = 0
    for i in range(len(scores)):
        if scores[i] <= scores[best]:
            best = i
    return candidates[best], scores


# --- early_stopping ---------------------------------------------------------------------
def stop_one_late(val_losses, patience):
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        elif epoch - best > patience:
            return epoch, best
    return len(val_losses) - 1, best


def best_overall(val_losses, patience):
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return epoch, int(np.argmin(val_losses))
    return len(val_losses) - 1, int(np.argmin(val_losses))


def best_last_tie(val_losses, patience):
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] <= val_losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return epoch, best
    return len(val_losses) - 1, best


def compares_previous(val_losses, patience):
    waited = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[epoch - 1]:
            waited = 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, int(np.argmin(val_losses[:epoch + 1]))
    return len(val_losses) - 1, int(np.argmin(val_losses))


def latest_as_best(val_losses, patience):
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return epoch, epoch
    return len(val_losses) - 1, len(val_losses) - 1


# --- bootstrap_indices ------------------------------------------------------------------
def boot_permutation(n, rng):
    return rng.permutation(n)


def boot_excludes_last(n, rng):
    return rng.integers(0, max(n - 1, 1), size=n)


def boot_global_rng(n, rng):
    return np.random.randint(0, n, size=n)


def boot_fixed_seed(n, rng):
    return np.random.default_rng(0).integers(0, n, size=n)


MISTAKES = {
    "train_val_test_split": [
        Mistake("no_shuffle", "No shuffle",
                "Your three sets are consecutive blocks of rows 0, 1, 2, ... If the data are stored in "
                "any order (by date, by class, by patient), the sets then differ systematically and the "
                "test score no longer estimates performance on new data. Shuffle with rng.permutation(n) "
                "first, then cut.", split_no_shuffle),
        Mistake("overlap", "Validation and test sets overlap",
                "Some rows are both validation and test rows: drawing the two sets separately lets them "
                "share rows. Draw one permutation and cut it into three disjoint pieces.", split_overlap,
                conceptual=True),
        Mistake("truncated_sizes", "Sizes truncated instead of rounded",
                "Your sizes use int(frac * n), which rounds down; the docstring asks for round(frac * n). "
                "int(0.3 * 23) = 6 but round(0.3 * 23) = 7.", split_truncated),
        Mistake("global_rng", "Global random state instead of rng",
                "Draw from the generator you are given (rng.permutation), not from np.random, so that the "
                "caller's seed decides the split.", split_global_rng),
    ],
    "kfold_indices": [
        Mistake("floor_fold_size", "Leftover rows never validated",
                "With fold_size = n // k, the last n % k rows of the permutation land in no validation "
                "fold, so they are never used to judge the model. Split the permutation into k folds "
                "whose sizes differ by at most one (np.array_split does this).", kfold_floor),
        Mistake("overlapping_folds", "Overlapping folds",
                "Some rows sit in more than one validation fold and others in none: each fold was drawn "
                "separately. Draw one permutation and cut it into k pieces, so the folds are disjoint and "
                "cover every row exactly once.", kfold_overlap, conceptual=True),
        Mistake("val_in_training", "Validation fold leaks into training",
                "Your training rows include the fold's own validation rows. The model then sees the rows "
                "it is judged on, and the validation loss is a (too optimistic) training loss. The training "
                "rows of a fold are all the rows *not* in its validation fold.", kfold_leak, conceptual=True),
        Mistake("no_shuffle", "No shuffle",
                "Your folds are consecutive blocks of rows. Stored data are often ordered, so each fold "
                "would differ systematically from the rest. Shuffle with rng.permutation(n) first.",
                kfold_no_shuffle),
        Mistake("global_rng", "Global random state instead of rng",
                "Draw from the generator you are given (rng.permutation), not from np.random.",
                kfold_global_rng),
    ],
    "cross_validate": [
        Mistake("fit_once", "One model for all folds",
                "You called fit once, on all the rows, and evaluated that one model on every fold. Each fold "
                "must fit a *fresh* model on its training rows only: the k scores estimate how the "
                "procedure 'fit on the rest, predict this fold' does on unseen rows.", cv_fit_once, conceptual=True),
        Mistake("val_in_training", "Validation fold leaks into training",
                "Each fold's model was fitted on all the rows, including the rows it is then judged on. "
                "Fit on X[train], y[train] only.", cv_leak, conceptual=True),
        Mistake("swapped", "Training and validation swapped",
                "Each model was fitted on the small validation fold and judged on the other k-1 folds. "
                "Fit on the k-1 training folds, evaluate on the held-out fold.", cv_swapped, conceptual=True),
        Mistake("floor_fold_size", "Leftover rows never validated",
                "With fold_size = n // k, n % k rows are never in a validation fold. Use folds whose sizes "
                "differ by at most one, covering every row.", cv_floor),
        Mistake("returns_mean", "Mean returned instead of the k losses",
                "Return the array of the k validation losses (one per fold, in fold order); the caller "
                "averages them, and also wants their spread.", cv_returns_mean),
        Mistake("global_rng", "Global random state instead of rng",
                "Draw the folds from the generator you are given, not from np.random.", cv_global_rng),
    ],
    "select_by_cv": [
        Mistake("argmax", "Largest loss chosen",
                "You picked the candidate with the *highest* cross-validated loss. Losses are to be "
                "minimised: use np.argmin.", select_argmax),
        Mistake("index_not_candidate", "Index returned instead of the candidate",
                "Return the candidate itself (candidates[i]), not its position i.", select_index),
        Mistake("sum_not_mean", "Sum of fold losses instead of their mean",
                "Your scores are k times the mean cross-validated loss. The docstring asks for the mean "
                "over folds, which stays on the scale of a single loss.", select_sum),
        Mistake("training_loss", "Selected by training loss",
                "Each candidate was fitted on all rows and scored on the same rows. Training loss always "
                "prefers the most flexible candidate; score each one by k-fold cross-validation.",
                select_training_loss, conceptual=True),
        Mistake("different_folds", "Different folds for different candidates",
                "Each candidate was scored on its own random folds. Draw the folds once and use the same "
                "folds for every candidate, so that the comparison is not decided by lucky splits.",
                select_new_folds, conceptual=True),
        Mistake("last_on_ties", "Last of tied candidates chosen",
                "When two candidates have the same score, return the first (as np.argmin does).",
                select_last_tie),
    ],
    "early_stopping": [
        Mistake("one_epoch_late", "Stopped one epoch late",
                "Your run stops after patience + 1 epochs without improvement. Stop at the first epoch "
                "that is `patience` epochs after the best one.", stop_one_late),
        Mistake("best_after_stop", "Best epoch looked up after stopping",
                "Your best epoch comes from epochs after the stop: training never reached them. The best "
                "checkpoint is the best among epochs 0..stop_epoch.", best_overall),
        Mistake("last_on_ties", "Equal loss counted as an improvement",
                "An epoch that only *equals* the best loss is not an improvement: the best epoch is the "
                "first one with the lowest loss (use <, not <=).", best_last_tie),
        Mistake("compares_previous", "Compared with the previous epoch, not the best",
                "Your patience counter resets whenever the loss is lower than in the previous epoch. "
                "Early stopping compares with the best loss so far: a zig-zag that never beats the best "
                "must still run out of patience.", compares_previous),
        Mistake("latest_as_best", "Latest checkpoint returned as best",
                "best_epoch must be the epoch with the lowest validation loss, not the latest epoch: "
                "keep both checkpoints.", latest_as_best),
    ],
    "bootstrap_indices": [
        Mistake("permutation", "Drawn without replacement",
                "Every row appears exactly once: that is a permutation, not a bootstrap sample. A bootstrap "
                "sample draws n rows *with* replacement (rng.integers(0, n, size=n)), so some rows repeat "
                "and about 37% are left out.", boot_permutation, conceptual=True),
        Mistake("excludes_last", "Last row never drawn",
                "Row n - 1 is never drawn: the upper bound of rng.integers is exclusive, so use "
                "rng.integers(0, n, size=n).", boot_excludes_last),
        Mistake("global_rng", "Global random state instead of rng",
                "Draw from the generator you are given, not from np.random.", boot_global_rng),
        Mistake("fixed_seed", "A fixed seed inside the function",
                "Different generators gave the same sample: the function makes its own generator. Use "
                "the rng you are given.", boot_fixed_seed),
    ],
}
