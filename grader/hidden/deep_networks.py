"""Hidden checks of assignment 07 (training deep networks).

The initialisations are random, so they are judged by properties (course_lib.checks.deep_networks
.init_problem): shape, bound, mean, variance and shape of the distribution on 60 000 weights,
within tolerances that a correct implementation misses with probability below 1e-8 per test
(the bounds are stated there), reproducibility from rng and independence from np.random. In the
large cases the fans differ, and the variance of every catalogued mistake lies at least 20% from
the right one and from the others (the statistical tolerance is below 4%; a test keeps it so).

mlp_forward is judged on its output only (the cache is the student's business), against the
reference, for 1 (purely linear), 2, 3 and 4 layers, each activation, float32 and N=1.
mlp_backward runs on the cache of the student's *own* mlp_forward (looked up in the notebook, or
the reference's when the submission has none): when that forward agrees with the reference, its
gradients are compared with the reference's; otherwise with central differences of the student's
forward. Square layers in some cases let a transposed dW or a reversed list show in the values.

The schedules are judged by their values at every step of a short stretch of a run (ByReference
trajectories with `counter="step"`): around a drop, the start, the end of warm-up and the end of the
run, with min_lr != 0 and step sizes where every mistake shows. Each step is one call into the
grading kernel, so the stretches hold only the steps that tell the mistakes apart.

sharpness and top_hessian_eigenvalue run on quadratic losses with known Hessians
(course_lib.landscapes, handed over as wire Recipes that record where they were evaluated):
see course_lib.checks.deep_networks.sharpness_problem and top_hessian_problem.
"""
import numpy as np

from course_lib.checking import close, companion, invoke, mistake_message
from course_lib.checks.deep_networks import (ACTIVATIONS, backward_outputs, backward_problem, flat_network,
                                             forward_out, init_problem, landscape, network_case, schedule_values,
                                             sharpness_problem, stored_network, top_hessian_problem)
from grader.checks.specs import ByProperties, ByReference, Case, Visible, diagnose
from grader.hidden import generator
from grader.mistakes.deep_networks import MISTAKES
from grader.reference import deep_networks as reference

SEED = 20260707


def _init_checks(name, cases):
    return [(f"fan_in={fi}, fan_out={fo}, " + (f"distribution={dist!r}" if given else f"the default distribution ({dist})"),
             lambda fn, fi=fi, fo=fo, dist=dist, seed=seed, given=given:
             init_problem(fn, name, fi, fo, dist, seed, pass_distribution=given))
            for fi, fo, dist, seed, given in cases]


XAVIER = [(200, 300, "uniform", 11, True), (400, 150, "normal", 12, True), (150, 400, "uniform", 13, False),
          (3, 2, "uniform", 14, True), (1, 1, "normal", 15, True)]
HE = [(200, 300, "normal", 21, True), (300, 200, "uniform", 22, True), (250, 120, "normal", 23, False),
      (5, 3, "uniform", 24, True), (1, 1, "normal", 25, True)]


# --- the network ------------------------------------------------------------------------------
def _network_cases(rng):
    seed = lambda: int(rng.integers(2**31))
    return [
        ("1 layer (purely linear), N=5", network_case((4, 3), 5, seed()), "tanh", 1e-6),
        ("2 layers, sigmoid, N=6", network_case((3, 5, 2), 6, seed()), "sigmoid", 1e-6),
        ("2 square layers, tanh, N=4", network_case((4, 4, 4), 4, seed()), "tanh", 1e-6),
        ("4 layers, relu, N=7", network_case((5, 6, 4, 3, 2), 7, seed()), "relu", 1e-6),
        ("3 square layers, relu, N=5", network_case((3, 3, 3, 3), 5, seed()), "relu", 1e-6),
        ("3 layers, sigmoid, float32", network_case((3, 4, 4, 2), 5, seed(), np.float32), "sigmoid", 1e-4),
        ("N=1, 2 layers, tanh", network_case((3, 4, 2), 1, seed()), "tanh", 1e-6),
    ]


def _forward_check(case, activation, rtol):
    kwargs = dict(case, activation=activation)

    def check(fn):
        expected = forward_out(reference.mlp_forward, kwargs)
        got = forward_out(fn, kwargs)
        if close([got], [expected], rtol):
            return None
        mistake = diagnose([got], MISTAKES["mlp_forward"], lambda m: [forward_out(m, kwargs)])
        return "out differs from the reference." + (
            "\n" + mistake_message(mistake.key, mistake.title, mistake.hint) if mistake else "")

    return check


