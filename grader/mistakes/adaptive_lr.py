"""Catalogued mistakes of assignment 02 (adaptive learning rates).

Each implementation is a self-contained function with the graded function's signature,
so that it can be dropped into a submission (the tests do this).
"""
import numpy as np

from course_lib.checking import MUTATION
from grader.checks.specs import Mistake


# --- Adagrad -------------------------------------------------------------------------

def adagrad_sums_gradients(w, grad, G, lr, eps):
    G = G + grad
    return w - lr * grad / (np.sqrt(G) + eps), G


def adagrad_old_accumulator(w, grad, G, lr, eps):
    return w - lr * grad / (np.sqrt(G) + eps), G + grad**2


def adagrad_eps_inside(w, grad, G, lr, eps):
    G = G + grad**2
    return w - lr * grad / np.sqrt(G + eps), G


def adagrad_no_sqrt(w, grad, G, lr, eps):
    G = G + grad**2
    return w - lr * grad / (G + eps), G


def adagrad_in_place(w, grad, G, lr, eps):
    G += grad**2
    w -= lr * grad / (np.sqrt(G) + eps)
    return w, G


# --- RMSProp -------------------------------------------------------------------------

def rmsprop_without_one_minus_rho(w, grad, s, lr, rho, eps):
    s = rho * s + grad**2
    return w - lr * grad / (np.sqrt(s) + eps), s


def rmsprop_old_average(w, grad, s, lr, rho, eps):
    return w - lr * grad / (np.sqrt(s) + eps), rho * s + (1 - rho) * grad**2


def rmsprop_rho_swapped(w, grad, s, lr, rho, eps):
    s = (1 - rho) * s + rho * grad**2
    return w - lr * grad / (np.sqrt(s) + eps), s


def rmsprop_eps_inside(w, grad, s, lr, rho, eps):
    s = rho * s + (1 - rho) * grad**2
    return w - lr * grad / np.sqrt(s + eps), s


def rmsprop_in_place(w, grad, s, lr, rho, eps):
    s *= rho
    s += (1 - rho) * grad**2
    w -= lr * grad / (np.sqrt(s) + eps)
    return w, s


# --- Adadelta ------------------------------------------------------------------------

def adadelta_no_eps_in_numerator(w, grad, Eg2, Edx2, rho, eps):
    Eg2 = rho * Eg2 + (1 - rho) * grad**2
    dx = -np.sqrt(Edx2) / np.sqrt(Eg2 + eps) * grad
    Edx2 = rho * Edx2 + (1 - rho) * dx**2
    return w + dx, Eg2, Edx2


def adadelta_step_with_updated_edx2(w, grad, Eg2, Edx2, rho, eps):
    Eg2 = rho * Eg2 + (1 - rho) * grad**2
    first_guess = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grad
    Edx2 = rho * Edx2 + (1 - rho) * first_guess**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grad
    return w + dx, Eg2, Edx2


def adadelta_old_eg2(w, grad, Eg2, Edx2, rho, eps):
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grad
    Eg2 = rho * Eg2 + (1 - rho) * grad**2
    Edx2 = rho * Edx2 + (1 - rho) * dx**2
    return w + dx, Eg2, Edx2


def adadelta_eps_outside(w, grad, Eg2, Edx2, rho, eps):
    Eg2 = rho * Eg2 + (1 - rho) * grad**2
    dx = -(np.sqrt(Edx2) + eps) / (np.sqrt(Eg2) + eps) * grad
    Edx2 = rho * Edx2 + (1 - rho) * dx**2
    return w + dx, Eg2, Edx2


def adadelta_ascent(w, grad, Eg2, Edx2, rho, eps):
    Eg2 = rho * Eg2 + (1 - rho) * grad**2
    dx = np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grad
    Edx2 = rho * Edx2 + (1 - rho) * dx**2
    return w + dx, Eg2, Edx2


def adadelta_in_place(w, grad, Eg2, Edx2, rho, eps):
    Eg2 *= rho
    Eg2 += (1 - rho) * grad**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grad
    Edx2 *= rho
    Edx2 += (1 - rho) * dx**2
    w += dx
    return w, Eg2, Edx2


