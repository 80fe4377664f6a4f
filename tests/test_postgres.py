"""A gradebook on a real PostgreSQL server (`course grade CLASS --db URL`) holds the same grades
as the default SQLite file, for nbgrader's export, formgrader and `course export`.

The same submissions of three students are graded twice by `course grade`: into
CLASS/gradebook.db, and into a database of a throwaway PostgreSQL server (tests/postgres.py).
nbgrader's commands and formgrader run in each class folder as an instructor's would, so they
find the database through the folder's nbgrader_config.py alone. Then a class already graded
into gradebook.db moves, whole, to a database.
"""
import csv
import shutil
from dataclasses import dataclass
from typing import Callable

import pytest
from conftest import ASSIGNMENTS, course_command
from live_server import jupyter
from postgres import postgres_server

from grader.authoring.sample_class import build_submissions
from grader.pipeline.coursedir import CourseDir

pytestmark = pytest.mark.xdist_group("class-grading")
ASSIGNMENT = ASSIGNMENTS[0]
CLASS = {"ada": "complete", "ben": "raises", "grace": "blank"}
SCORES = ["raw_score", "late_submission_penalty", "score", "max_score"]


@dataclass
class Classes:
    sqlite: CourseDir           # graded by `course grade` into CLASS/gradebook.db
    postgres: CourseDir         # the same submissions, graded by `course grade --db url`
    url: str
    printed: str                # what `course grade --db` printed
    new_database: Callable      # new_database(name) -> the URL of another empty database on the server


def read_csv(path) -> list:
    """The rows of a CSV as dicts, sorted by student."""
    with open(path, newline="", encoding="utf-8") as file:
        return sorted(csv.DictReader(file), key=lambda row: row["student_id"])


def scores_by_student(rows) -> dict:
    return {row["student_id"]: tuple(float(row[c]) for c in SCORES) for row in rows}


def nbgrader_export(course) -> list:
    """The rows `nbgrader export`, run in the class folder, writes."""
    course.nbgrader("export", "--to", "grades.csv")
    return read_csv(course.root / "grades.csv")


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """Both classes graded. The PostgreSQL one starts as a folder holding only submitted/, as
    an instructor's does, so nothing before `--db` writes a gradebook.db."""
    with postgres_server() as new_database:
        url = new_database("gradebook")
        sqlite = CourseDir(tmp_path_factory.mktemp("sqlite"), timeout=10).create()
        sqlite.generate(ASSIGNMENT)
        build_submissions(sqlite, ASSIGNMENT, CLASS)
        postgres = CourseDir(tmp_path_factory.mktemp("pg"))
        shutil.copytree(sqlite.path("submitted"), postgres.path("submitted"))
        course_command("grade", sqlite.root, "--timeout", 10)
        printed = course_command("grade", postgres.root, "--db", url, "--timeout", 10)
        yield Classes(sqlite, postgres, url, printed, new_database)


def test_grade_with_db_keeps_the_gradebook_in_the_database_only(classes):
    postgres = classes.postgres
    assert CourseDir(postgres.root).db_url == classes.url        # read back from nbgrader_config.py
    assert "The gradebook is now postgresql://" in classes.printed
    assert not (postgres.root / "gradebook.db").exists() and (classes.sqlite.root / "gradebook.db").is_file()
    with postgres.gradebook() as gradebook:
        totals = {s.student.id: s.score for s in gradebook.assignment_submissions(ASSIGNMENT.name)}
    assert totals["ada"] > totals["ben"] > totals["grace"] == 0, "full, partial and no credit"
    assert "0 submission(s) to grade, 3 unchanged" in course_command("grade", postgres.root, "--timeout", 10)


def test_nbgrader_export_writes_the_same_grades_from_either_gradebook(classes):
    from_sqlite, from_postgres = nbgrader_export(classes.sqlite), nbgrader_export(classes.postgres)
    assert list(from_postgres[0]) == list(from_sqlite[0])
    assert scores_by_student(from_postgres) == scores_by_student(from_sqlite)
    assert sorted(scores_by_student(from_postgres)) == sorted(CLASS)


def test_formgrader_reports_the_same_scores_from_either_gradebook(classes, tmp_path):
    seen = []
    for course in (classes.sqlite, classes.postgres):
        with jupyter("server", course.root, tmp_path / course.root.name) as server:
            submissions = server.api(f"/formgrader/api/submissions/{ASSIGNMENT.name}")
            students = server.api("/formgrader/api/students")
        seen.append(({s["student"]: (s["score"], s["max_score"], s["code_score"], s["written_score"],
                                     s["needs_manual_grade"]) for s in submissions},
                     {s["id"]: (s["score"], s["max_score"]) for s in students}))
    assert seen[1] == seen[0]
    by_submission, by_student = seen[1]
    assert sorted(by_submission) == sorted(by_student) == sorted(CLASS)
    with classes.postgres.gradebook() as gradebook:
        totals = {s.student.id: s.score for s in gradebook.assignment_submissions(ASSIGNMENT.name)}
    assert {student: score for student, (score, *_) in by_submission.items()} == totals


def test_course_export_writes_the_same_csv_from_either_gradebook(classes, tmp_path):
    exported = []
    for course in (classes.sqlite, classes.postgres):
        out = tmp_path / f"{course.root.name}.csv"
        course_command("export", course.root, "--format", "nbgrader", "--out", out)
        exported.append(read_csv(out))
    assert list(exported[1][0]) == list(exported[0][0]), "the exercises' columns in the notebook's order"
    assert exported[1] == exported[0]
    assert sorted(scores_by_student(exported[1])) == sorted(CLASS)


def test_a_class_graded_before_moves_whole_into_its_new_database(classes, tmp_path):
    """Its gradebook is copied, manual grades included, so nothing needs grading again."""
    moved = CourseDir(tmp_path / "moved")
    shutil.copytree(classes.sqlite.root, moved.root)
    with moved.gradebook() as gradebook:
        gradebook.find_grade("why_learning_rate", ASSIGNMENT.topic, ASSIGNMENT.name, "ada").manual_score = 2.0
        gradebook.db.commit()
    printed = course_command("grade", moved.root, "--db", classes.new_database("moved"), "--timeout", 10)
    assert "(copied whole from " in printed and "0 submission(s) to grade, 3 unchanged" in printed
    with moved.gradebook() as gradebook:
        assert gradebook.find_grade("why_learning_rate", ASSIGNMENT.topic, ASSIGNMENT.name, "ada").manual_score == 2.0
    exported = scores_by_student(nbgrader_export(moved))
    assert exported["ada"][0] == scores_by_student(nbgrader_export(classes.sqlite))["ada"][0] + 2.0
    again = tmp_path / "again"       # another graded class cannot move into the same database
    shutil.copytree(classes.sqlite.root, again)
    printed = course_command("grade", again, "--db", moved.db_url, exit_code=1)
    assert "already holds a gradebook: give an empty one" in printed and "Traceback" not in printed
    assert CourseDir(again).db_url.startswith("sqlite:")
