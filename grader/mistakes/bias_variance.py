"""Catalogued mistakes of assignment 04 (bias and variance).

Each implementation is a self-contained function with the graded function's signature
(only `np` is used), so that it can be dropped into a submission.
"""
import numpy as np

from grader.checks.specs import Mistake


# --- bias_variance_decomposition ----------------------------------------------------------
def squared_mean_bias(preds, f_true, noise_var):
    bias2 = np.mean(preds.mean(axis=0) - f_true) ** 2
    return float(bias2), float(np.mean(preds.var(axis=0))), float(np.mean(noise_var))


def noisy_target_bias(preds, f_true, noise_var):
    bias2 = np.mean((preds.mean(axis=0) - f_true) ** 2) + np.mean(noise_var)
    return float(bias2), float(np.mean(preds.var(axis=0))), float(np.mean(noise_var))


def dropped_noise(preds, f_true, noise_var):
    bias2 = np.mean((preds.mean(axis=0) - f_true) ** 2)
    return float(bias2), float(np.mean(preds.var(axis=0))), 0.0


def error_as_bias(preds, f_true, noise_var):
    bias2 = np.mean((preds - f_true) ** 2)
    return float(bias2), float(np.mean(preds.var(axis=0))), float(np.mean(noise_var))


def variance_ddof1(preds, f_true, noise_var):
    bias2 = np.mean((preds.mean(axis=0) - f_true) ** 2)
    return float(bias2), float(np.mean(preds.var(axis=0, ddof=1))), float(np.mean(noise_var))


def variance_over_points(preds, f_true, noise_var):
    bias2 = np.mean((preds.mean(axis=0) - f_true) ** 2)
    return float(bias2), float(np.mean(preds.var(axis=1))), float(np.mean(noise_var))


def noise_std(preds, f_true, noise_var):
    bias2 = np.mean((preds.mean(axis=0) - f_true) ** 2)
    return float(bias2), float(np.mean(preds.var(axis=0))), float(np.mean(np.sqrt(noise_var)))


# --- bagging_predict ---------------------------------------------------------------------------
def bag_no_resample(fit, X, y, X_test, n_models, rng):
    return np.mean([fit(X, y)(X_test) for _ in range(n_models)], axis=0)


def bag_without_replacement(fit, X, y, X_test, n_models, rng):
    predictions = []
    for _ in range(n_models):
        rows = rng.permutation(len(y))
        predictions.append(fit(X[rows], y[rows])(X_test))
    return np.mean(predictions, axis=0)


def bag_same_sample(fit, X, y, X_test, n_models, rng):
    rows = rng.integers(0, len(y), size=len(y))
    return np.mean([fit(X[rows], y[rows])(X_test) for _ in range(n_models)], axis=0)


def bag_last_only(fit, X, y, X_test, n_models, rng):
    for _ in range(n_models):
        rows = rng.integers(0, len(y), size=len(y))
        prediction = fit(X[rows], y[rows])(X_test)
    return prediction


def bag_sum(fit, X, y, X_test, n_models, rng):
    total = 0.0
    for _ in range(n_models):
        rows = rng.integers(0, len(y), size=len(y))
        total = total + fit(X[rows], y[rows])(X_test)
    return total


def bag_global_rng(fit, X, y, X_test, n_models, rng):
    predictions = []
    for _ in range(n_models):
        rows = np.random.randint(0, len(y), size=len(y))
        predictions.append(fit(X[rows], y[rows])(X_test))
    return np.mean(predictions, axis=0)


MISTAKES = {
    "bias_variance_decomposition": [
        Mistake("squared_mean_bias", "Mean bias squared instead of mean squared bias",
                "You averaged the bias over the test points and then squared it. Positive and negative "
                "biases then cancel: a model that is too high on the left and too low on the right gets "
                "no bias at all. Square the bias at each test point, then average: "
                "mean((mean_prediction - f_true)**2).", squared_mean_bias),
        Mistake("noisy_target_bias", "Bias measured against noisy targets",
                "Your squared bias is larger by exactly the noise variance: that is what you get when the "
                "bias is measured against noisy observations y = f(x) + noise instead of the noiseless "
                "f(x). The noise then appears twice, once inside the bias and once as its own term. The "
                "bias compares the average prediction with f_true.", noisy_target_bias),
        Mistake("dropped_noise", "Noise term dropped",
                "Your noise term is 0. The expected squared error on new observations always contains "
                "the noise variance, which no model can remove; without it bias² + variance falls short of "
                "the measured test error by exactly that amount.", dropped_noise),
        Mistake("error_as_bias", "Total error used as the bias",
                "Your bias² averages (preds - f_true)**2 over the data sets: that is bias² + variance, the "
                "model's whole expected error against f. The bias is the error of the *average* "
                "prediction: first average preds over the data sets (axis 0), then compare with f_true.",
                error_as_bias),
        Mistake("variance_ddof1", "Sample variance (ddof=1)",
                "You divided by n_datasets - 1. This course uses the population variance over the data "
                "sets (np.var's default, ddof=0), so that bias² + variance is exactly the mean squared "
                "difference between preds and f_true.", variance_ddof1),
        Mistake("variance_over_points", "Variance across test points instead of data sets",
                "Your variance is taken along axis 1, across the test points: that measures how much the "
                "prediction varies with x, not how much it changes with the training set. Take the "
                "variance over the data sets (axis 0) at each test point, then average over points.",
                variance_over_points),
        Mistake("noise_std", "Noise standard deviation instead of variance",
                "Your noise term is the square root of noise_var. The decomposition adds variances: the "
                "noise term is the noise variance itself.", noise_std),
    ],
    "bagging_predict": [
        Mistake("no_resample", "No resampling",
                "Every model was fitted on the full data set, so all models are the same model and "
                "averaging them changes nothing. Fit each model on its own bootstrap sample "
                "rng.integers(0, n, size=n).", bag_no_resample, conceptual=True),
        Mistake("without_replacement", "Resampled without replacement",
                "Each model was fitted on a permutation of all the rows: the same data in another order, "
                "hence the same model. A bootstrap sample draws n rows *with* replacement.",
                bag_without_replacement, conceptual=True),
        Mistake("same_sample", "One bootstrap sample for all models",
                "All models were fitted on the same bootstrap sample. Draw a fresh sample for each model; "
                "bagging reduces variance only by averaging models that differ.", bag_same_sample, conceptual=True),
        Mistake("last_only", "Only the last model's prediction returned",
                "Return the average of the n_models predictions, not the last one.", bag_last_only),
        Mistake("sum_not_mean", "Sum of the predictions instead of their mean",
                "Your result is n_models times too large: average the predictions, don't add them.",
                bag_sum),
        Mistake("global_rng", "Global random state instead of rng",
                "Draw the bootstrap samples from the generator you are given, not from np.random.",
                bag_global_rng),
    ],
}
