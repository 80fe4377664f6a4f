"""Turn a function into what a submission holds: its source text, run outside the grader package."""
import numpy as np

from grader.sample_class import source_as


def as_submission(fn, name: str = None):
    """A copy of `fn` defined from its source in a fresh namespace, as a student's cell would."""
    name = name or fn.__name__
    namespace = {"np": np}
    exec(compile(source_as(fn, name), "<submission>", "exec"), namespace)
    return namespace[name]
