"""Machinery behind the visible checks: call a student's function safely and judge its output.

A failed check raises `CheckFailed` (an AssertionError) whose message says what is wrong
and, when the result matches a catalogued mistake, names it. Expected values are never
printed.
"""
import contextlib
import copy
import inspect
import io
import json
import os
import re
import textwrap
import warnings
from importlib import resources

import numpy as np

from course_lib.wire import Handle

MISTAKE_MARK = "Named mistake:"
NOT_IMPLEMENTED = "is not implemented yet"
RTOL = 1e-6
MISTAKE_RTOL = 1e-4     # a result this close to a catalogued mistake's is named as that mistake
HINT_WIDTH = 80         # hints are wrapped here, so a notebook's output never breaks a word
MUTATION = ("Input modified in place",
            "Graded functions must leave their inputs unchanged, because the caller may still need "
            "them (to plot a path, or to retry a step). Work on a copy (w = w.copy(); w -= ...) or "
            "build new arrays (w - lr * grad).")


class CheckFailed(AssertionError):
    """A check found something wrong; the message tells the student what."""

    def _render_traceback_(self) -> list:
        """What IPython shows instead of a traceback through the checks: the message alone."""
        return [f"\x1b[0;31mCheckFailed\x1b[0m: {self}"]


def mistake_message(key: str, title: str, hint: str) -> str:
    """The one format in which every check names a catalogued mistake: its title and key on one
    line, then the hint, indented and wrapped at HINT_WIDTH characters between words."""
    hint = textwrap.fill(" ".join(hint.split()), width=HINT_WIDTH, initial_indent="  ", subsequent_indent="  ",
                         break_long_words=False, break_on_hyphens=False)
    return f"{MISTAKE_MARK} {title} [{key}]\n{hint}"


# a mistake_message inside a longer text: its title line, then its indented hint lines
MISTAKE_BLOCK = re.compile(rf"^{re.escape(MISTAKE_MARK)} (?P<title>[^\n\[\]]{{1,200}}) \[(?P<key>\w{{1,80}})\]\n"
                           r"(?:  [^\n]*(?:\n|$))*", re.M)


@contextlib.contextmanager
def quiet():
    """Run student code without letting warnings or stderr output escape.

    nbgrader scores a test cell 0 as soon as anything reaches stderr, so a warning
    raised by correct code (an overflow in a diverging run, say) must not escape.
    """
    sink = io.StringIO()
    saved_fd = _redirect_fd(2)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        _restore_fd(2, saved_fd)


def _redirect_fd(fd):
    try:
        saved = os.dup(fd)
    except OSError:
        return None
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    return saved


def _restore_fd(fd, saved):
    if saved is not None:
        os.dup2(saved, fd)
        os.close(saved)


class Call:
    """What one call of a student's function did: its result, its exception, mutated inputs."""

    def __init__(self, result=None, error=None, mutated=()):
        self.result, self.error, self.mutated = result, error, tuple(mutated)

    def problem(self, name: str):
        """A sentence about what went wrong in the call itself, or None."""
        if isinstance(self.error, NotImplementedError):
            return f"{name} {NOT_IMPLEMENTED}: replace `raise NotImplementedError()` with your code."
        if self.error is not None:
            return f"{name} raised {type(self.error).__name__}: {str(self.error)[:300]}"
        if self.mutated:
            names = ", ".join(f"`{n}`" for n in self.mutated)
            return f"{name} modified its input {names}.\n" + mistake_message("mutates_input", *MUTATION)
        return None

    def value(self, name: str):
        """The result, or CheckFailed with what went wrong in the call."""
        if self.problem(name):
            raise CheckFailed(self.problem(name))
        return self.result


def invoke(fn, kwargs: dict) -> Call:
    """Call fn(**copies of kwargs) quietly; record its result, exception and mutated inputs.

    Random generators are passed as they are, so the caller sees how far fn advanced them.
    """
    shared = {id(v): v for v in kwargs.values() if isinstance(v, np.random.Generator)}
    given = copy.deepcopy(kwargs, shared)
    try:
        with quiet():
            result = fn(**given)
    except Exception as error:  # the student's code may raise anything
        return Call(error=error)
    mutated = [k for k, v in kwargs.items() if not _same(v, given[k])]
    return Call(result=result, mutated=mutated)


def _same(before, after) -> bool:
    """True when `after` still equals `before`: arrays, and arrays inside lists and tuples."""
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, (list, tuple)):
        return (isinstance(after, (list, tuple)) and len(before) == len(after)
                and all(_same(b, a) for b, a in zip(before, after)))
    return True


