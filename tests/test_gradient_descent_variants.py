"""Correct implementations written differently from the reference all get full marks (assignment 01, and
the random functions of assignments 03 to 05, judged by the same rule for generators)."""
import contextlib
import copy
import importlib
import io

import numpy as np

from grader import grade


def full_marks(name, fn, topic="gradient_descent"):
    with contextlib.redirect_stdout(io.StringIO()):
        getattr(importlib.import_module(f"course_lib.checks.{topic}"), f"check_{name}")(fn)
        return grade(topic, name, fn, points=1.0) == 1.0


def test_mse_loss_grad_variants():
    def with_einsum(w, X, y):
        r = np.einsum("nd,d->n", X, w) - y
        return r @ r / len(y), 2 * np.einsum("nd,n->d", X, r) / len(y)

    def per_example_loop(w, X, y):
        grad = np.zeros_like(w)
        loss = 0.0
        for x_i, y_i in zip(X, y):
            r = x_i @ w - y_i
            loss += r * r / len(y)
            grad += 2 * r * x_i / len(y)
        return loss, grad

    assert full_marks("mse_loss_grad", with_einsum)
    assert full_marks("mse_loss_grad", per_example_loop)


def test_steps_in_place_on_a_copy():
    def gd_in_place(w, grad, lr):
        w = w.copy()
        w -= lr * grad
        return w

    def momentum_in_place(w, grad, velocity, lr, beta):
        v = velocity.copy()
        v *= beta
        v += grad
        w = w.copy()
        w -= lr * v
        return w, v

    def nesterov_other_grouping(w, grad, velocity, lr, beta):
        v = beta * velocity + grad
        return w - lr * (1 + beta) * grad - lr * beta * beta * velocity, v

    assert full_marks("gd_step", gd_in_place)
    assert full_marks("momentum_step", momentum_in_place)
    assert full_marks("nesterov_step", nesterov_other_grouping)


def test_float32_results_are_accepted():
    def momentum_float32(w, grad, velocity, lr, beta):
        v = (beta * velocity + grad).astype(np.float32)
        return (w - lr * v).astype(np.float32), v

    assert full_marks("momentum_step", momentum_float32)


def test_any_correct_use_of_the_generator():
    def shuffle_arange(n, batch_size, rng):
        order = np.arange(n)
        rng.shuffle(order)
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]

    def choice_without_replacement(n, batch_size, rng):
        order = rng.choice(n, size=n, replace=False)
        return np.split(order, range(batch_size, n, batch_size))

    def permuted(n, batch_size, rng):
        order = rng.permuted(np.arange(n, dtype=np.int32))
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]

    def same_bit_generator(n, batch_size, rng):
        order = np.argsort(np.random.Generator(rng.bit_generator).random(n))
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]

    def default_rng_of_rng(n, batch_size, rng):
        order = np.random.default_rng(rng).permutation(n)
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]

    for fn in (shuffle_arange, choice_without_replacement, permuted, same_bit_generator, default_rng_of_rng):
        assert full_marks("minibatch_indices", fn), fn.__name__


def test_drawing_from_a_copy_of_the_generator():
    """A split or folds drawn from a copy of rng are a function of rng's state, as the docstrings ask: they
    earn full marks (they were failed as "rng never used" and named global_rng). bootstrap_indices and
    minibatch_indices must advance rng, as their docstrings say, so a copy is no answer there."""
    def split_from_copy(n, val_frac, test_frac, rng):
        order = copy.deepcopy(rng).permutation(n)
        n_val, n_test = round(val_frac * n), round(test_frac * n)
        return order[:n - n_val - n_test], order[n - n_val - n_test:n - n_test], order[n - n_test:]

    def split_by_sorting_uniforms(n, val_frac, test_frac, rng):
        order = np.argsort(np.random.default_rng(rng).random(n))
        n_val, n_test = round(val_frac * n), round(test_frac * n)
        return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]

    def kfold_from_copy(n, k, rng):
        folds = np.array_split(copy.deepcopy(rng).permutation(n), k)
        return [(np.setdiff1d(np.arange(n), fold), fold) for fold in folds]

    def cross_validate_on_a_copy(fit, loss, X, y, k, rng):
        folds = np.array_split(copy.deepcopy(rng).permutation(len(y)), k)
        losses = []
        for i, val in enumerate(folds):
            train = np.concatenate(folds[:i] + folds[i + 1:])
            losses.append(loss(y[val], fit(X[train], y[train])(X[val])))
        return np.array(losses)

    def bootstrap_by_choice(n, rng):
        return np.random.Generator(rng.bit_generator).choice(n, size=n)

    for name, fn in [("train_val_test_split", split_from_copy), ("train_val_test_split", split_by_sorting_uniforms),
                     ("kfold_indices", kfold_from_copy), ("cross_validate", cross_validate_on_a_copy),
                     ("bootstrap_indices", bootstrap_by_choice)]:
        assert full_marks(name, fn, topic="generalization_cv"), fn.__name__


def test_bagging_from_a_copy_of_the_generator():
    def bagging_from_copy(fit, X, y, X_test, n_models, rng):
        rng = copy.deepcopy(rng)
        predictions = []
        for _ in range(n_models):
            rows = rng.integers(0, len(y), size=len(y))
            predictions.append(fit(X[rows], y[rows])(X_test))
        return np.mean(predictions, axis=0)

    assert full_marks("bagging_predict", bagging_from_copy, topic="bias_variance")


def test_dropout_with_any_correct_draw_and_a_new_mask_every_call():
    def by_binomial(x, p_drop, rng, train):
        if not train:
            return x.copy(), np.ones_like(x)
        mask = rng.binomial(1, 1 - p_drop, size=x.shape) / (1 - p_drop)
        return x * mask, mask

    def by_float32_uniforms(x, p_drop, rng, train):
        if not train:
            return x.copy(), np.ones_like(x)
        mask = (rng.random(x.shape, dtype=np.float32) >= p_drop).astype(x.dtype) / (1 - p_drop)
        return x * mask, mask

    for fn in (by_binomial, by_float32_uniforms):
        assert full_marks("dropout_forward", fn, topic="regularization"), fn.__name__
