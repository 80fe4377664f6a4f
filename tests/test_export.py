"""`course export`: the class's grades as the CSV Canvas's gradebook import reads, or as nbgrader's columns."""
import csv

import pytest

from conftest import course_command
from grader.authoring.sample_class import build_submissions
from grader.pipeline.assignments import select
from grader.pipeline.classgrade import class_results, grade_class
from grader.pipeline.coursedir import CourseDir
from grader.pipeline.jobs import GradingLimits
from grader.pipeline.status import Status
from grader.reports import export, report
from grader.reports.scores import ExerciseResult, SubmissionResult

pytestmark = pytest.mark.xdist_group("instructor-export")

ASSIGNMENT = select(["01_gradient_descent"])[0]
FORMULA_ID = "=2+5"
# Canvas's gradebook import: "Student", "ID", "SIS User ID", "SIS Login ID", "Section", then the assignments.
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def read_csv(path) -> list:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A class graded once: complete work, catalogued mistakes, a student id that is a formula, a
    missing notebook; the gradebook knows ada's name, and a last name that is a formula."""
    course = CourseDir(tmp_path_factory.mktemp("export") / "class", timeout=30).create()
    course.generate(ASSIGNMENT)
    build_submissions(course, ASSIGNMENT, {"ada": "complete", "ben": "mistakes-1", FORMULA_ID: "complete",
                                           "farid": "missing"})
    grade_class(course, [ASSIGNMENT], workers=1, limits=GradingLimits(timeout=30), progress=lambda outcome: None)
    with course.gradebook() as gradebook:
        gradebook.update_or_create_student("ada", first_name="Ada", last_name="Lovelace")
        gradebook.update_or_create_student("ben", first_name="Ben", last_name="@SUM(A1:A9)")
    return course, {r.student: r for r in class_results(course, [ASSIGNMENT])}


def test_canvas_csv_has_the_documented_columns_and_points(graded):
    course, results = graded
    printed = course_command("export", course.root, "--format", "canvas")
    path = course.root / "course_grade" / "canvas.csv"
    assert str(path) in printed
    header, points, *rows = read_csv(path)
    assert header == CANVAS_HEADER + [ASSIGNMENT.name]
    total = results["ada"].max_total
    assert total > 0 and points == ["Points Possible", "", "", "", "", str(float(total))]
    by_login = {row[3]: row for row in rows}
    assert sorted(by_login) == sorted(["ada", "ben", "farid", "'" + FORMULA_ID])
    full = str(results["ada"].total)     # every automatic point; the written answer waits for a manual grade
    assert results["ada"].total == results[FORMULA_ID].total > 0
    assert by_login["ada"] == ["Lovelace, Ada", "", "", "ada", "", full]
    assert by_login["'" + FORMULA_ID] == ["'" + FORMULA_ID, "", "", "'" + FORMULA_ID, "", full]
    assert float(by_login["ben"][5]) == results["ben"].total < results["ada"].total   # a mistake per function
    assert by_login["ben"][0] == "'@SUM(A1:A9), Ben"
    assert results["farid"].status == Status.MISSING and by_login["farid"][5] == "0.0"


def test_nbgrader_format_is_the_class_reports_scores_csv(graded, tmp_path):
    course, results = graded
    out = tmp_path / "nbgrader.csv"
    course_command("export", course.root, "--format", "nbgrader", "--out", out, ASSIGNMENT.name)
    reported = report.write_report(list(results.values()), tmp_path / "report", course.db_url)["csv"]
    exported = read_csv(out)
    assert exported == read_csv(reported)
    assert exported[0][:len(report.NBGRADER_EXPORT_COLUMNS) + 1] == [*report.NBGRADER_EXPORT_COLUMNS, "status"]
    assert {row[3] for row in exported[1:]} == {"ada", "ben", "farid", "'" + FORMULA_ID}


def test_a_class_never_graded_has_nothing_to_export(tmp_path):
    course = CourseDir(tmp_path / "class").create()
    course.path("submitted", "ada", ASSIGNMENT.name).mkdir(parents=True)
    assert "grade the class first" in course_command("export", course.root, exit_code=1)


def result(student, status, score, max_score=10.0):
    return SubmissionResult(student, ASSIGNMENT.name, status, [ExerciseResult("gd_step", score, max_score)])


def test_canvas_leaves_ungraded_cells_blank_and_takes_off_the_late_penalty(tmp_path):
    results = [result("ada", Status.GRADED, 8.0), result("ben", Status.NOT_SUBMITTED, 0.0),
               result("chloe", Status.FAILED, 0.0), result("dmitri", Status.GRADED, 2.0)]
    late = {("ada", ASSIGNMENT.name): {"late_submission_penalty": 3.0},
            ("dmitri", ASSIGNMENT.name): {"late_submission_penalty": 5.0}}
    _, points, *rows = read_csv(export.write(results, tmp_path / "c.csv", "canvas", late))
    assert points[5] == "10.0"
    assert {row[3]: row[5] for row in rows} == {"ada": "5.0", "ben": "", "chloe": "", "dmitri": "0.0"}
