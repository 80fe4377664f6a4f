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
from dataclasses import dataclass

from course_lib.checking import mistake_message


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
        return float(round(self.points * self.passed / len(self.results), 3))

    @property
    def named(self) -> list:
        """The mistakes named on failed cases, each once, in order."""
        return list(dict.fromkeys(m for _, problem, m in self.results if problem is not None and m is not None))

    def report(self) -> str:
        """What the student reads: cases passed, each failure, each named mistake with its hint."""
        lines = [f"Hidden checks of {self.name}: {self.passed} of {len(self.results)} cases pass, "
                 f"{self.earned:g} of {self.points:g} points."]
        lines += [f"  ✗ {label}: {problem}" for label, problem, _ in self.results if problem is not None]
        lines += [mistake_message(m.key, m.title, m.hint) for m in self.named]
        return "\n".join(lines)


def judge(topic: str, name: str, fn, points: float) -> Verdict:
    """Run the hidden checks of `name` on the student's `fn`."""
    specs, reference, mistakes = topic_modules(topic)
    results = specs.SPECS[name].judge(name, fn, getattr(reference, name, None), mistakes.MISTAKES[name])
    return Verdict(name, points, results)


def grade(topic: str, name: str, fn, points: float) -> float:
    """The in-process self-check: print the verdict's report and return its points."""
    verdict = judge(topic, name, fn, points)
    print(verdict.report())
    return verdict.earned
