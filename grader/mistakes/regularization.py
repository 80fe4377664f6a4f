"""Catalogued mistakes of assignment 05 (regularization).

Each implementation is a self-contained function with the graded function's signature,
so that it can be dropped into a submission. The batch-norm backward mistakes read the
reference's cache layout (x_hat, gamma, inv_std): the hidden check diagnoses them by the
values they produce, never by the student's cache.
"""
import numpy as np

from course_lib.checking import MUTATION
from grader.checks.specs import Mistake


# --- L2 -------------------------------------------------------------------------------------
def l2_gradient_missing_two(w, lam):
    return lam * np.sum(w**2), lam * w


def l2_half_convention(w, lam):
    return 0.5 * lam * np.sum(w**2), lam * w


def l2_mean_not_sum(w, lam):
    return lam * np.mean(w**2), 2.0 * lam * w / w.size


# --- L1 -------------------------------------------------------------------------------------
def l1_subgradient_nonzero_at_zero(w, lam):
    return lam * np.sum(np.abs(w)), lam * np.where(w >= 0, 1.0, -1.0)


def l1_subgradient_without_lam(w, lam):
    return lam * np.sum(np.abs(w)), np.sign(w)


def l1_gradient_of_l2(w, lam):
    return lam * np.sum(np.abs(w)), 2.0 * lam * w


# --- AdamW ----------------------------------------------------------------------------------
def adam_with_l2_gradient(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    grad = grad + weight_decay * w
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    m_hat = m_new / (1 - beta1**t)
    v_hat = v_new / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def adamw_decay_without_lr(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    m_hat = m_new / (1 - beta1**t)
    v_hat = v_new / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps) - weight_decay * w, m_new, v_new


def adamw_no_bias_correction(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    return w - lr * (m_new / (np.sqrt(v_new) + eps) + weight_decay * w), m_new, v_new


def adamw_returns_corrected_moments(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m_hat = (beta1 * m + (1 - beta1) * grad) / (1 - beta1**t)
    v_hat = (beta2 * v + (1 - beta2) * grad**2) / (1 - beta2**t)
    return w - lr * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * w), m_hat, v_hat


def adamw_in_place(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    w -= lr * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * w)
    return w, m, v


# --- dropout --------------------------------------------------------------------------------
def dropout_keep_drop_swapped(x, p_drop, rng, train):
    if not train:
        return x.copy(), np.ones_like(x)
    mask = (rng.random(x.shape) < p_drop) / p_drop
    return x * mask, mask


def dropout_not_inverted(x, p_drop, rng, train):
    if not train:
        return x.copy(), np.ones_like(x)
    mask = (rng.random(x.shape) >= p_drop).astype(float)
    return x * mask, mask


def dropout_in_eval(x, p_drop, rng, train):
    mask = (rng.random(x.shape) >= p_drop) / (1.0 - p_drop)
    return x * mask, mask


def dropout_global_rng(x, p_drop, rng, train):
    if not train:
        return x.copy(), np.ones_like(x)
    mask = (np.random.random(x.shape) >= p_drop) / (1.0 - p_drop)
    return x * mask, mask


def dropout_backward_new_mask(dout, mask):
    keep = np.random.default_rng().random(dout.shape) >= 0.5
    return dout * keep / 0.5


def dropout_backward_unscaled(dout, mask):
    return dout * (mask != 0)


def dropout_backward_ignores_mask(dout, mask):
    return dout.copy()


# --- batch norm -----------------------------------------------------------------------------
def batchnorm_unbiased_variance(x, gamma, beta, eps, running_mean, running_var, momentum, train):
    if train:
        mu, var = x.mean(axis=0), x.var(axis=0, ddof=1)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std), running_mean.copy(), running_var.copy()


def batchnorm_eps_outside_sqrt(x, gamma, beta, eps, running_mean, running_var, momentum, train):
    if train:
        mu, var = x.mean(axis=0), x.var(axis=0)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
    inv_std = 1.0 / (np.sqrt(var) + eps)
    x_hat = (x - mu) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std), running_mean.copy(), running_var.copy()


