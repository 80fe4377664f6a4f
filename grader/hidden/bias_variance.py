"""Hidden checks of assignment 04 (bias and variance).

bias_variance_decomposition is judged by its values: the predictions carry a bias that changes
sign across the test points (so squaring the mean bias shows), few data sets in some cases (so
ddof=1 shows), noise variances other than 0 and 1 (so a dropped noise or a square root shows).
bagging_predict is random and takes a model, so it is judged by properties with an instrumented
model (course_lib.checks.bias_variance.bagging_problem).
"""
import numpy as np

from course_lib.checking import invoke
from course_lib.checks.bias_variance import bagging_problem
from grader.checks.specs import ByProperties, ByReference, Case
from grader.hidden import generator

SEED = 20260404


def _predictions(rng, n_datasets, n_points, spread, noise_var, dtype=float, per_point=False):
    x = np.linspace(-1, 1, n_points)
    f_true = np.sin(3 * x) + 0.5 * x
    bias = 0.4 * np.cos(4 * x) + 0.05                   # changes sign across the points
    preds = f_true + bias + spread * rng.standard_normal((n_datasets, n_points)) * (1 + x**2)
    if per_point:
        noise_var = noise_var * (1 + 0.5 * np.sin(5 * x) ** 2)
    return dict(preds=preds.astype(dtype), f_true=f_true.astype(dtype),
                noise_var=noise_var.astype(dtype) if isinstance(noise_var, np.ndarray) else noise_var)


def _bias_variance_decomposition_spec(rng):
    return ByReference(
        outputs=("bias2", "variance", "noise"),
        cases=[
            Case("5 data sets, 30 test points", _predictions(rng, 5, 30, 0.3, 0.25)),
            Case("40 data sets, 50 test points", _predictions(rng, 40, 50, 0.5, 0.09)),
            Case("2 data sets, 10 test points, large noise", _predictions(rng, 2, 10, 0.2, 2.0)),
            Case("noise variance given per test point", _predictions(rng, 8, 20, 0.3, np.array(0.16), per_point=True)),
            Case("float32 inputs", _predictions(rng, 6, 25, 0.4, 0.36, dtype=np.float32), rtol=1e-4),
        ],
        visible=_predictions(rng, 4, 8, 0.3, 0.25),
    )


def _seeds_differ(fn):
    from course_lib.checks.bias_variance import test_rows
    from course_lib.checks.generalization_cv import labelled_rows, recording_model
    from course_lib.wire import Recipe
    X, y = labelled_rows(30, 9)
    X_test = test_rows(4, 30, 9)
    y_all = np.concatenate([y, np.zeros(4)])
    outcomes = [invoke(fn, dict(fit=Recipe(recording_model, dict(X_all=X, y_all=y_all)), X=X, y=y, X_test=X_test, n_models=5,
                                rng=np.random.default_rng(s))) for s in (1, 2)]
    for outcome in outcomes:
        if outcome.problem("bagging_predict"):
            return outcome.problem("bagging_predict")
    if np.array_equal(np.asarray(outcomes[0].result), np.asarray(outcomes[1].result)):
        return "generators with different seeds gave the same prediction: draw the bootstrap samples from rng."
    return None


BAGGING = [(30, 6, 8), (50, 5, 25), (20, 3, 2), (100, 10, 12), (25, 1, 1)]

SPECS = {
    "bias_variance_decomposition": _bias_variance_decomposition_spec(generator(SEED, "bias_variance_decomposition")),
    "bagging_predict": ByProperties(checks=[
        (f"instrumented model, n={n}, {m} test points, n_models={b}",
         lambda fn, n=n, m=m, b=b, s=s: bagging_problem(fn, n, m, b, seed=s))
        for s, (n, m, b) in enumerate(BAGGING)] + [
        ("different seeds give different bags", _seeds_differ),
    ]),
}
