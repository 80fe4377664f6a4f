"""Catalogued mistakes of assignment 01 (gradient descent).

Each implementation is a self-contained function with the graded function's signature,
so that it can be dropped into a submission (the sample class and the tests do this).
"""
import numpy as np

from course_lib.checking import MUTATION
from grader.checks.specs import Mistake


def half_mse_gradient(w, X, y):
    residual = X @ w - y
    return np.mean(residual**2), X.T @ residual / X.shape[0]


def sum_not_mean(w, X, y):
    residual = X @ w - y
    return np.sum(residual**2), 2.0 * X.T @ residual


def gradient_not_averaged(w, X, y):
    residual = X @ w - y
    return np.mean(residual**2), 2.0 * X.T @ residual


def uphill_gradient(w, X, y):
    residual = X @ w - y
    return np.mean(residual**2), 2.0 / X.shape[0] * X.T @ (y - X @ w)


def ascent_step(w, grad, lr):
    return w + lr * grad


def step_without_lr(w, grad, lr):
    return w - grad


def in_place_step(w, grad, lr):
    w -= lr * grad
    return w


def no_shuffle(n, batch_size, rng):
    order = np.arange(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def with_replacement(n, batch_size, rng):
    order = rng.integers(0, n, size=n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def drops_last(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[start:start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]


def global_rng(n, batch_size, rng):
    order = np.random.permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def array_split(n, batch_size, rng):
    return np.array_split(rng.permutation(n), max(n // batch_size, 1))


def ema_momentum(w, grad, velocity, lr, beta):
    velocity = beta * velocity + (1 - beta) * grad
    return w - lr * velocity, velocity


def lr_in_velocity(w, grad, velocity, lr, beta):
    velocity = beta * velocity + lr * grad
    return w - velocity, velocity


def stale_velocity(w, grad, velocity, lr, beta):
    return w - lr * velocity, beta * velocity + grad


def other_sign_convention(w, grad, velocity, lr, beta):
    velocity = beta * velocity - lr * grad
    return w + velocity, velocity


def in_place_momentum(w, grad, velocity, lr, beta):
    velocity *= beta
    velocity += grad
    w -= lr * velocity
    return w, velocity


def nesterov_without_lookahead(w, grad, velocity, lr, beta):
    velocity = beta * velocity + grad
    return w - lr * velocity, velocity


def nesterov_other_sign_convention(w, grad, velocity, lr, beta):
    velocity = beta * velocity - lr * grad
    return w + beta * velocity - lr * grad, velocity


def nesterov_missing_beta(w, grad, velocity, lr, beta):
    velocity = beta * velocity + grad
    return w - lr * (grad + velocity), velocity


def nesterov_ema(w, grad, velocity, lr, beta):
    velocity = beta * velocity + (1 - beta) * grad
    return w - lr * (grad + beta * velocity), velocity


MISTAKES = {
    "mse_loss_grad": [
        Mistake("half_mse_gradient", "Gradient of half the MSE",
                "Your gradient is exactly half the true one. Differentiating mean(r**2) brings down "
                "a factor 2 (power rule): grad = (2/n) X^T (Xw - y). Dropping it is right only for "
                "the loss (1/2) mean(r**2).", half_mse_gradient),
        Mistake("sum_not_mean", "Sum instead of mean",
                "Your loss and gradient add over the examples instead of averaging, so they grow "
                "with the data set and a learning rate that works for 100 examples blows up for "
                "10 000. Divide by n.", sum_not_mean),
        Mistake("gradient_not_averaged", "Gradient not averaged",
                "Your loss is a mean but your gradient is a sum: it is n times too large. Both "
                "must carry the same 1/n.", gradient_not_averaged),
        Mistake("uphill_gradient", "Gradient with the wrong sign",
                "Your gradient points uphill: with r = Xw - y the gradient is (2/n) X^T r, and "
                "using y - Xw flips it. A gradient step would then increase the loss.", uphill_gradient),
    ],
    "gd_step": [
        Mistake("ascent_step", "Gradient ascent",
                "You added the gradient. The gradient points in the direction of steepest "
                "increase, so descent subtracts it: w - lr * grad. (Some lecture slides show "
                "`x += learning_rate * dx`; that is a typo.)", ascent_step),
        Mistake("step_without_lr", "Learning rate ignored",
                "Your step ignores lr. The gradient gives a direction and a local slope, not a "
                "safe distance; lr decides how far to trust that linear picture.", step_without_lr),
        Mistake("mutates_input", *MUTATION, in_place_step),
    ],
    "minibatch_indices": [
        Mistake("no_shuffle", "No shuffle",
                "Your batches take the rows in their stored order, so every epoch sees the same "
                "batches and any ordering in the data (sorted by label, by date) biases each "
                "step. Draw a permutation with rng.permutation(n).", no_shuffle),
        Mistake("with_replacement", "Sampling with replacement",
                "Some rows appear twice and others never: drawing n random indices is sampling "
                "with replacement. One epoch uses every row exactly once, so shuffle a "
                "permutation of range(n) instead.", with_replacement, conceptual=True),
        Mistake("drops_last", "Last partial batch dropped",
                "When batch_size does not divide n, the leftover rows must form a last, "
                "smaller batch; otherwise the same rows are never trained on in this epoch.", drops_last),
        Mistake("global_rng", "Global random state instead of rng",
                "Draw from the generator you are given (rng.permutation), not from np.random: "
                "the caller's seed must decide the shuffle, so that runs are reproducible and "
                "independent streams stay independent.", global_rng),
        Mistake("array_split", "Batches of unequal size",
                "Splitting the permutation into n // batch_size nearly equal pieces changes the "
                "batch size. Cut consecutive slices of exactly batch_size, so only the last "
                "batch is smaller.", array_split),
    ],
    "momentum_step": [
        Mistake("ema_momentum", "Averaged (EMA) velocity",
                "You used v = beta*v + (1 - beta)*grad. That is an exponential moving average, "
                "which shrinks the step by (1 - beta) compared with this course's convention "
                "v = beta*v + grad (the one PyTorch uses). Both are legitimate algorithms, but "
                "they need different learning rates, so they are not interchangeable.", ema_momentum),
        Mistake("lr_in_velocity", "Learning rate folded into the velocity",
                "Your velocity already contains lr (v = beta*v + lr*grad, w = w - v). The "
                "parameters match while lr is constant, but the velocity you return is lr times "
                "the one this convention stores, so changing lr mid-run changes the dynamics.", lr_in_velocity),
        Mistake("stale_velocity", "Step taken with the old velocity",
                "You moved w with the velocity from before this step. Update the velocity "
                "first (v = beta*v + grad), then step with the new one (w - lr*v).", stale_velocity),
        Mistake("other_sign_convention", "Velocity in the other sign convention",
                "Your velocity follows v = beta*v - lr*grad, w = w + v. That convention gives the "
                "same parameters from v = 0, but the velocity it stores is -lr times this "
                "course's. Return the velocity in the convention of the docstring.", other_sign_convention),
        Mistake("mutates_input", *MUTATION, in_place_momentum),
    ],
    "nesterov_step": [
        Mistake("nesterov_without_lookahead", "Plain momentum instead of Nesterov",
                "Your step is w - lr*v, which is ordinary momentum. Nesterov's correction adds "
                "the gradient once more: w - lr*(grad + beta*v), the look-ahead rewritten in terms "
                "of the gradient at the current point.", nesterov_without_lookahead),
        Mistake("nesterov_other_sign_convention", "Velocity in the other sign convention",
                "Your velocity follows v = beta*v - lr*grad, w = w + beta*v - lr*grad. That form "
                "moves the parameters the same way from v = 0, but stores -lr times this course's "
                "velocity. Return the velocity in the convention of the docstring.",
                nesterov_other_sign_convention),
        Mistake("nesterov_missing_beta", "Look-ahead without beta",
                "Your step adds the whole velocity to the gradient (grad + v); the look-ahead "
                "only extrapolates the momentum part, so it is grad + beta*v.", nesterov_missing_beta),
        Mistake("nesterov_ema", "Averaged (EMA) velocity",
                "You used v = beta*v + (1 - beta)*grad; this course's convention is "
                "v = beta*v + grad, as for momentum.", nesterov_ema),
    ],
}
