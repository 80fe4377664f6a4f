"""Plain data on the wire between the grading process and a grading kernel: never pickle.

A message is `encode(value)`: 4 bytes (big-endian length of the header), a JSON header, then
the raw bytes of every array. The header's "tree" mirrors the value: JSON scalars as they are,
and one-key objects for the rest:

    {"list": [...]}  {"tuple": [...]}  {"dict": [[key, value], ...]}  (string keys)
    {"array": i}     {"scalar": i}     (the i-th array; a scalar is a 0-d array read back as such)
    {"generator": tree of bit_generator.state}
    {"handle": [n, description]}     (an object that stays in the kernel)
    {"function": "course_lib.module:name"}         {"recipe": [factory, kwargs, log id]}

`decode` reads what the other side sent in one pass over the bytes: it checks every array's
dtype (booleans, integers and floats only), shape and extent against the buffer before it
looks at the data, and refuses anything else with `WireError`. It never calls code named in a
message except course_lib functions, and only on the kernel's side (`functions=True`).
"""
import importlib
import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

MAX_DIMENSIONS = 32
DTYPES = {f"{order}{kind}{size}" for order in "<|" for kind, sizes in (("b", "1"), ("i", "1248"), ("u", "1248"),
                                                                          ("f", "248")) for size in sizes}
GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class WireError(ValueError):
    """A message that is not plain data of the kinds above."""


@dataclass(frozen=True)
class Handle:
    """An object that stays in the kernel (a student's cache, say), referred to by number."""
    number: int
    description: str = ""

    def __str__(self) -> str:
        return f"an object the grader cannot read ({self.description})"


@dataclass
class Recipe:
    """A callable that checks hand to a student's function, rebuilt from plain data where the
    function runs: `factory(**kwargs, log=log)`, a course_lib function. Records the callable
    appends to its log (plain data) come back into `log` after a call in a grading kernel."""
    factory: Callable
    kwargs: dict
    log: list = field(default_factory=list)
    _built: Callable = field(default=None, repr=False)

    def __deepcopy__(self, memo):
        return self             # shared, as a closure is: its log must stay the caller's

    def __call__(self, *args, **kwargs):
        if self._built is None:
            self._built = self.factory(**self.kwargs, log=self.log)
        return self._built(*args, **kwargs)


class Encoder:
    """Turns a value into a tree and a list of arrays; `unknown(value)` handles the rest."""

    def __init__(self, unknown=None):
        self.arrays, self.recipes = [], []
        self.unknown = unknown

    def tree(self, value):
        if value is None or isinstance(value, (bool, str)):
            return value
        if type(value) in (int, float):
            return value
        if isinstance(value, np.ndarray) and value.dtype.str.replace(">", "<") in DTYPES:
            return {"array": self._array(value)}
        if isinstance(value, (np.bool_, np.integer, np.floating)) and np.asarray(value).dtype.str in DTYPES:
            return {"scalar": self._array(np.asarray(value))}
        if type(value) in (list, tuple):
            return {type(value).__name__: [self.tree(v) for v in value]}
        if type(value) is dict and all(isinstance(k, str) for k in value):
            return {"dict": [[k, self.tree(v)] for k, v in value.items()]}
        if isinstance(value, np.random.Generator):
            return {"generator": self.tree(value.bit_generator.state)}
        if isinstance(value, Handle):
            return {"handle": [value.number, value.description]}
        if isinstance(value, Recipe):
            self.recipes.append(value)
            return {"recipe": [_function_name(value.factory), self.tree(value.kwargs), len(self.recipes) - 1]}
        if callable(value) and _function_name(value, strict=False):
            return {"function": _function_name(value)}
        if self.unknown is not None:
            return self.unknown(value)
        raise WireError(f"cannot send a value of type {type(value).__name__}")

    def _array(self, array) -> int:
        self.arrays.append(array.astype(array.dtype.newbyteorder("<"), order="C", copy=False))
        return len(self.arrays) - 1


def same_random_state(one, other) -> bool:
    """Whether two states of NumPy's global generator (np.random.get_state()) are equal: the
    channel sends that state only when it changed."""
    return all(np.array_equal(a, b) for a, b in zip(one, other))