def _backward_check(case, activation, rtol, seed):
    kwargs = dict(case, activation=activation)
    out_shape = (case["X"].shape[0], case["weights"][-1].shape[1])
    dout = np.random.default_rng(seed).standard_normal(out_shape).astype(case["X"].dtype)

    def reference_cache_run(m):
        return backward_outputs(m(dout, reference.mlp_forward(**kwargs)[1]), case["weights"])

    def check(fn):
        forward = companion(fn, "mlp_forward") or reference.mlp_forward
        expected = reference_cache_run(reference.mlp_backward)
        ref_out = forward_out(reference.mlp_forward, kwargs)
        outcome = invoke(forward, kwargs)
        theirs = outcome.result[0] if outcome.error is None and isinstance(outcome.result, (tuple, list)) \
            and len(outcome.result) == 2 else None
        matches = isinstance(theirs, np.ndarray) and theirs.shape == ref_out.shape and close([theirs], [ref_out], rtol)
        if not matches:
            if case["X"].dtype == np.float32:
                return ("your mlp_forward does not agree with the reference on this float32 case, so mlp_backward "
                        "cannot be judged on it: fix the forward pass first.")
            expected = None     # judged against central differences of the student's own forward

        def name_mistake(produced):
            mistake = diagnose(produced, MISTAKES["mlp_backward"], reference_cache_run)
            return "\n" + mistake_message(mistake.key, mistake.title, mistake.hint) if mistake else ""

        return backward_problem(fn, forward, case, activation, dout, expected=expected,
                                rtol=rtol if matches else 1e-5, name_mistake=name_mistake)

    return check


# --- schedules ------------------------------------------------------------------------------------
def _schedule(label, steps, rtol=1e-6, **kwargs):
    return Case(label, kwargs, rtol=rtol, steps=steps, counter="step")


STEP_DECAY = [
    _schedule("every=5, drop=0.5, steps 3 to 6", 4, step=3, base_lr=0.1, drop=0.5, every=5),
    _schedule("every=1, drop=0.8, steps 0 to 2", 3, step=0, base_lr=1.0, drop=0.8, every=1),
    _schedule("every=10, drop=0.9, steps 9 to 11", 3, step=9, base_lr=3.0, drop=0.9, every=10),
    _schedule("every=30, drop=0.1, steps 119 to 120", 2, step=119, base_lr=0.5, drop=0.1, every=30),
    _schedule("float32 base_lr, every=4, drop=0.5, steps 3 to 5", 3, rtol=1e-4, step=3, base_lr=np.float32(0.05),
              drop=0.5, every=4),
]
COSINE = [
    _schedule("10 steps, default min_lr and warm-up, steps 0 to 3", 4, step=0, total_steps=10, base_lr=0.1),
    _schedule("16 steps, 4 of warm-up, min_lr 0.05, steps 2 to 6", 5, step=2, total_steps=16, base_lr=0.5,
              min_lr=0.05, warmup_steps=4),
    _schedule("8 steps, 1 of warm-up, min_lr 0.1, steps 0 to 2", 3, step=0, total_steps=8, base_lr=1.0, min_lr=0.1,
              warmup_steps=1),
    _schedule("12 steps, 5 of warm-up, steps 4 to 6", 3, step=4, total_steps=12, base_lr=0.3, min_lr=0.0,
              warmup_steps=5),
    _schedule("12 steps, min_lr 0.01, no warm-up, steps 8 to 11", 4, step=8, total_steps=12, base_lr=0.1,
              min_lr=0.01),
]


# --- curvature ------------------------------------------------------------------------------------
SHARPNESS = [   # (what the case is about, the Hessian's eigenvalues, sharpness_problem's arguments)
    ("at a minimum", [4.0, 2.0, 1.0, 0.5, 0.1], dict(radius=0.1, n_samples=400)),
    ("away from the minimum", [3.0, 1.0, 0.2], dict(radius=0.5, n_samples=300, at_minimum=False)),
    ("float32 w", [2.0, 1.5, 0.5, 0.25], dict(radius=0.3, n_samples=200, dtype=np.float32)),
    ("one sample", [5.0, 1.0, 1.0, 0.5, 0.3, 0.1], dict(radius=0.2, n_samples=1)),
    ("a large radius", [1.0, 0.1], dict(radius=2.0, n_samples=300)),
]
TOP_EIGENVALUE = [   # (what the case is about, the Hessian's eigenvalues, top_hessian_problem's arguments)
    ("the default iters and h", [5.0, 2.5, 1.2, 0.6, 0.3, 0.1], dict()),
    ("a saddle whose strongest curvature is negative", [-4.0, 2.0, 1.0, 0.5, -0.3], dict(iters=80)),
    ("not converged", [3.0, 2.5, 1.0, 0.2], dict(iters=3, converged=False)),
    ("a larger h", [10.0, 3.0, -1.0], dict(iters=60, h=1e-3)),
    ("d=10", [8.0, 4.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1], dict(iters=50)),
]


