"""The class's grades as a CSV for another gradebook: Canvas's gradebook import, or `nbgrader export`'s.

Every function takes `results`, a list of grader.reports.scores.SubmissionResult (one per
student x assignment, as grader.pipeline.classgrade.class_results gives them) and `gradebook_rows`,
grader.reports.report.read_gradebook_columns's mapping (names and late penalties), or None.
A grade is in points: the total minus the late penalty, at least 0 (`nbgrader export`'s `score`).
Every cell goes through report.export_text, so a student id or name that a spreadsheet would read
as a formula (= + - @) starts with a quote. `report` (Matplotlib, nbgrader) is imported when a CSV
is written, so that the command line can offer FORMATS without loading it.
"""
import csv
from pathlib import Path

from grader.pipeline.status import Status

# Canvas's gradebook import: these identification columns, in this order, then one column per
# assignment named by its title (a title Canvas does not know yet creates the assignment). The
# row after the header gives each assignment's points possible, as Canvas's own export does.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"
FORMATS = ("canvas", "nbgrader")
UNGRADED = (Status.NOT_SUBMITTED, Status.FAILED)     # no grade to send: the cell stays blank


def score(result, gradebook_rows) -> float:
    """Points earned: the total minus the gradebook's late penalty, at least 0."""
    penalty = (gradebook_rows or {}).get((result.student, result.assignment), {}).get("late_submission_penalty")
    return max(0.0, result.total - (penalty or 0.0))


def student_names(gradebook_rows) -> dict:
    """{student id: "Last, First"}, as Canvas lists students, for those the gradebook knows both names of."""
    return {student: f"{row['last_name']}, {row['first_name']}" for (student, _), row in (gradebook_rows or {}).items()
            if row.get("last_name") and row.get("first_name")}


def write_canvas_csv(results, path, gradebook_rows=None) -> Path:
    """Write the CSV Canvas's gradebook import reads: CANVAS_COLUMNS, then one column per assignment.

    Row 2 is "Points Possible" with each assignment's total; then one row per student, sorted by id:
    the name ("Last, First", else the id), the nbgrader student id as SIS Login ID (the login, as
    JupyterHub names students), and ID, SIS User ID and Section blank (nbgrader does not know
    them). A cell is the points earned, blank where there is nothing to grade (not submitted,
    grading failed), so Canvas leaves that grade as it is.
    """
    from grader.reports import report

    assignments = sorted({r.assignment for r in results})
    totals = {a: max(r.max_total for r in results if r.assignment == a) for a in assignments}
    grades = {(r.student, r.assignment): None if r.status in UNGRADED else score(r, gradebook_rows) for r in results}
    rows = [[*CANVAS_COLUMNS, *assignments], [POINTS_POSSIBLE, "", "", "", "", *(totals[a] for a in assignments)]]
    names = student_names(gradebook_rows)
    rows += [[names.get(student, student), "", "", student, "", *(grades.get((student, a)) for a in assignments)]
             for student in sorted({r.student for r in results})]
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerows([[report.export_text(cell) for cell in row] for row in rows])
    return path


def write(results, path, format: str, gradebook_rows=None) -> Path:
    """Write `results` as `format` ("canvas", or "nbgrader": the class report's scores.csv) to `path`."""
    from grader.reports import report

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if format == "canvas":
        return write_canvas_csv(results, path, gradebook_rows)
    return report.write_csv(results, path, gradebook_rows)
