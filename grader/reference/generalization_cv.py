"""Reference solutions of assignment 03 (generalization and cross-validation).

Each function is self-contained (it uses only `np`), so it can be run as a submission.
"""
import numpy as np


def train_val_test_split(n, val_frac, test_frac, rng):
    n_val, n_test = round(val_frac * n), round(test_frac * n)
    order = rng.permutation(n)
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]


def kfold_indices(n, k, rng):
    folds = np.array_split(rng.permutation(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


def cross_validate(fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    losses = []
    for i in range(k):
        train, val = np.concatenate(folds[:i] + folds[i + 1:]), folds[i]
        predict = fit(X[train], y[train])
        losses.append(loss(y[val], predict(X[val])))
    return np.array(losses, dtype=float)


def select_by_cv(candidates, make_fit, loss, X, y, k, rng):
    folds = np.array_split(rng.permutation(len(y)), k)
    scores = []
    for candidate in candidates:
        fit = make_fit(candidate)
        fold_losses = []
        for i in range(k):
            train, val = np.concatenate(folds[:i] + folds[i + 1:]), folds[i]
            fold_losses.append(loss(y[val], fit(X[train], y[train])(X[val])))
        scores.append(np.mean(fold_losses))
    scores = np.array(scores, dtype=float)
    return candidates[int(np.argmin(scores))], scores


def early_stopping(val_losses, patience):
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return epoch, best
    return len(val_losses) - 1, best


def bootstrap_indices(n, rng):
    return rng.integers(0, n, size=n)