def batchnorm_batch_stats_in_eval(x, gamma, beta, eps, running_mean, running_var, momentum, train):
    mu, var = x.mean(axis=0), x.var(axis=0)
    if train:
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std), running_mean.copy(), running_var.copy()


def batchnorm_momentum_swapped(x, gamma, beta, eps, running_mean, running_var, momentum, train):
    if train:
        mu, var = x.mean(axis=0), x.var(axis=0)
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var
    else:
        mu, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std), running_mean.copy(), running_var.copy()


def batchnorm_backward_no_mean_var_terms(dout, cache):
    x_hat, gamma, inv_std = cache
    return dout * gamma * inv_std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_no_var_term(dout, cache):
    x_hat, gamma, inv_std = cache
    dx_hat = dout * gamma
    return inv_std * (dx_hat - dx_hat.mean(axis=0)), (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_without_gamma(dout, cache):
    x_hat, gamma, inv_std = cache
    dx = inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_dgamma_dbeta_swapped(dout, cache):
    x_hat, gamma, inv_std = cache
    dx_hat = dout * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
    return dx, dout.sum(axis=0), (dout * x_hat).sum(axis=0)


# --- label smoothing and mixup --------------------------------------------------------------
def smoothing_over_other_classes(y_onehot, eps):
    k = y_onehot.shape[1]
    return (1 - eps) * y_onehot + eps / (k - 1) * (1 - y_onehot)


def smoothing_not_rescaled(y_onehot, eps):
    return y_onehot + eps / y_onehot.shape[1]


def smoothing_classes_from_rows(y_onehot, eps):
    return (1 - eps) * y_onehot + eps / y_onehot.shape[0]


def mixup_lam_swapped(x, y_onehot, lam, perm):
    return (1 - lam) * x + lam * x[perm], (1 - lam) * y_onehot + lam * y_onehot[perm]


def mixup_labels_not_mixed(x, y_onehot, lam, perm):
    return lam * x + (1 - lam) * x[perm], y_onehot.copy()


def mixup_inverse_permutation(x, y_onehot, lam, perm):
    inverse = np.argsort(perm)
    return lam * x + (1 - lam) * x[inverse], lam * y_onehot + (1 - lam) * y_onehot[inverse]


MISTAKES = {
    "l2_penalty": [
        Mistake("l2_gradient_missing_two", "Gradient missing the factor 2",
                "The derivative of lam * w**2 is 2 * lam * w: the power rule brings down a 2. Your "
                "gradient is half of it, so the penalty you optimise is not the one you report.",
                l2_gradient_missing_two),
        Mistake("l2_half_convention", "The (lam/2) |w|² convention",
                "You used value = lam/2 * sum(w**2) with gradient lam * w. That convention is "
                "common, but this assignment defines value = lam * sum(w**2), whose gradient is "
                "2 * lam * w.", l2_half_convention),
        Mistake("l2_mean_not_sum", "Mean instead of sum",
                "The penalty sums the squares of all weights; a mean divides by their number, so "
                "the strength of lam would depend on the layer's size.", l2_mean_not_sum),
    ],
    "l1_penalty": [
        Mistake("l1_subgradient_at_zero", "Subgradient nonzero at zero",
                "|w| has no derivative at 0; any value in [-lam, lam] is a subgradient there, and "
                "this assignment uses 0 (what np.sign gives). Returning +lam or -lam at an exact "
                "zero pushes a weight that is already zero away from zero, which undoes the "
                "sparsity L1 is for.", l1_subgradient_nonzero_at_zero),
        Mistake("l1_subgradient_without_lam", "Subgradient without lam",
                "The subgradient of lam * |w| is lam * sign(w): the strength lam multiplies it "
                "as well as the value.", l1_subgradient_without_lam),
        Mistake("l1_gradient_of_l2", "L2 gradient used for L1",
                "The gradient of lam * |w| does not grow with w: it is lam * sign(w), the same size "
                "for every nonzero weight. 2 * lam * w is the gradient of the L2 penalty.", l1_gradient_of_l2),
    ],
    "adamw_step": [
        Mistake("coupled_weight_decay", "Weight decay coupled through Adam (Adam + L2)",
                "You added weight_decay * w to the gradient before the moments. That is an L2 "
                "penalty: Adam then divides it by sqrt(v_hat), so weights with large gradients "
                "are barely decayed. AdamW decouples it: w - lr * (m_hat / (sqrt(v_hat) + eps) "
                "+ weight_decay * w), with m and v built from grad alone.", adam_with_l2_gradient),
        Mistake("decay_without_lr", "Decay not scaled by the learning rate",
                "The decay term is lr * weight_decay * w: inside the same lr * (...) as the Adam "
                "step. Subtracting weight_decay * w alone shrinks the weights far faster.",
                adamw_decay_without_lr),
        Mistake("no_bias_correction", "No bias correction",
                "m and v start at zero, so early on they underestimate the gradient's moments. "
                "Divide by (1 - beta1**t) and (1 - beta2**t) before the step (t counts from 1).",
                adamw_no_bias_correction),
        Mistake("returns_corrected_moments", "Bias-corrected moments returned",
                "Return the running moments m and v themselves, not m_hat and v_hat: the "
                "correction is recomputed from t at every step, and feeding corrected moments "
                "back in corrects them twice.", adamw_returns_corrected_moments),
        Mistake("mutates_input", *MUTATION, adamw_in_place),
    ],
    "dropout_forward": [
        Mistake("keep_drop_swapped", "Keep and drop probabilities swapped",
                "p_drop is the probability of dropping a unit: keep each one with probability "
                "1 - p_drop (for example rng.random(x.shape) >= p_drop) and scale the kept ones "
                "by 1 / (1 - p_drop).", dropout_keep_drop_swapped),
        Mistake("not_inverted", "Kept units not rescaled (non-inverted dropout)",
                "Inverted dropout divides the kept units by 1 - p_drop, so that the expected "
                "output equals the input and nothing needs to change at evaluation. Your kept "
                "units keep their value, so the layer's output is (1 - p_drop) times too small "
                "on average during training.", dropout_not_inverted),
        Mistake("dropout_in_eval", "Dropout active in evaluation mode",
                "With train=False the input must pass unchanged (out = x, mask of ones): at "
                "evaluation we want the whole network, the average of all the sub-networks, "
                "not one random sub-network.", dropout_in_eval, conceptual=True),
        Mistake("global_rng", "Global random state instead of rng",
                "Draw the mask from the generator you are given (rng.random), not from "
                "np.random: the caller's seed must decide which units are dropped.", dropout_global_rng),
    ],
    "dropout_backward": [
        Mistake("mask_not_reused", "A new mask in the backward pass",
                "The backward pass must use the very mask of the forward pass: a unit that was "
                "dropped contributed nothing, so it receives no gradient, and a kept unit "
                "passes its gradient scaled by the same 1 / (1 - p_drop). dx = dout * mask.",
                dropout_backward_new_mask),
        Mistake("backward_unscaled", "Gradient not scaled",
                "The forward pass multiplied the kept units by 1 / (1 - p_drop); the chain rule "
                "multiplies their gradient by the same factor. Use the scaled mask: dx = dout * mask.",
                dropout_backward_unscaled),
        Mistake("backward_ignores_mask", "Gradient passed through unmasked",
                "Dropped units had no effect on the output, so their gradient is zero: "
                "dx = dout * mask, not dout.", dropout_backward_ignores_mask),
    ],
    "batchnorm_forward": [
        Mistake("unbiased_variance", "Unbiased variance",
                "Batch norm normalises with the batch's biased variance, mean((x - mu)**2) "
                "(np.var's default ddof=0); dividing by N - 1 changes the output, most visibly "
                "for small batches.", batchnorm_unbiased_variance),
        Mistake("eps_outside_sqrt", "Epsilon outside the square root",
                "The normalisation is (x - mu) / sqrt(var + eps): eps goes inside the root. "
                "sqrt(var) + eps is a different function (and the backward pass you derive "
                "from the formula will not match it).", batchnorm_eps_outside_sqrt),
        Mistake("batch_stats_in_eval", "Batch statistics in evaluation mode",
                "With train=False normalise with running_mean and running_var, not with the "
                "statistics of the batch: at evaluation the output for one example must not "
                "depend on which other examples share its batch.", batchnorm_batch_stats_in_eval, conceptual=True),
        Mistake("momentum_swapped", "Running average with the weights swapped",
                "This assignment's convention is running = momentum * running + (1 - momentum) "
                "* batch_stat (momentum close to 1 means a long memory); you swapped the two "
                "weights (PyTorch's `momentum` argument is the other way round).",
                batchnorm_momentum_swapped),
    ],
    "batchnorm_backward": [
        Mistake("missing_mean_var_terms", "Backward pass without the paths through the mean and variance",
                "You treated the batch mean and variance as constants: dx = dout * gamma / sqrt(var + eps). "
                "Every x_i also changes mu and var, which change every output; those paths add "
                "- mean(dx_hat) - x_hat * mean(dx_hat * x_hat), inside the factor 1 / sqrt(var + eps).",
                batchnorm_backward_no_mean_var_terms),
        Mistake("missing_var_term", "Backward pass without the path through the variance",
                "You kept the path through the mean but not the one through the variance: the "
                "term - x_hat * mean(dx_hat * x_hat) is missing.", batchnorm_backward_no_var_term),
        Mistake("dx_without_gamma", "dx without gamma",
                "out = gamma * x_hat + beta, so the gradient reaching x_hat is dout * gamma. "
                "With gamma = 1 the two agree, which is why a test with gamma = 1 hides this bug.",
                batchnorm_backward_without_gamma),
        Mistake("dgamma_dbeta_swapped", "dgamma and dbeta swapped",
                "dbeta = sum of dout over the batch; dgamma = sum of dout * x_hat. Return them in "
                "the order (dx, dgamma, dbeta).", batchnorm_backward_dgamma_dbeta_swapped),
    ],
    "label_smoothing": [
        Mistake("smoothing_over_other_classes", "eps spread over the other K - 1 classes",
                "This assignment's convention is (1 - eps) * y + eps / K: every class, the true "
                "one included, gets eps / K. Spreading eps over the K - 1 wrong classes is "
                "another convention.", smoothing_over_other_classes),
        Mistake("smoothing_not_rescaled", "Targets that no longer sum to 1",
                "Adding eps / K without scaling y by (1 - eps) makes each row sum to 1 + eps: "
                "the targets are no longer a probability distribution.", smoothing_not_rescaled),
        Mistake("smoothing_classes_from_rows", "K taken from the wrong axis",
                "y_onehot has shape (N, K): the number of classes is y_onehot.shape[1], not shape[0].",
                smoothing_classes_from_rows),
    ],
    "mixup": [
        Mistake("mixup_lam_swapped", "lam and 1 - lam swapped",
                "lam weighs the original example: x_mixed = lam * x + (1 - lam) * x[perm], and the "
                "same weights for the labels.", mixup_lam_swapped),
        Mistake("labels_not_mixed", "Labels not mixed",
                "Mixup mixes the targets with the same weights as the inputs; a blend of two "
                "images labelled as only one of them teaches the network a wrong answer.",
                mixup_labels_not_mixed),
        Mistake("inverse_permutation", "Partner taken with the inverse permutation",
                "Example i is mixed with example perm[i]: use x[perm] and y_onehot[perm].",
                mixup_inverse_permutation),
    ],
}
