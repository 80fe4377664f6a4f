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
