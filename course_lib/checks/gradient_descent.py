"""Visible checks of assignment 01 (gradient descent).

Each `check_<function>` raises CheckFailed with a message naming what is wrong, or
prints a line saying the function passed. Grading runs more, hidden, cases.
"""
import numpy as np

from course_lib.checking import (CheckFailed, check_against_fixture, fresh_problem, generator_problem, index_coverage,
                                 invoke, named_mistake)

TOPIC = "gradient_descent"


def check_mse_loss_grad(mse_loss_grad) -> None:
    """mse_loss_grad(w, X, y) -> (loss, grad) on one stored problem."""
    check_against_fixture(mse_loss_grad, TOPIC, "mse_loss_grad")


def check_gd_step(gd_step) -> None:
    """gd_step(w, grad, lr) -> w_new on one stored step."""
    check_against_fixture(gd_step, TOPIC, "gd_step")


def check_minibatch_indices(minibatch_indices) -> None:
    """minibatch_indices(n, batch_size, rng): one shuffled epoch, checked by its properties."""
    for problem in (minibatch_problem(minibatch_indices, n=10, batch_size=3, seed=0),
                    minibatch_fresh_problem(minibatch_indices, n=10, batch_size=3, seed=0)):
        if problem:
            raise CheckFailed(problem)
    print("✓ minibatch_indices passes the visible checks (every index once, batch sizes, "
          "shuffled, drawn from rng, a new shuffle every epoch). Grading runs more cases.")


def check_momentum_step(momentum_step) -> None:
    """momentum_step(w, grad, velocity, lr, beta) -> (w_new, velocity_new) on one stored step."""
    check_against_fixture(momentum_step, TOPIC, "momentum_step")


def check_nesterov_step(nesterov_step) -> None:
    """nesterov_step(w, grad, velocity, lr, beta) -> (w_new, velocity_new) on one stored step."""
    check_against_fixture(nesterov_step, TOPIC, "nesterov_step")


def minibatch_problem(fn, n: int, batch_size: int, seed: int):
    """What is wrong with fn's epoch of n indices in batches of batch_size, or None.

    The properties: a list of 1-D integer arrays; every index in range(n) exactly once;
    every batch of `batch_size` but the last, which holds the remainder; an order that
    is shuffled (not 0, 1, 2, ... for n >= 10; for fewer indices, not that order for every
    seed) and a function of rng's state alone (see `generator_problem`).
    """
    name = "minibatch_indices"
    outcome = invoke(fn, {"n": n, "batch_size": batch_size, "rng": np.random.default_rng(seed)})
    if outcome.problem(name):
        return outcome.problem(name)
    batches = outcome.result
    if not isinstance(batches, (list, tuple)) or not all(
            isinstance(b, np.ndarray) and b.ndim == 1 and np.issubdtype(b.dtype, np.integer) for b in batches):
        return f"{name} should return a list of 1-D integer arrays (one per batch)."
    outside, repeated, missing = index_coverage(batches, n)
    where = f"For n={n}, batch_size={batch_size}:"
    if outside:
        return f"{where} {name} returned indices outside range(n)."
    if repeated:
        return f"{where} some indices appear more than once.\n" + named_mistake(TOPIC, name, "with_replacement")
    if missing:
        if missing == n % batch_size:
            return f"{where} {missing} indices never appear.\n" + named_mistake(TOPIC, name, "drops_last")
        return f"{where} {missing} indices never appear; every index must be used exactly once per epoch."
    sizes = [len(b) for b in batches]
    expected_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if sizes != expected_sizes:
        return (f"{where} the batch sizes are {sizes}; they should be {expected_sizes}.\n"
                + named_mistake(TOPIC, name, "array_split"))
    in_order = np.array_equal(np.concatenate(batches), np.arange(n))
    if n >= 10 and in_order:
        return f"{where} the indices come out in order 0, 1, 2, ...\n" + named_mistake(TOPIC, name, "no_shuffle")
    return generator_problem(fn, name, {"n": n, "batch_size": batch_size}, seed=seed, where=where, can_vary=n >= 2,
                             global_mistake="\n" + named_mistake(TOPIC, name, "global_rng"),
                             unvarying_mistake="\n" + named_mistake(TOPIC, name, "no_shuffle") if in_order else "")


def minibatch_fresh_problem(fn, n: int, batch_size: int, seed: int):
    """What is wrong when two epochs drawn with one generator are the same, or None: each epoch is a new shuffle."""
    return fresh_problem(fn, "minibatch_indices", {"n": n, "batch_size": batch_size}, seed=seed,
                         where=f"For n={n}, batch_size={batch_size}:", what="epoch")