def same_result(a, b) -> bool:
    """Whether two results are equal: arrays (shape and values), lists and tuples of them, or other values."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_result(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # whatever the student returned, it is not comparable
        return False


VARYING_SEEDS = 16      # a result that is the same for this many seeds does not depend on the generator


def generator_problem(fn, name: str, kwargs: dict, *, seed: int, where: str, can_vary: bool = True,
                      global_mistake: str = "", unvarying_mistake: str = ""):
    """What shows that fn(**kwargs, rng=...) is not a function of its generator's state, or None.

    A result drawn from `rng` is one: two generators in the same state give the same result (also
    when they were built from different seed sequences, as in a grading kernel), generators with
    different seeds give different results (unless `can_vary` is False: the inputs allow only one
    result), and NumPy's global random state plays no part. Drawing from rng itself, from
    np.random.default_rng(rng) or from copy.deepcopy(rng) all qualify: whether the caller's
    generator advanced is not judged here (see `fresh_problem`). `global_mistake` and
    `unvarying_mistake` are appended when the result follows np.random's global state, and when it
    is the same for every seed."""
    saved = np.random.get_state()
    try:
        calls = []
        for global_seed, rng in ((1, np.random.default_rng(seed)), (1, _in_state_of(seed)),
                                 (2, np.random.default_rng(seed))):
            np.random.seed(global_seed)
            calls.append(invoke(fn, dict(kwargs, rng=rng)))
    finally:
        np.random.set_state(saved)
    for call in calls:
        if call.problem(name):
            return call.problem(name)
    first, same_state, other_global = (call.result for call in calls)
    irreproducible = (f"{where} two generators in the same state gave different results. Draw every random "
                      "number from `rng` (its methods, or a copy of it), so that its state decides the result; the "
                      "children of rng.spawn depend on how rng was seeded, not on its state.")
    if not same_result(first, same_state):
        return irreproducible
    if not same_result(first, other_global):
        if not _follows_global_state(fn, kwargs, seed):
            return irreproducible
        return f"{where} the result changed with np.random's global seed although rng was the same." + global_mistake
    if not can_vary:
        return None
    for other_seed in range(seed + 1, seed + VARYING_SEEDS):
        other = invoke(fn, dict(kwargs, rng=np.random.default_rng(other_seed)))
        if other.problem(name):
            return other.problem(name)
        if not same_result(first, other.result):
            return None
    return (f"{where} generators with {VARYING_SEEDS} different seeds all gave the same result: it should be "
            "drawn at random from `rng`." + unvarying_mistake)


GLOBAL_SEEDS = 8        # a result the same for each of this many global seeds, twice, follows the global state


def _follows_global_state(fn, kwargs: dict, seed: int) -> bool:
    """Whether fn(**kwargs, rng=np.random.default_rng(seed)) gives one result per global seed of np.random,
    the evidence that the global state (and not a generator of its own, unseeded) decides it. On a
    result of few possible values an unseeded generator can repeat itself by chance: hence several seeds."""
    saved = np.random.get_state()
    try:
        for global_seed in range(GLOBAL_SEEDS):
            results = []
            for _ in range(2):
                np.random.seed(global_seed)
                results.append(invoke(fn, dict(kwargs, rng=np.random.default_rng(seed))).result)
            if not same_result(*results):
                return False
    finally:
        np.random.set_state(saved)
    return True


def _in_state_of(seed: int) -> np.random.Generator:
    """A generator in the state of np.random.default_rng(seed), built from another seed sequence."""
    generator = np.random.Generator(np.random.PCG64([seed, 1]))
    generator.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    return generator


def fresh_problem(fn, name: str, kwargs: dict, *, seed: int, where: str, what: str):
    """What is wrong when two calls of fn(**kwargs, rng=...) with one generator return the same `what`, or None.

    For functions whose docstring asks for new numbers on every call, as NumPy's own samplers
    draw them: each call advances the caller's generator."""
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(2):
        outcome = invoke(fn, dict(kwargs, rng=rng))
        if outcome.problem(name):
            return outcome.problem(name)
        results.append(outcome.result)
    if same_result(*results):
        return (f"{where} two calls with the same generator gave the same {what}. Each call must draw new "
                "numbers from `rng` itself (not from a copy of it), as NumPy's own samplers do.")
    return None


def outputs_of(result, names, fn_name):
    """Split a result into its outputs, checking their number; returns a list."""
    if len(names) == 1:
        return [result]
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise CheckFailed(f"{fn_name} must return {len(names)} values ({', '.join(names)}), "
                          f"got {_describe(result)}.")
    return list(result)


def check_output(value, like, what: str) -> np.ndarray:
    """`value` must be an array (or a scalar) with the shape of `like` and its kind of numbers.

    Integers where `like` holds integers (an epoch, an index); finite floating-point numbers
    otherwise.
    """
    like = np.asarray(like)
    shape = like.shape
    if shape == () and isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{what} should be a NumPy array of shape {shape}, got {_describe(value)}.")
    if value.shape != shape:
        raise CheckFailed(f"{what} has shape {value.shape} but should have shape {shape}.")
    if np.issubdtype(like.dtype, np.integer):
        if not np.issubdtype(value.dtype, np.integer):
            raise CheckFailed(f"{what} has dtype {value.dtype}; it should hold integers.")
        return value
    if not np.issubdtype(value.dtype, np.floating):
        raise CheckFailed(f"{what} has dtype {value.dtype}; it should hold floating-point numbers.")
    if not np.all(np.isfinite(value)):
        raise CheckFailed(f"{what} contains NaN or infinity.")
    return value


