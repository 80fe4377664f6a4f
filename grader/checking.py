"""Hidden checks: judge a student's function on many cases and return its partial credit.

Every graded function has a `Spec` in `grader.hidden.<topic>`, its reference in
`grader.reference.<topic>` and its catalogued mistakes in `grader.mistakes.<topic>`.
`grade` prints a report (cases passed, what failed, the named mistakes) and returns the
points earned as a plain float, which nbgrader reads as the test cell's partial credit.
"""
import functools
import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from course_lib.checking import (CheckFailed, check_output, close, invoke, mistake_message,
                                 outputs_of, relative_difference)
from grader import seal

ANSWER_DIRS = tuple(os.path.join(os.path.dirname(__file__), d) + os.sep for d in ("reference", "mistakes"))


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation: `implementation` has the graded function's signature."""
    key: str
    title: str
    hint: str
    implementation: Callable


@dataclass(frozen=True)
class Case:
    """Inputs for one hidden case.

    With steps == 1 the function is called once on `kwargs`. With steps > 1 it runs a
    trajectory: before each step kwargs["grad"] = gradient(kwargs["w"]), the outputs are
    fed back into the arguments named by `carry`, and `counter` (if any) goes up by one;
    the outputs of every step are compared.
    """
    label: str
    kwargs: dict
    rtol: float = 1e-6
    steps: int = 1
    gradient: Optional[Callable] = None
    carry: tuple = ()
    counter: Optional[str] = None


@dataclass(frozen=True)
class ByReference:
    """A function judged by its values against the reference on `cases`."""
    outputs: tuple
    cases: list
    visible: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ByProperties:
    """A function judged by properties: each check maps fn to a problem sentence or None."""
    checks: list


class Leak(BaseException):
    """The student's function ran code from the reference solutions or the mistake catalogue.

    A BaseException, so that no `except Exception` on the way (the student's or the
    checks') can swallow it.
    """


def topic_modules(topic: str):
    """(spec module, reference module, mistakes module) of an assignment topic."""
    return tuple(importlib.import_module(f"grader.{part}.{topic}") for part in ("hidden", "reference", "mistakes"))


def grade(topic: str, name: str, fn, points: float) -> float:
    """Run the hidden checks of `name` on the student's `fn`; print a report; return the points.

    Under `course grade` the score is also published signed (`grader.seal`), and nothing is
    scored once the submission has replaced NumPy's functions or the checks.
    """
    replaced = seal.tampered()
    if replaced:
        print(f"✗ {name}: the submission replaced {', '.join(replaced[:3])}"
              f"{' …' if len(replaced) > 3 else ''}. Code that modifies NumPy or the checks is not graded: "
              f"0 of {points:g} points.")
        return seal.publish(topic, name, 0.0)
    return seal.publish(topic, name, _checked_score(topic, name, fn, points))


def _checked_score(topic: str, name: str, fn, points: float) -> float:
    specs, reference, mistakes = topic_modules(topic)
    spec = specs.SPECS[name]
    guarded = leak_guarded(fn)
    try:
        if isinstance(spec, ByReference):
            results = [_judge_case(name, guarded, getattr(reference, name), mistakes.MISTAKES[name], spec, case)
                       for case in spec.cases]
        else:
            results = [(label, _run_property(check, guarded), None) for label, check in spec.checks]
    except Leak as leak:
        print(f"✗ {name}: {leak}\n  Submissions may not use the instructor's reference or mistake code: "
              f"0 of {points:g} points.")
        return 0.0
    return _report(name, results, points)


def leak_guarded(fn):
    """fn wrapped so that any call into the grader's answer modules raises Leak afterwards.

    The student's own function stays reachable as `guarded.__wrapped__` (its globals are
    the notebook's, where checks of a backward pass find the student's forward pass).
    """

    @functools.wraps(fn)
    def guarded(**kwargs):
        entered = []

        def watch(frame, event, arg):
            if event == "call" and frame.f_code.co_filename.startswith(ANSWER_DIRS):
                entered.append(os.path.relpath(frame.f_code.co_filename, os.path.dirname(__file__)))

        previous = sys.getprofile()
        sys.setprofile(watch)
        try:
            return fn(**kwargs)
        finally:
            sys.setprofile(previous)
            if entered:
                raise Leak(f"calls code in grader/{entered[0]}")

    return guarded


def _run_property(check, fn):
    """The problem a property check finds, or None; a check that cannot run is a problem too."""
    try:
        return check(fn)
    except CheckFailed as failure:
        return str(failure)


def run_case(fn, case: Case):
    """Outputs of fn on `case` as a list (all steps concatenated), or raise CheckFailed."""
    kwargs = dict(case.kwargs)
    collected = []
    for _ in range(case.steps):
        if case.gradient is not None:
            kwargs["grad"] = case.gradient(kwargs["w"])
        outcome = invoke(fn, kwargs)
        if outcome.problem("the function"):
            raise CheckFailed(outcome.problem("the function"))
        collected.append(outcome.result)
        if case.steps > 1:
            outputs = outcome.result if len(case.carry) > 1 else (outcome.result,)
            kwargs.update(zip(case.carry, outputs))
            if case.counter:
                kwargs[case.counter] += 1
    return collected


def _judge_case(name, fn, reference, mistakes, spec, case):
    """(label, problem or None, matching mistake or None) for one case."""
    expected = [outputs_of(r, spec.outputs, name) for r in run_case(reference, case)]
    try:
        produced = [outputs_of(r, spec.outputs, name) for r in run_case(fn, case)]
        for got_step, want_step in zip(produced, expected):
            for got, want, out in zip(got_step, want_step, spec.outputs):
                check_output(got, want, f"{name}'s {out}")
    except CheckFailed as failure:
        return case.label, str(failure), None
    wrong = [out for out, got, want in zip(spec.outputs, _per_output(produced), _per_output(expected))
             if relative_difference(got, want) > case.rtol]
    if not wrong:
        return case.label, None, None
    problem = f"{', '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} from the reference."
    return case.label, problem, _diagnose(produced, mistakes, spec, case, name)


def _per_output(steps):
    """Each output stacked over the steps of a case, so it is compared relative to its overall scale."""
    return [np.array([np.asarray(step[j], dtype=float) for step in steps]) for j in range(len(steps[0]))]


def _diagnose(produced, mistakes, spec, case, name):
    """The first catalogued mistake that reproduces the student's outputs on this case."""
    for mistake in mistakes:
        try:
            theirs = [outputs_of(r, spec.outputs, name) for r in run_case(mistake.implementation, case)]
        except CheckFailed:
            continue
        if close(_per_output(produced), _per_output(theirs), 1e-4):
            return mistake
    return None


def _report(name, results, points) -> float:
    passed = sum(problem is None for _, problem, _ in results)
    earned = round(points * passed / len(results), 3)
    print(f"Hidden checks of {name}: {passed} of {len(results)} cases pass, {earned:g} of {points:g} points.")
    named = []
    for label, problem, mistake in results:
        if problem is not None:
            print(f"  ✗ {label}: {problem}")
            if mistake is not None and mistake not in named:
                named.append(mistake)
    for mistake in named:
        print(mistake_message(mistake.key, mistake.title, mistake.hint))
    return float(earned)
