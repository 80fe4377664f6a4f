"""Hidden checks of assignment 02 (adaptive learning rates).

The epsilon mistakes (inside or outside the square root) only show when eps is not tiny
next to the root of the accumulator, so the cases use a sizeable eps (0.1, 0.01) or
gradients of size 1e-3 to 1e-5 with small accumulators. Parameters are small next to
the step (relative differences are measured against the largest entry), learning rates
are not 1, and Adam runs multi-step trajectories with its counter t, so that bias
correction, the counter and the stored state all matter.
"""
import numpy as np

from grader.checks.specs import ByReference, Case
from grader.hidden import generator

SEED = 20260202


def bowl_gradient(curvatures):
    c = np.asarray(curvatures, dtype=float)
    return lambda w: c * w


def _f32(kwargs):
    return {k: v.astype(np.float32) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


# --- Adagrad -------------------------------------------------------------------------

def _adagrad_cases(rng):
    normal, uniform = rng.standard_normal, rng.uniform
    return [
        Case("one step, sizeable eps", dict(w=0.01 * normal(5), grad=uniform(0.05, 0.3, 5) * rng.choice([-1, 1], 5),
                                            G=uniform(0.3, 0.6, 5), lr=0.5, eps=0.1)),
        Case("one step, small accumulator, matrix weights",
             dict(w=0.01 * normal((3, 4)), grad=uniform(0.05, 0.3, (3, 4)), G=uniform(0.01, 0.05, (3, 4)),
                  lr=0.2, eps=0.1)),
        Case("one step, gradients of size 1e-3", dict(w=1e-3 * normal(4), grad=1e-3 * uniform(0.5, 3.0, 4),
                                                      G=1e-6 * uniform(0.5, 2.0, 4), lr=0.01, eps=1e-3)),
        Case("one step, float32", _f32(dict(w=0.01 * normal(6), grad=uniform(0.05, 0.3, 6), G=uniform(0.02, 0.1, 6),
                                            lr=0.3, eps=0.1)), rtol=1e-4),
        Case("20 steps on an elongated bowl from G = 0", dict(w=np.array([3.0, 2.0]), G=np.zeros(2), lr=0.3, eps=0.5),
             steps=20, gradient=bowl_gradient([0.1, 1.0]), carry=("w", "G")),
    ]


# --- RMSProp -------------------------------------------------------------------------

def _rmsprop_cases(rng):
    normal, uniform = rng.standard_normal, rng.uniform
    return [
        Case("one step, sizeable eps", dict(w=0.01 * normal(5), grad=uniform(0.1, 0.5, 5) * rng.choice([-1, 1], 5),
                                            s=uniform(0.005, 0.03, 5), lr=0.1, rho=0.9, eps=0.1)),
        Case("one step, matrix weights", dict(w=0.005 * normal((3, 4)), grad=0.2 * normal((3, 4)),
                                              s=uniform(0.005, 0.02, (3, 4)), lr=0.05, rho=0.8, eps=0.05)),
        Case("one step, gradients of size 1e-3", dict(w=1e-3 * normal(4), grad=1e-3 * normal(4),
                                                      s=1e-7 * uniform(0.5, 2.0, 4), lr=1e-3, rho=0.9, eps=1e-4)),
        Case("one step, float32", _f32(dict(w=0.01 * normal(6), grad=0.3 * normal(6), s=uniform(0.01, 0.05, 6),
                                            lr=0.05, rho=0.9, eps=0.1)), rtol=1e-4),
        Case("30 steps on an elongated bowl from s = 0", dict(w=np.array([2.0, -1.0]), s=np.zeros(2), lr=0.1,
                                                              rho=0.9, eps=0.1),
             steps=30, gradient=bowl_gradient([0.5, 5.0]), carry=("w", "s")),
    ]


# --- Adadelta ------------------------------------------------------------------------

def _adadelta_cases(rng):
    normal, uniform = rng.standard_normal, rng.uniform
    return [
        Case("one step, sizeable eps", dict(w=0.05 * normal(5), grad=normal(5), Eg2=uniform(0.0, 0.05, 5),
                                            Edx2=uniform(0.005, 0.02, 5), rho=0.9, eps=0.01)),
        Case("one step, matrix weights", dict(w=0.05 * normal((3, 4)), grad=2 * normal((3, 4)),
                                              Eg2=uniform(0.0, 0.1, (3, 4)), Edx2=uniform(0.01, 0.05, (3, 4)),
                                              rho=0.8, eps=0.02)),
        Case("first step from zero state", dict(w=0.01 * normal(4), grad=normal(4), Eg2=np.zeros(4),
                                                Edx2=np.zeros(4), rho=0.95, eps=1e-4)),
        Case("one step, float32", _f32(dict(w=0.05 * normal(6), grad=normal(6), Eg2=uniform(0.0, 0.05, 6),
                                            Edx2=uniform(0.005, 0.02, 6), rho=0.9, eps=0.01)), rtol=1e-4),
        Case("40 steps on an elongated bowl from zero state",
             dict(w=np.array([1.0, 0.5]), Eg2=np.zeros(2), Edx2=np.zeros(2), rho=0.9, eps=1e-2),
             steps=40, gradient=bowl_gradient([1.0, 10.0]), carry=("w", "Eg2", "Edx2")),
    ]


# --- Adam ----------------------------------------------------------------------------

def _adam_cases(rng):
    normal, uniform = rng.standard_normal, rng.uniform
    defaults = dict(beta1=0.9, beta2=0.999)
    return [
        Case("first step (t = 1) from zero moments, eps = 0.1",
             dict(w=0.01 * normal(5), grad=uniform(0.1, 2.0, 5), m=np.zeros(5), v=np.zeros(5), t=1, lr=0.1, eps=0.1,
                  **defaults)),
        Case("step t = 2, positive gradients, small second moment",
             dict(w=0.02 * normal(5), grad=uniform(0.1, 0.5, 5), m=uniform(0.05, 0.2, 5), v=uniform(2e-4, 6e-4, 5),
                  t=2, lr=0.05, eps=0.01, beta1=0.8, beta2=0.99)),
        Case("step t = 3, gradients of both signs",
             dict(w=0.01 * normal((2, 3)), grad=normal((2, 3)), m=0.1 * normal((2, 3)), v=uniform(0.02, 0.05, (2, 3)),
                  t=3, lr=0.05, eps=0.1, beta1=0.9, beta2=0.99)),
        Case("step t = 3, gradients of size 1e-5, eps = 1e-6",
             dict(w=1e-4 * normal((2, 3)), grad=1e-5 * uniform(0.5, 2.0, (2, 3)), m=1e-6 * uniform(0.5, 2.0, (2, 3)),
                  v=1e-11 * uniform(1.0, 3.0, (2, 3)), t=3, lr=1e-3, eps=1e-6, beta1=0.9, beta2=0.99)),
        Case("step t = 2, float32",
             _f32(dict(w=0.005 * normal(6), grad=0.3 * normal(6), m=0.05 * normal(6), v=uniform(0.01, 0.02, 6), t=2,
                       lr=0.05, eps=0.05, beta1=0.9, beta2=0.99)), rtol=1e-4),
        Case("30 steps on an elongated bowl (t = 1, 2, ...), default hyperparameters",
             dict(w=np.array([4.0, 3.0]), m=np.zeros(2), v=np.zeros(2), t=1, lr=0.05, eps=1e-8, **defaults),
             steps=30, gradient=bowl_gradient([1.0, 10.0]), carry=("w", "m", "v"), counter="t"),
        Case("30 steps on a shallow bowl (t = 1, 2, ...), eps = 0.1",
             dict(w=np.array([3.0, 2.0]), m=np.zeros(2), v=np.zeros(2), t=1, lr=0.05, eps=0.1, **defaults),
             steps=30, gradient=bowl_gradient([0.2, 0.5]), carry=("w", "m", "v"), counter="t"),
    ]


SPECS = {
    "adagrad_step": ByReference(
        outputs=("w_new", "G_new"),
        cases=_adagrad_cases(generator(SEED, "adagrad_step")),
        visible=dict(w=np.array([0.01, -0.02, 0.005]), grad=np.array([0.2, -0.1, 0.3]),
                     G=np.array([0.02, 0.15, 0.05]), lr=0.2, eps=0.1),
    ),
    "rmsprop_step": ByReference(
        outputs=("w_new", "s_new"),
        cases=_rmsprop_cases(generator(SEED, "rmsprop_step")),
        visible=dict(w=np.array([0.01, -0.02, 0.005]), grad=np.array([0.4, -0.2, 0.3]),
                     s=np.array([0.01, 0.002, 0.03]), lr=0.1, rho=0.9, eps=0.1),
    ),
    "adadelta_step": ByReference(
        outputs=("w_new", "Eg2_new", "Edx2_new"),
        cases=_adadelta_cases(generator(SEED, "adadelta_step")),
        visible=dict(w=np.array([0.05, -0.1, 0.02]), grad=np.array([0.8, -0.3, 1.6]),
                     Eg2=np.array([0.01, 0.0, 0.03]), Edx2=np.array([0.01, 0.005, 0.02]), rho=0.9, eps=0.01),
    ),
    "adam_step": ByReference(
        outputs=("w_new", "m_new", "v_new"),
        cases=_adam_cases(generator(SEED, "adam_step")),
        visible=dict(w=np.array([0.01, -0.02, 0.005]), grad=np.array([0.3, 0.2, 0.5]),
                     m=np.array([0.1, 0.05, 0.2]), v=np.array([3e-4, 2e-4, 5e-4]), t=3,
                     lr=0.05, beta1=0.8, beta2=0.99, eps=0.01),
    ),
}
