"""Reference solutions of assignment 04 (bias and variance).

Each function is self-contained (it uses only `np`), so it can be run as a submission.
"""
import numpy as np


def bias_variance_decomposition(preds, f_true, noise_var):
    mean_prediction = preds.mean(axis=0)
    bias2 = np.mean((mean_prediction - f_true) ** 2)
    variance = np.mean(preds.var(axis=0))
    noise = np.mean(noise_var)
    return float(bias2), float(variance), float(noise)


def bagging_predict(fit, X, y, X_test, n_models, rng):
    n = len(y)
    predictions = []
    for _ in range(n_models):
        rows = rng.integers(0, n, size=n)
        predictions.append(fit(X[rows], y[rows])(X_test))
    return np.mean(predictions, axis=0)