def check_float_array(value, shape, what: str) -> np.ndarray:
    """`value` must be a finite floating-point array of `shape` (a real scalar when shape is ())."""
    return check_output(value, np.zeros(shape), what)


def index_coverage(index_arrays, n: int):
    """How index arrays together cover range(n): (outside, repeated, missing) counts of rows."""
    every = np.concatenate([np.ravel(a) for a in index_arrays]) if len(index_arrays) else np.zeros(0, int)
    inside = every[(every >= 0) & (every < n)]
    counts = np.bincount(inside, minlength=n)
    return len(every) - len(inside), int(np.sum(counts > 1)), int(np.sum(counts == 0))


def relative_difference(a, b) -> float:
    """max |a - b| / max(max |b|, 1e-12): a normwise relative error."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(b), initial=0.0), 1e-12))


def close(outputs, expected, rtol: float) -> bool:
    """True when every output agrees with its expected array to `rtol` (normwise)."""
    return all(np.shape(o) == np.shape(e) and relative_difference(o, e) <= rtol
               for o, e in zip(outputs, expected))


def matches_mistake(produced, theirs) -> bool:
    """Whether outputs `produced` reproduce a catalogued mistake's outputs `theirs`."""
    return len(produced) == len(theirs) and close(produced, theirs, MISTAKE_RTOL)


def _describe(value) -> str:
    if isinstance(value, Handle):
        return str(value)
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a value of type {type(value).__name__}"


def load_fixture(topic: str) -> dict:
    """The stored inputs, expected outputs and mistake fingerprints of a topic's visible checks."""
    text = resources.files("course_lib.fixtures").joinpath(f"{topic}.json").read_text()
    return json.loads(text)


def _as_input(value):
    return np.array(value, dtype=float) if isinstance(value, list) else value


def check_against_fixture(fn, topic: str, name: str) -> None:
    """The visible check of a function judged by its values.

    Calls `fn` once on stored inputs and checks: it runs, returns the right number of
    floating-point arrays of the right shapes, leaves its inputs unchanged, and agrees
    with the stored full-precision result. A disagreement that matches a catalogued
    mistake is named.
    """
    spec = load_fixture(topic)[name]
    kwargs = {k: _as_input(v) for k, v in spec["inputs"].items()}
    outcome = invoke(fn, kwargs)
    problem = outcome.problem(name)
    if problem:
        raise CheckFailed(problem)
    names = spec["output_names"]
    expected = [np.array(e) for e in spec["expected"]]
    outputs = outputs_of(outcome.result, names, name)
    outputs = [check_output(o, e, f"{name}'s {n}") for o, e, n in zip(outputs, expected, names)]
    if close(outputs, expected, RTOL):
        print(f"✓ {name} passes the visible checks (types and shapes, inputs unchanged, one step "
              "against stored values). Grading runs more cases.")
        return
    wrong = [n for o, e, n in zip(outputs, expected, names) if relative_difference(o, e) > RTOL]
    message = f"{name} returns the right shapes, but {outputs_differ(wrong)} from the stored result."
    for mistake in spec["mistakes"]:
        fingerprint = [np.array(m) for m in mistake["outputs"]]
        if matches_mistake(outputs, fingerprint):
            raise CheckFailed(message + "\n" + mistake_message(mistake["key"], mistake["title"], mistake["hint"]))
    raise CheckFailed(message + " Compare your code with the update rule above, term by term.")


def outputs_differ(outputs) -> str:
    """"w_new differs" or "w_new, v_new differ": the outputs that differ, with the verb agreeing."""
    return f"{', '.join(outputs)} {'differs' if len(outputs) == 1 else 'differ'}"


def companion(fn, name: str):
    """The function called `name` where `fn` was defined (the student's notebook), or None.

    A function graded in a kernel from outside it (`course grade`) finds its companion there.
    """
    if hasattr(fn, "companion"):
        return fn.companion(name)
    other = getattr(inspect.unwrap(fn), "__globals__", {}).get(name)
    return other if callable(other) else None


def named_mistake(topic: str, name: str, key: str) -> str:
    """The `mistake_message` of catalogued mistake `key` of function `name`."""
    for mistake in load_fixture(topic)[name]["mistakes"]:
        if mistake["key"] == key:
            return mistake_message(key, mistake["title"], mistake["hint"])
    raise KeyError(f"no catalogued mistake {key!r} for {name}")
