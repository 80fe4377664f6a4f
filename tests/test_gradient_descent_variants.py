"""Correct implementations written differently from the reference all get full marks (assignment 01)."""
import contextlib
import io

import numpy as np

from course_lib.checks import gradient_descent as visible
from grader import grade


def full_marks(name, fn):
    with contextlib.redirect_stdout(io.StringIO()):
        getattr(visible, f"check_{name}")(fn)
        return grade("gradient_descent", name, fn, points=1.0) == 1.0


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

    for fn in (shuffle_arange, choice_without_replacement, permuted):
        assert full_marks("minibatch_indices", fn), fn.__name__
