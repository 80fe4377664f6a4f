"""Turn functions into what a submission holds: source text run in a notebook-like namespace."""
import importlib

import numpy as np

from grader.authoring.sample_class import source_as


def as_submission(fn, name: str = None, topic: str = None):
    """`fn` defined from its source outside the grader package, as a student's cell would define it.

    With `topic`, the namespace first receives every reference function of that assignment (as
    the notebook of a student who got the others right), so checks that look up a companion
    function (a backward pass's forward) find it.
    """
    name = name or fn.__name__
    namespace = {"np": np}
    if topic:
        specs = importlib.import_module(f"grader.hidden.{topic}").SPECS
        reference = importlib.import_module(f"grader.reference.{topic}")
        for other in specs:
            exec(compile(source_as(getattr(reference, other), other), "<submission>", "exec"), namespace)
    exec(compile(source_as(fn, name), "<submission>", "exec"), namespace)
    return namespace[name]
