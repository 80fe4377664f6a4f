"""Turn a function into what a submission holds: its source text, run in a fresh namespace."""
import inspect
import re

import numpy as np


def source_as(fn, name: str) -> str:
    """The source of `fn`, renamed to `name` (how a mistake is written into a notebook)."""
    return re.sub(r"^def \w+\(", f"def {name}(", inspect.getsource(fn), count=1)


def as_submission(fn, name: str = None):
    """A copy of `fn` defined from its source outside the grader package, as a student would."""
    name = name or fn.__name__
    namespace = {"np": np}
    exec(compile(source_as(fn, name), "<submission>", "exec"), namespace)
    return namespace[name]
