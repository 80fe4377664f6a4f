"""Read a graded class back: scores from nbgrader's gradebook, diagnoses from the graded notebooks."""
import functools
import re
import textwrap
from dataclasses import dataclass, field

import nbformat
from nbgrader.api import Comment, Grade, MissingEntry

from course_lib.checking import MISTAKE_MARK
from grader import mistakes
from grader.pipeline.execute import REPORT_MIME
from grader.pipeline.gradebook import named_rows
from grader.pipeline.status import Status

MISTAKE_LINE = re.compile(re.escape(MISTAKE_MARK) + r" (?P<title>[^\n\[\]]{1,200}) \[(?P<key>\w{1,80})\]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
NAMED_DIAGNOSIS = re.compile(r"^(?P<title>.+) \[(?P<key>\w+)\]$")


@dataclass
class ExerciseResult:
    name: str                   # the graded cell's grade_id, "test_" removed
    score: float = None         # None: no score yet (a written answer waiting for its manual grade)
    max_score: float = 0.0
    diagnoses: list = field(default_factory=list)   # short reasons it lost points
    messages: list = field(default_factory=list)    # what the checks told the student, in full
    comment: str = ""           # the grader's comment on a written answer
    attempted: bool = True      # False: the answer cell was left as released
    written: bool = False       # a written answer (graded by hand), not a function

    @property
    def reason(self) -> str:
        """Why it lost points, in a few words: not attempted, the first diagnosis, or "" (full
        marks, or no score yet)."""
        if self.score is None or self.score >= self.max_score:
            return ""
        if not self.attempted:
            return "not attempted"
        return self.diagnoses[0] if self.diagnoses else "no diagnosis"

    @property
    def named_mistakes(self) -> list:
        """(title, key) of every catalogued mistake the diagnoses name."""
        return [(m["title"], m["key"]) for m in map(NAMED_DIAGNOSIS.match, self.diagnoses) if m]


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: Status
    exercises: list = field(default_factory=list)
    detail: str = ""

    @property
    def total(self) -> float:
        return sum(e.score or 0.0 for e in self.exercises)

    @property
    def max_total(self) -> float:
        return sum(e.max_score for e in self.exercises)


def printable(text: str) -> str:
    """`text` without control characters (a kernel's escape sequences would drive the terminal)."""
    return CONTROL.sub("", text)


def outputs(cell) -> list:
    """A cell's outputs, with consecutive chunks of one stream joined: the kernel splits printed
    text into chunks wherever its flush timing falls, so only the joined text is reproducible.
    Text is made printable; the joining is linear in the number of chunks."""
    runs = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and runs and runs[-1][0].output_type == "stream" \
                and runs[-1][0].name == output.name:
            runs[-1].append(output)
        else:
            runs.append([output])
    joined = []
    for run in runs:
        first = run[0]
        if first.output_type == "stream":
            first = nbformat.NotebookNode(first, text=printable("".join(o.text for o in run)))
        elif first.output_type == "error":
            first = nbformat.NotebookNode(first, ename=printable(first.ename), evalue=printable(first.evalue or ""))
        joined.append(first)
    return joined


def diagnoses(cell, known: set) -> list:
    """Short reasons a graded cell lost points: named mistakes, errors, timeouts.

    The hidden checks' named mistakes come from the grading process's report; a visible check's
    from its error. A named mistake counts only if its (title, key) is in `known`, the
    assignment's catalogue; what the submission printed is never read for one."""
    found = []
    for output in outputs(cell):
        report = output.get("data", {}).get(REPORT_MIME) if output.output_type == "display_data" else None
        if isinstance(report, dict):
            found += [f"{title} [{key}]" for title, key in report.get("named", []) if (title, key) in known]
        if output.output_type == "error":
            text = output.evalue or ""
            if output.ename == "CellTimeoutError" or "KeyboardInterrupt" in output.ename:
                found.append("timed out")
            elif output.ename != "CheckFailed":
                found.append(_first_line(f"{output.ename}: {text}").rstrip(": "))
            named = [f"{m['title']} [{m['key']}]" for m in MISTAKE_LINE.finditer(text) if (m["title"], m["key"]) in known]
            found += named or ([_first_line(text)] if output.ename == "CheckFailed" else [])
    return list(dict.fromkeys(found))


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return textwrap.shorten(lines[0], width=140, placeholder=" …") if lines else ""


def messages(cell) -> list:
    """What a graded cell's outputs told the student: printed text and errors, never tracebacks."""
    found = []
    for output in outputs(cell):
        if output.output_type == "stream" and output.name == "stdout":
            found.append(output.text.strip())
        elif output.output_type == "display_data" and REPORT_MIME in output.get("data", {}):
            found.append(printable(str(output.data.get("text/plain", ""))).strip())
        elif output.output_type == "error":
            found.append(f"{output.ename}: {output.evalue}".strip())
    return [m for m in found if m]


def read_submission(course, assignment, student, status: Status = None, detail: str = "",
                    gradebook=None) -> SubmissionResult:
    """Scores, diagnoses and messages of one student's graded assignment, from the course's
    gradebook (or from `gradebook`, when it is open already).

    `status` is what grading said (the ledger's); without it, a graded notebook means
    "graded", else "missing notebook" (a submission folder without it) or "not submitted".
    Without a gradebook entry every exercise scores 0.
    """
    if gradebook is None:
        with course.gradebook() as gradebook:
            return read_submission(course, assignment, student, status, detail, gradebook)
    graded = course.path("autograded", student, assignment.name, assignment.notebook)
    try:
        notebook = gradebook.find_submission_notebook(assignment.topic, assignment.name, student)
        grades = [(name, None if g.manual_score is None and g.auto_score is None else g.score, g.max_score)
                  for name, g in named_rows(gradebook, Grade, notebook).items()]
        comments = {name: c.manual_comment or "" for name, c in named_rows(gradebook, Comment, notebook).items()}
    except MissingEntry:
        cells = gradebook.find_notebook(assignment.topic, assignment.name).grade_cells
        grades, comments = [(c.name, 0.0, c.max_score) for c in cells], {}
    if status is None:
        folder = course.path("submitted", student, assignment.name)
        status = Status.GRADED if graded.exists() else Status.MISSING if folder.exists() else Status.NOT_SUBMITTED
    status = Status(status)
    cells = {}
    if graded.exists() and status.ran:
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(graded, as_version=4).cells}
    known = mistakes.named(assignment.topic)
    released = answer_sources(course.path("release", assignment.name, assignment.notebook))
    order = {name: index for index, name in enumerate(released)}     # a database returns grades in any order
    exercises = []
    for grade_id, score, max_score in sorted(grades, key=lambda g: order.get(g[0].removeprefix("test_"), len(order))):
        cell, name = cells.get(grade_id, {}), grade_id.removeprefix("test_")
        answer = cells.get(name, {}).get("source")
        exercises.append(ExerciseResult(name, score, max_score, diagnoses(cell, known) if score != max_score else [],
                                        messages(cell), comments.get(grade_id, ""),
                                        attempted=name not in released or answer != released[name],
                                        written=name == grade_id))
    return SubmissionResult(student, assignment.name, status, exercises, printable(detail))


def answer_sources(release) -> dict:
    """grade_id -> source of every answer cell of a released notebook, as students received it."""
    return _answer_sources(str(release), release.stat().st_mtime_ns) if release.exists() else {}


@functools.lru_cache(maxsize=32)
def _answer_sources(path: str, modified: int) -> dict:
    """answer_sources of the file at `path` as it was when last modified at `modified` (one read per version)."""
    return {c.metadata.nbgrader["grade_id"]: c.source for c in nbformat.read(path, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


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
