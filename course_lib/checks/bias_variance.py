"""Visible checks of assignment 04 (bias and variance).

`check_bias_variance_decomposition` compares with stored values; `bagging_predict` is random, so
`bagging_problem` checks its properties with an instrumented model that records the rows each
fitted model saw (a bootstrap sample per model, fresh for every model, drawn from `rng` alone)
and what it predicted (the result must be the average of the models' predictions).
"""
import numpy as np

from course_lib.checking import CheckFailed, check_against_fixture, generator_problem, invoke, named_mistake
from course_lib.checks.generalization_cv import labelled_rows, model_outputs, recording_model
from course_lib.wire import Recipe

TOPIC = "bias_variance"


def check_bias_variance_decomposition(bias_variance_decomposition) -> None:
    """bias_variance_decomposition(preds, f_true, noise_var) -> (bias2, variance, noise) on stored inputs."""
    check_against_fixture(bias_variance_decomposition, TOPIC, "bias_variance_decomposition")


def check_bagging_predict(bagging_predict) -> None:
    """bagging_predict(fit, X, y, X_test, n_models, rng), checked by its properties."""
    problem = bagging_problem(bagging_predict, n=30, m=6, n_models=8, seed=0)
    if problem:
        raise CheckFailed(problem)
    print("✓ bagging_predict passes the visible checks (a fresh bootstrap sample per model, the average "
          "of the models' predictions, reproducible from rng). Grading runs more cases.")


def test_rows(m, n, seed):
    """m test inputs labelled n, n+1, ... (so that they cannot be mistaken for training rows)."""
    rng = np.random.default_rng(2000 + seed)
    return np.column_stack([np.arange(n, n + m, dtype=float), rng.standard_normal(m)])


def bagging_problem(fn, n, m, n_models, seed):
    """What is wrong with fn's bagged prediction on an instrumented model, or None.

    Properties: fit is called n_models times, each time on n rows drawn with replacement (rows
    repeat; for n >= 50 about 63% distinct), with a fresh sample for every model; every model
    predicts X_test; the result, shape (len(X_test),), is the mean of the models' predictions;
    the samples come from rng alone.
    """
    name = "bagging_predict"
    where = f"For n={n}, {m} test points, n_models={n_models}:"
    X, y = labelled_rows(n, seed)
    X_test = test_rows(m, n, seed)
    y_all = np.concatenate([y, np.zeros(m)])
    log = []
    kwargs = dict(X=X, y=y, X_test=X_test, n_models=n_models)
    outcome = invoke(fn, dict(kwargs, fit=Recipe(recording_model, dict(X_all=X, y_all=y_all), log),
                              rng=np.random.default_rng(seed)))
    if outcome.problem(name):
        return outcome.problem(name)
    if len(log) != n_models:
        return f"{where} fit was called {len(log)} times; bagging fits n_models models."
    samples = [r["train"] for r in log]
    if any(len(s) != n or np.any(s >= n) or np.any(s < 0) for s in samples):
        return f"{where} each model should be fitted on n rows drawn from the n training rows."
    if n >= 20 and all(len(np.unique(s)) == n for s in samples):
        if all(np.array_equal(s, np.arange(n)) for s in samples):
            return f"{where} every model was fitted on all the rows.\n" + named_mistake(TOPIC, name, "no_resample")
        return (f"{where} every model was fitted on each row exactly once.\n"
                + named_mistake(TOPIC, name, "without_replacement"))
    if n_models > 1 and all(np.array_equal(s, samples[0]) for s in samples):
        return f"{where} all models were fitted on the same rows.\n" + named_mistake(TOPIC, name, "same_sample")
    if n >= 50:
        distinct = np.mean([len(np.unique(s)) / n for s in samples])
        if not 0.5 <= distinct <= 0.75:
            return (f"{where} the samples hold {distinct:.0%} distinct rows on average; bootstrap samples hold "
                    "about 63%: draw each row uniformly, with replacement.")
    test_ids = X_test[:, 0].astype(int)
    for r in log:
        if len(r["predicted"]) != 1 or not np.array_equal(r["predicted"][0], test_ids):
            return f"{where} each model should predict X_test, once."
    result = outcome.result
    if not isinstance(result, np.ndarray) or result.shape != (m,) or not np.issubdtype(result.dtype, np.floating):
        return f"{where} {name} should return a float array of shape ({m},), one prediction per test point."
    X_all = np.concatenate([X, X_test])
    outputs = np.array([model_outputs(r, X_all, y_all)[0] for r in log])
    if not np.allclose(result, outputs.mean(axis=0), rtol=1e-9, atol=1e-12):
        if np.allclose(result, outputs.sum(axis=0), rtol=1e-9, atol=1e-12):
            return f"{where} the result is not the average prediction.\n" + named_mistake(TOPIC, name, "sum_not_mean")
        if np.allclose(result, outputs[-1], rtol=1e-9, atol=1e-12):
            return f"{where} the result is not the average prediction.\n" + named_mistake(TOPIC, name, "last_only")
        return f"{where} the result should be the mean of the n_models models' predictions at X_test."
    with_fit = lambda **given: fn(fit=Recipe(recording_model, dict(X_all=X, y_all=y_all)), **given)
    return generator_problem(with_fit, name, kwargs, seed=seed, where=where,
                             global_mistake="\n" + named_mistake(TOPIC, name, "global_rng"))