def _sharpness_label(about, eigenvalues, kw):
    return f"d={len(eigenvalues)}, radius={kw['radius']}, n_samples={kw['n_samples']} ({about})"


def _top_eigenvalue_label(about, eigenvalues, kw):
    return f"d={len(eigenvalues)}, iters={kw.get('iters', 100)}, h={kw.get('h', 1e-5)} ({about})"


def _run_forward(fn, inputs):
    return [fn(**stored_network(inputs), activation=a)[0] for a in ACTIVATIONS]


def _run_backward(fn, inputs):
    """Every gradient of fn (a backward pass) on the reference forward's cache, for each activation in turn."""
    case = stored_network(inputs)
    grads = []
    for activation, dout in zip(ACTIVATIONS, inputs["douts"]):
        cache = reference.mlp_forward(**case, activation=activation)[1]
        dX, dweights, dbiases = fn(np.asarray(dout, dtype=float), cache)
        grads += [dX, *dweights, *dbiases]
    return grads


def _run_schedule(name):
    return lambda fn, inputs: [schedule_values(fn, name, inputs)]


def _visible_network(name, douts=False):
    rng = generator(SEED, f"{name} visible")
    case = network_case((3, 5, 4, 2), 4, int(rng.integers(2**31)))
    inputs = flat_network(case)
    if douts:
        inputs["douts"] = rng.standard_normal((len(ACTIVATIONS), 4, 2))
    return inputs


# The stored values of the visible checks: a 3-layer network's output for each activation, the
# gradients of each catalogued backward mistake (the visible check itself compares with central
# differences of the student's own forward), and each schedule over a whole run.
VISIBLE = {
    "mlp_forward": Visible(_visible_network("mlp_forward"), ("out_sigmoid", "out_tanh", "out_relu"), _run_forward),
    "mlp_backward": Visible(_visible_network("mlp_backward", douts=True), ("gradients",), _run_backward,
                            expected=False),
    "step_decay_lr": Visible(dict(steps=np.arange(26), base_lr=0.1, drop=0.5, every=6), ("lr",),
                             _run_schedule("step_decay_lr")),
    "cosine_lr": Visible(dict(steps=np.arange(30), total_steps=30, base_lr=0.2, min_lr=0.02, warmup_steps=5),
                         ("lr",), _run_schedule("cosine_lr")),
}


# mlp_backward is checked on the cache of the student's own mlp_forward.
DEPENDS = {"mlp_backward": ["mlp_forward"]}


def _visible_step(name):
    """A ByReference spec's own one-call visible input: the first step of VISIBLE's run (which replaces it)."""
    inputs = {k: v for k, v in VISIBLE[name].inputs.items() if k != "steps"}
    return dict(inputs, step=0)


SPECS = {
    "mlp_forward": ByProperties(checks=[(label, _forward_check(case, activation, rtol))
                                        for label, case, activation, rtol in
                                        _network_cases(generator(SEED, "mlp_forward"))]),
    "mlp_backward": ByProperties(checks=[(label, _backward_check(case, activation, rtol, seed))
                                         for seed, (label, case, activation, rtol) in
                                         enumerate(_network_cases(generator(SEED, "mlp_backward")))]),
    "xavier_init": ByProperties(checks=_init_checks("xavier_init", XAVIER)),
    "he_init": ByProperties(checks=_init_checks("he_init", HE)),
    "step_decay_lr": ByReference(outputs=("lr",), cases=STEP_DECAY, visible=_visible_step("step_decay_lr")),
    "cosine_lr": ByReference(outputs=("lr",), cases=COSINE, visible=_visible_step("cosine_lr")),
    "sharpness": ByProperties(checks=[
        (_sharpness_label(about, eig, kw),
         lambda fn, eig=eig, kw=kw, s=s: sharpness_problem(fn, landscape(eig, seed=30 + s), seed=40 + s, **kw))
        for s, (about, eig, kw) in enumerate(SHARPNESS)]),
    "top_hessian_eigenvalue": ByProperties(checks=[
        (_top_eigenvalue_label(about, eig, kw),
         lambda fn, eig=eig, kw=kw, s=s: top_hessian_problem(fn, landscape(eig, seed=50 + s), seed=60 + s, **kw))
        for s, (about, eig, kw) in enumerate(TOP_EIGENVALUE)]),
}