def encode(value, unknown=None, recipes=None) -> bytes:
    """The message for `value`; `unknown(value)` returns the tree of anything not plain data;
    `recipes`, if given, receives the recipes sent, in order."""
    encoder = Encoder(unknown)
    tree = encoder.tree(value)
    if recipes is not None:
        recipes += encoder.recipes
    header, offset = [], 0
    for array in encoder.arrays:
        header.append([array.dtype.str, list(array.shape), offset, array.nbytes])
        offset += array.nbytes
    text = json.dumps({"tree": tree, "arrays": header}, allow_nan=True).encode()
    return len(text).to_bytes(4, "big") + text + b"".join(a.tobytes() for a in encoder.arrays)


def decode(message: bytes, functions: bool = False, handles=None, logs=None):
    """The value of a message. `functions`: rebuild course_lib functions and recipes (the
    kernel's side only); `handles`: the kernel's objects by number (without it, a handle reads as
    a `Handle`); `logs`: filled with the recipes' logs, in order."""
    if len(message) < 4:
        raise WireError("message too short")
    size = int.from_bytes(message[:4], "big")
    if size > len(message) - 4:
        raise WireError("header longer than the message")
    try:
        header = json.loads(message[4:4 + size])
    except (ValueError, RecursionError) as error:
        raise WireError(f"header is not JSON: {str(error)[:100]}") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise WireError("header has no array table")
    arrays = [_array(entry, message, 4 + size) for entry in header["arrays"]]
    reader = _Reader(arrays, functions, handles, logs if logs is not None else [])
    try:
        return reader.value(header.get("tree"))
    except RecursionError:
        raise WireError("value nested too deeply") from None


def _array(entry, message: bytes, start: int) -> np.ndarray:
    if not (isinstance(entry, list) and len(entry) == 4):
        raise WireError("bad array entry")
    dtype, shape, offset, nbytes = entry
    if dtype not in DTYPES:
        raise WireError(f"arrays of dtype {str(dtype)[:20]} are not accepted")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMENSIONS
            and all(type(n) is int and 0 <= n for n in shape) and type(offset) is int and type(nbytes) is int):
        raise WireError("bad array shape or extent")
    if int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize != nbytes or not 0 <= offset <= len(message) - start - nbytes:
        raise WireError("array extent does not match its shape or the message")
    data = message[start + offset:start + offset + nbytes]
    return np.frombuffer(data, dtype=dtype).reshape(tuple(shape)).copy()


class _Reader:
    def __init__(self, arrays, functions, handles, logs):
        self.arrays, self.functions, self.handles, self.logs = arrays, functions, handles, logs

    def value(self, tree):
        if tree is None or isinstance(tree, (bool, str, int, float)):
            return tree
        if not (isinstance(tree, dict) and len(tree) == 1):
            raise WireError("unknown node")
        (kind, body), = tree.items()
        if kind in ("array", "scalar"):
            if type(body) is not int or not 0 <= body < len(self.arrays):
                raise WireError("bad array reference")
            return self.arrays[body] if kind == "array" else self.arrays[body][()]
        if kind in ("list", "tuple") and isinstance(body, list):
            items = [self.value(v) for v in body]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(body, list):
            if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in body):
                raise WireError("bad dict")
            return {k: self.value(v) for k, v in body}
        if kind == "generator":
            return _generator(self.value(body))
        if kind == "handle" and isinstance(body, list) and len(body) == 2 and type(body[0]) is int:
            if self.handles is None:
                return Handle(body[0], str(body[1])[:100])
            if body[0] not in self.handles:
                raise WireError("unknown handle")
            return self.handles[body[0]]
        if kind == "function" and self.functions:
            return _course_function(body)
        if kind == "recipe" and self.functions and isinstance(body, list) and len(body) == 3:
            log = []
            self.logs.append(log)
            return Recipe(_course_function(body[0]), self.value(body[1]), log)
        raise WireError(f"unknown node {str(kind)[:20]}")


def _generator(state):
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in GENERATORS:
        raise WireError("unknown bit generator")
    generator = np.random.Generator(getattr(np.random, name)())
    try:
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise WireError(f"bad generator state: {str(error)[:100]}") from None
    return generator


def _function_name(fn, strict: bool = True):
    module, name = getattr(fn, "__module__", "") or "", getattr(fn, "__qualname__", "")
    if module.startswith("course_lib.") and name.isidentifier() and getattr(importlib.import_module(module), name, None) is fn:
        return f"{module}:{name}"
    if strict:
        raise WireError(f"only course_lib functions can be sent, not {module}.{name}")
    return None


def _course_function(name):
    module, _, attribute = str(name).partition(":")
    if not (module.startswith("course_lib.") and attribute.isidentifier()):
        raise WireError("only course_lib functions can be received")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        raise WireError(f"no function {module}:{attribute}") from None
