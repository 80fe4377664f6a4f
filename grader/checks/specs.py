"""What a hidden check is made of, and how each kind judges a function.

Every graded function has one specification in `grader.hidden.<topic>.SPECS`: `ByReference`
(values compared with the reference on `Case`s) or `ByProperties` (checks that return a
problem sentence or None); `Visible` is the stored input of a visible check that the kind
does not cover, in `grader.hidden.<topic>.VISIBLE`. `judge` returns one (label, problem or None, named Mistake or None)
per case. `fn` is the student's function: in-process, or a `RemoteFunction` in its kernel.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from course_lib.checking import (CheckFailed, check_output, invoke, matches_mistake, outputs_differ, outputs_of,
                                 relative_difference)


@dataclass(frozen=True)
class Visible:
    """The stored input of a visible check (written to the fixture by `course fixtures`):
    `run(function, inputs)` gives the outputs stored for the reference (when `expected`) and for
    each catalogued mistake."""
    inputs: dict
    outputs: tuple
    run: Callable
    expected: bool = True


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation: `implementation` has the graded function's signature.

    `conceptual`: the mistake misses the idea of the exercise (a permutation for a bootstrap
    sample, validation rows in training), not a detail of it; a function it is named on earns at
    most `grader.checks.judge.CONCEPTUAL_SHARE` of its points, however many cases it passes (a
    permutation of one row is a fine bootstrap sample)."""
    key: str
    title: str
    hint: str
    implementation: Optional[Callable]
    conceptual: bool = False


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


def diagnose(produced, mistakes, run) -> Optional[Mistake]:
    """The first catalogued mistake whose outputs, `run(mistake.implementation)`, reproduce
    `produced` (a list of outputs); a mistake that cannot run on the case is skipped."""
    for mistake in mistakes:
        try:
            theirs = run(mistake.implementation)
        except Exception:
            continue
        if matches_mistake(produced, theirs):
            return mistake
    return None


@dataclass(frozen=True)
class ByReference:
    """A function judged by its values against the reference on `cases`."""
    outputs: tuple
    cases: list
    visible: dict = field(default_factory=dict)

    def judge(self, name, fn, reference, mistakes) -> list:
        return [self._judge_case(name, fn, reference, mistakes, case) for case in self.cases]

    def run(self, fn, case: Case) -> list:
        """Outputs of fn on `case`, one list per step (all steps concatenated), or raise CheckFailed."""
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
        return [outputs_of(result, self.outputs, fn.__name__) for result in collected]

    def _judge_case(self, name, fn, reference, mistakes, case):
        try:
            produced = self.run(fn, case)
        except CheckFailed as failure:
            return case.label, str(failure), None
        expected = self.run(reference, case)
        try:
            for got_step, want_step in zip(produced, expected):
                for got, want, out in zip(got_step, want_step, self.outputs):
                    check_output(got, want, f"{name}'s {out}")
        except CheckFailed as failure:
            return case.label, str(failure), None
        produced, expected = _per_output(produced), _per_output(expected)
        wrong = [out for out, got, want in zip(self.outputs, produced, expected)
                 if relative_difference(got, want) > case.rtol]
        if not wrong:
            return case.label, None, None
        problem = f"{outputs_differ(wrong)} from the reference."
        return case.label, problem, diagnose(produced, mistakes, lambda m: _per_output(self.run(m, case)))


def _per_output(steps):
    """Each output stacked over the steps of a case, so it is compared relative to its overall scale."""
    return [np.array([np.asarray(step[j], dtype=float) for step in steps]) for j in range(len(steps[0]))]


@dataclass(frozen=True)
class ByProperties:
    """A function judged by properties: each check maps fn to a problem sentence or None."""
    checks: list

    def judge(self, name, fn, reference, mistakes) -> list:
        return [(label, _problem(check, fn), None) for label, check in self.checks]


def _problem(check, fn):
    """The problem a property check finds, or None; a check that cannot run is a problem too."""
    try:
        return check(fn)
    except CheckFailed as failure:
        return str(failure)