# --- Adam ----------------------------------------------------------------------------

def adam_no_bias_correction(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return w - lr * m / (np.sqrt(v) + eps), m, v


def adam_only_m_corrected(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    return w - lr * m_hat / (np.sqrt(v) + eps), m, v


def adam_only_v_corrected(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    v_hat = v / (1 - beta2**t)
    return w - lr * m / (np.sqrt(v_hat) + eps), m, v


def adam_t_plus_one(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**(t + 1))
    v_hat = v / (1 - beta2**(t + 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_eps_inside(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / np.sqrt(v_hat + eps), m, v


def adam_eps_hat(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    step = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - step * m / (np.sqrt(v) + eps), m, v


def adam_stores_corrected(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


def adam_v_without_square(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_betas_swapped(w, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta2 * m + (1 - beta2) * grad
    v = beta1 * v + (1 - beta1) * grad**2
    m_hat = m / (1 - beta2**t)
    v_hat = v / (1 - beta1**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_in_place(w, grad, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad**2
    w -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, m, v


EPS_OUTSIDE = ("This course adds eps outside the square root, sqrt(...) + eps. Inside, eps under the "
               "root acts like a much larger constant: sqrt(eps) instead of eps, so it damps every "
               "coordinate whose gradients are smaller than about sqrt(eps).")

MISTAKES = {
    "adagrad_step": [
        Mistake("adagrad_sums_gradients", "Accumulating gradients instead of squared gradients",
                "Your G adds up the gradients themselves (G + grad). Adagrad accumulates their "
                "squares, G + grad**2: signed gradients cancel, so G would not measure how large "
                "the past gradients were (and could even turn negative).", adagrad_sums_gradients),
        Mistake("adagrad_old_accumulator", "Step taken with the old accumulator",
                "You divided by sqrt of the G from before this step. Add this step's grad**2 to G "
                "first, then divide by sqrt(G_new) + eps; that also keeps the very first step "
                "finite when G starts at zero.", adagrad_old_accumulator),
        Mistake("adagrad_eps_inside", "Epsilon inside the square root",
                EPS_OUTSIDE + " Use grad / (sqrt(G) + eps).", adagrad_eps_inside),
        Mistake("adagrad_no_sqrt", "Dividing by G instead of sqrt(G)",
                "G is a sum of squared gradients; its square root has the units of a gradient, so "
                "grad / sqrt(G) is unit-free. Dividing by G itself makes the step depend on the "
                "scale of the loss.", adagrad_no_sqrt),
        Mistake("mutates_input", *MUTATION, adagrad_in_place),
    ],
    "rmsprop_step": [
        Mistake("rmsprop_without_one_minus_rho", "Missing the (1 - rho) factor",
                "You used s = rho*s + grad**2. Without the factor (1 - rho) s is not an average of "
                "squared gradients but about 1/(1 - rho) times one, ten times too large for rho = 0.9, "
                "so every step is about sqrt(10) times too small.", rmsprop_without_one_minus_rho),
        Mistake("rmsprop_old_average", "Step taken with the old average",
                "You divided by sqrt of the s from before this step. Update s with this step's "
                "grad**2 first, then divide by sqrt(s_new) + eps.", rmsprop_old_average),
        Mistake("rmsprop_rho_swapped", "rho and (1 - rho) swapped",
                "Your average keeps (1 - rho) of the old s and takes rho of the new grad**2. rho is the "
                "fraction of the past that is kept: s = rho*s + (1 - rho)*grad**2.", rmsprop_rho_swapped),
        Mistake("rmsprop_eps_inside", "Epsilon inside the square root",
                EPS_OUTSIDE + " Use grad / (sqrt(s) + eps).", rmsprop_eps_inside),
        Mistake("mutates_input", *MUTATION, rmsprop_in_place),
    ],
    "adadelta_step": [
        Mistake("adadelta_no_eps_in_numerator", "No epsilon in the numerator",
                "Your numerator is sqrt(Edx2). Edx2 starts at zero, so the first step is zero, Edx2 "
                "stays zero, and Adadelta never moves. The eps in sqrt(Edx2 + eps) is what starts it.",
                adadelta_no_eps_in_numerator),
        Mistake("adadelta_step_with_updated_edx2", "Step computed with the already updated Edx2",
                "Your step uses an Edx2 that already includes this step's update. The numerator is "
                "the RMS of the *previous* updates: compute dx with the old Edx2, then update "
                "Edx2 = rho*Edx2 + (1 - rho)*dx**2.", adadelta_step_with_updated_edx2),
        Mistake("adadelta_old_eg2", "Step taken with the old Eg2",
                "You divided by the Eg2 from before this step. Update Eg2 with this step's grad**2 "
                "first, then compute dx with the new Eg2.", adadelta_old_eg2),
        Mistake("adadelta_eps_outside", "Epsilon outside the square roots",
                "Adadelta's eps belongs inside both roots, sqrt(Edx2 + eps) / sqrt(Eg2 + eps): there "
                "it sets the size of the first steps (about sqrt(eps) per unit of gradient RMS). "
                "Added outside, it is far too small to start the method.", adadelta_eps_outside),
        Mistake("adadelta_ascent", "Update with the wrong sign",
                "Your dx points along the gradient, uphill. The update is "
                "dx = -sqrt(Edx2 + eps) / sqrt(Eg2 + eps) * grad, and w_new = w + dx.", adadelta_ascent),
        Mistake("mutates_input", *MUTATION, adadelta_in_place),
    ],
    "adam_step": [
        Mistake("adam_no_bias_correction", "No bias correction",
                "You stepped with m and v themselves. Both start at zero, so in the first steps they "
                "are far too small; divide by (1 - beta1**t) and (1 - beta2**t) before the step.",
                adam_no_bias_correction),
        Mistake("adam_only_m_corrected", "Bias correction of m only",
                "You corrected m but not v. Both moments start at zero and both need their "
                "correction: v_hat = v / (1 - beta2**t). Without it the early steps are far too "
                "large (sqrt(v) underestimates the gradient size).", adam_only_m_corrected),
        Mistake("adam_only_v_corrected", "Bias correction of v only",
                "You corrected v but not m. Both moments start at zero and both need their "
                "correction: m_hat = m / (1 - beta1**t).", adam_only_v_corrected),
        Mistake("adam_t_plus_one", "Step counter off by one (t + 1)",
                "Your bias correction uses t + 1. The argument t is already the 1-based number of "
                "this step (t = 1 on the first call), so correct with 1 - beta**t.", adam_t_plus_one),
        Mistake("adam_eps_inside", "Epsilon inside the square root",
                EPS_OUTSIDE + " Use m_hat / (sqrt(v_hat) + eps).", adam_eps_inside),
        Mistake("adam_eps_hat", "Epsilon added before the bias correction of v",
                "You folded the bias corrections into the learning rate and added eps to sqrt(v) "
                "(the 'efficient' form of the Adam paper, also TensorFlow's epsilon-hat). That is a "
                "different algorithm whenever eps matters: this course adds eps to sqrt(v_hat).",
                adam_eps_hat),
        Mistake("adam_stores_corrected", "Bias-corrected moments returned as state",
                "You returned m_hat and v_hat. The state must hold the uncorrected running averages m "
                "and v; the correction is recomputed from them at every step. Storing the corrected "
                "values corrects them again on the next step.", adam_stores_corrected),
        Mistake("adam_v_without_square", "Second moment of grad instead of grad**2",
                "Your v averages the gradients, not their squares: v = beta2*v + (1 - beta2)*grad**2. "
                "Without the square v is a second copy of m and can be negative.", adam_v_without_square),
        Mistake("adam_betas_swapped", "beta1 and beta2 swapped",
                "beta1 belongs to the first moment m (the momentum, short memory, 0.9) and beta2 to "
                "the second moment v (long memory, 0.999).", adam_betas_swapped),
        Mistake("mutates_input", *MUTATION, adam_in_place),
    ],
}
