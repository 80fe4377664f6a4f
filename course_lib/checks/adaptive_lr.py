"""Visible checks of assignment 02 (adaptive learning rates).

Each `check_<function>` raises CheckFailed with a message naming what is wrong, or
prints a line saying the function passed. Grading runs more, hidden, cases (more
shapes, float32, and multi-step trajectories that feed the state back in).
"""
from course_lib.checking import check_against_fixture

TOPIC = "adaptive_lr"


def check_adagrad_step(adagrad_step) -> None:
    """adagrad_step(w, grad, G, lr, eps) -> (w_new, G_new) on one stored step."""
    check_against_fixture(adagrad_step, TOPIC, "adagrad_step")


def check_rmsprop_step(rmsprop_step) -> None:
    """rmsprop_step(w, grad, s, lr, rho, eps) -> (w_new, s_new) on one stored step."""
    check_against_fixture(rmsprop_step, TOPIC, "rmsprop_step")


def check_adadelta_step(adadelta_step) -> None:
    """adadelta_step(w, grad, Eg2, Edx2, rho, eps) -> (w_new, Eg2_new, Edx2_new) on one stored step."""
    check_against_fixture(adadelta_step, TOPIC, "adadelta_step")


def check_adam_step(adam_step) -> None:
    """adam_step(w, grad, m, v, t, lr, beta1, beta2, eps) -> (w_new, m_new, v_new) on one stored step."""
    check_against_fixture(adam_step, TOPIC, "adam_step")
