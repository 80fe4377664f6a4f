"""Read a graded class back: scores from nbgrader's gradebook, diagnoses from the graded notebooks."""
import re
import textwrap
from dataclasses import dataclass, field

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from course_lib.checking import MISTAKE_MARK

MISTAKE_LINE = re.compile(re.escape(MISTAKE_MARK) + r" (?P<title>.+) \[(?P<key>\w+)\]")


@dataclass
class ExerciseResult:
    name: str                   # the graded cell's grade_id, "test_" removed
    score: float = None         # None: waits for a manual grade
    max_score: float = 0.0
    diagnoses: list = field(default_factory=list)


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: str                 # "graded", "missing notebook" or "not submitted"
    exercises: list = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(e.score or 0.0 for e in self.exercises)

    @property
    def max_total(self) -> float:
        return sum(e.max_score for e in self.exercises)


def diagnoses(cell) -> list:
    """Short reasons a graded cell lost points: named mistakes, errors, timeouts."""
    found = []
    for output in cell.get("outputs", []):
        text = output.get("text", "") if output.output_type == "stream" else ""
        if output.output_type == "error":
            text = output.evalue or ""
            if output.ename == "CellTimeoutError" or "KeyboardInterrupt" in output.ename:
                found.append("timed out")
            elif output.ename != "CheckFailed":
                found.append(_first_line(f"{output.ename}: {text}").rstrip(": "))
        found += [f"{m['title']} [{m['key']}]" for m in MISTAKE_LINE.finditer(text)]
        if output.output_type == "error" and output.ename == "CheckFailed" and not MISTAKE_LINE.search(text):
            found.append(_first_line(text))
    return list(dict.fromkeys(found))


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return textwrap.shorten(lines[0], width=140, placeholder=" …") if lines else ""


def read_submission(course, assignment, student) -> SubmissionResult:
    """Scores and diagnoses of one student's graded assignment.

    A student with no graded notebook scores 0 on every exercise, with the status
    "missing notebook" (a submission folder without the notebook) or "not submitted".
    """
    graded = course.path("autograded", student, assignment.name, assignment.notebook)
    with Gradebook(course.db_url) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(assignment.topic, assignment.name, student)
            grades = [(g.name, None if g.needs_manual_grade else g.score, g.max_score) for g in notebook.grades]
        except MissingEntry:
            cells = gradebook.find_notebook(assignment.topic, assignment.name).grade_cells
            grades = [(c.name, 0.0, c.max_score) for c in cells]
    if not graded.exists():
        folder = course.path("submitted", student, assignment.name)
        status = "missing notebook" if folder.exists() else "not submitted"
        return SubmissionResult(student, assignment.name, status,
                                [ExerciseResult(g.removeprefix("test_"), 0.0, m) for g, _, m in grades])
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(graded, as_version=4).cells}
    exercises = [ExerciseResult(grade_id.removeprefix("test_"), score, max_score,
                                diagnoses(cells[grade_id]) if grade_id in cells and score != max_score else [])
                 for grade_id, score, max_score in grades]
    return SubmissionResult(student, assignment.name, "graded", exercises)


def table(results) -> str:
    """A per-student, per-exercise score table of one assignment, with each diagnosis below it."""
    if not results:
        return "(no submissions)"
    names = [e.name for e in results[0].exercises]
    width = max(len(r.student) for r in results) + 2
    cols = [max(len(n), 7) + 2 for n in names]
    lines = ["student".ljust(width) + "".join(n.rjust(c) for n, c in zip(names, cols)) + "     total  status"]
    for r in results:
        cells = {e.name: ("manual" if e.score is None else f"{e.score:g}/{e.max_score:g}") for e in r.exercises}
        lines.append(r.student.ljust(width) + "".join(cells.get(n, "-").rjust(c) for n, c in zip(names, cols))
                     + f"{r.total:>7.2f}/{r.max_total:g}  {r.status}")
    notes = [f"  {r.student}, {e.name}: {d}" for r in results for e in r.exercises for d in e.diagnoses]
    if notes:
        lines += ["", "Diagnoses:"] + notes
    return "\n".join(lines)
