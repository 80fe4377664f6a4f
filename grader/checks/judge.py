"""Hidden checks: judge a student's function on many cases, with partial credit.

Every graded function has a specification in `grader.hidden.<topic>`, its reference in
`grader.reference.<topic>` and its catalogued mistakes in `grader.mistakes.<topic>`.
`judge` returns a `Verdict`: the cases that failed, the mistakes named, the points earned.

Two callers. `course grade` judges in the trusted grading process, with the student's function
a `RemoteFunction` in its sandboxed kernel (`grader.pipeline.execute`). `grade`, called by the
hidden part of a test cell, judges in the student's own process: that is what plain
`nbgrader autograde` and the Validate button run, a self-check that a student could subvert,
not a grade an instructor can trust.
"""
import importlib
import re
from dataclasses import dataclass

from course_lib.checking import MISTAKE_BLOCK, MUTATION, mistake_message
from grader.checks.specs import Mistake

CONCEPTUAL_SHARE = 0.25     # at most this share of the points when a conceptual mistake is named
MUTATES_INPUT = Mistake("mutates_input", *MUTATION, implementation=None)
WHERE = re.compile(r"^For (?P<inputs>[^:\n]{1,200}):\s*")   # how a property check opens its sentence


def topic_modules(topic: str):
    """(spec module, reference module, mistakes module) of an assignment topic."""
    return tuple(importlib.import_module(f"grader.{part}.{topic}") for part in ("hidden", "reference", "mistakes"))


@dataclass(frozen=True)
class Verdict:
    name: str
    points: float
    results: list               # (case label, problem or None, named Mistake or None)

    @property
    def passed(self) -> int:
        return sum(problem is None for _, problem, _ in self.results)

    @property
    def earned(self) -> float:
        """Points in proportion to the cases passed; at most CONCEPTUAL_SHARE of them when a
        conceptual mistake is named."""
        share = self.passed / len(self.results)
        if any(m.conceptual for m in self.named):
            share = min(share, CONCEPTUAL_SHARE)
        return float(round(self.points * share, 3))

    @property
    def named(self) -> list:
        """The mistakes named on failed cases, each once, in order."""
        return list(dict.fromkeys(m for _, problem, m in self.results if problem is not None and m is not None))

    def report(self) -> str:
        """What the student reads: cases passed, each failure, each named mistake with its hint."""
        lines = [f"Hidden checks of {self.name}: {self.passed} of {len(self.results)} cases pass, "
                 f"{self.earned:g} of {self.points:g} points."]
        lines += [f"  ✗ {label}: " + problem.replace("\n", "\n    ") for label, problem, _ in self.results
                  if problem is not None]
        lines += [mistake_message(m.key, m.title, m.hint) for m in self.named]
        return "\n".join(lines)


def judge(topic: str, name: str, fn, points: float) -> Verdict:
    """Run the hidden checks of `name` on the student's `fn`."""
    specs, reference, mistakes = topic_modules(topic)
    catalogue = mistakes.MISTAKES[name]
    results = specs.SPECS[name].judge(name, fn, getattr(reference, name, None), catalogue)
    return Verdict(name, points, [itemised(result, catalogue) for result in results])


def itemised(result, catalogue) -> tuple:
    """A case's (label, problem, mistake) with the named mistake taken out of the problem's text.

    Property checks write the mistake they recognise into their sentence (the visible checks
    print the same sentence); the report names each mistake once, after the failed cases. The
    sentence's opening "For n=40:" is dropped when the label already says it. Only a mistake of
    the function's catalogue (or a mutated input) is taken: the text may quote the student's
    own exception."""
    label, problem, mistake = result
    if problem is None:
        return result
    if mistake is None:
        known = {(m.title, m.key): m for m in [*catalogue, MUTATES_INPUT]}
        for block in MISTAKE_BLOCK.finditer(problem):
            mistake = known.get((block["title"], block["key"]))
            if mistake is not None:
                problem = (problem[:block.start()] + problem[block.end():]).strip()
                break
    where = WHERE.match(problem)
    if where and all(part.strip() in label for part in where["inputs"].split(",")):
        problem = problem[where.end():]
    return label, problem, mistake


def grade(topic: str, name: str, fn, points: float) -> float:
    """The in-process self-check: print the verdict's report and return its points."""
    verdict = judge(topic, name, fn, points)
    print(verdict.report())
    return verdict.earned
