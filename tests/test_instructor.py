"""The instructor's nbgrader tools on the repository's course directory: formgrader and validate.

The repository is the course directory (nbgrader_config.py: source solutions/, release
notebooks/): formgrader serving a copy of it lists the assignments. A class is graded in a
folder of its own, as the README's instructor walkthrough says; formgrader serving that folder
shows the grades of `course grade` and takes manual grades, which a regrade keeps. The
validate tests run nbgrader on the repository's own notebooks.
"""
import csv
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from grader.pipeline.assignments import RELEASE, REPO, all_assignments, select
from grader.pipeline.coursedir import CourseDir
from grader.mistakes.gradient_descent import MISTAKES
from grader.authoring.sample_class import fill, solution_answers, source_as
from conftest import course_command
from live_server import jupyter

ASSIGNMENTS = all_assignments()
FIRST = select(["01_gradient_descent"])[0]
MISTAKE = MISTAKES["nesterov_step"][0]
WRITTEN = "The gradient is a local slope; the learning rate says how far to trust it."


def grade_cells(path) -> dict:
    """grade_id -> nbgrader metadata of every graded cell (tests and written answers) of a notebook."""
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader
            for c in nbformat.read(path, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade")}


@pytest.fixture(scope="session")  # xdist may run other modules' tests between the tests that use it
def repository_server(tmp_path_factory):
    """Jupyter serving a copy of the repository's course directory (nbgrader_config.py, solutions/, notebooks/)."""
    root = tmp_path_factory.mktemp("course")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    with jupyter("server", root, tmp_path_factory.mktemp("jupyter")) as server:
        yield server


@pytest.fixture(scope="session")
def class_server(tmp_path_factory):
    """(course, server): the README's walkthrough, steps 3 to 5: alice's notebook collected into a
    class folder, graded by `course grade`, and Jupyter started in that folder."""
    root = tmp_path_factory.mktemp("class")
    answers = {**solution_answers(FIRST.source), "nesterov_step": source_as(MISTAKE.implementation, "nesterov_step"),
               "why_learning_rate": WRITTEN}
    fill(RELEASE / FIRST.name / FIRST.notebook, answers, root / "submitted" / "alice" / FIRST.name / FIRST.notebook)
    course_command("grade", root, "--workers", 1)
    with jupyter("server", root, tmp_path_factory.mktemp("jupyter")) as server:
        yield CourseDir(root), server


@pytest.mark.xdist_group("formgrader")
def test_formgrader_lists_every_assignment_of_the_repository_config(repository_server):
    listed = {a["name"]: a for a in repository_server.api("/formgrader/api/assignments")}
    assert sorted(listed) == [a.name for a in ASSIGNMENTS]
    for name, entry in listed.items():
        assert (entry["source_path"], entry["release_path"]) == (f"solutions/{name}", f"notebooks/{name}")


@pytest.mark.xdist_group("formgrader")
def test_formgrader_shows_a_class_graded_by_course_grade_and_regrades_keep_its_manual_grades(class_server):
    course, server = class_server
    cells = grade_cells(FIRST.source)
    points = {grade_id: meta["points"] for grade_id, meta in cells.items()}
    code = sum(p for g, p in points.items() if g.startswith("test_")) - points["test_nesterov_step"]

    [submission] = server.api(f"/formgrader/api/submissions/{FIRST.name}")
    assert (submission["student"], submission["autograded"]) == ("alice", True)
    assert submission["max_score"] == sum(points.values())
    assert submission["code_score"] == code     # the mistaken function scores 0
    assert submission["needs_manual_grade"]

    [notebook] = server.api(f"/formgrader/api/submitted_notebooks/{FIRST.name}/{FIRST.topic}")
    grades = {g["name"]: g for g in server.api(f"/formgrader/api/grades?submission_id={notebook['id']}")}
    assert grades.keys() == points.keys()
    for grade_id, grade in grades.items():
        if grade_id.startswith("test_"):
            assert grade["auto_score"] == (0 if grade_id == "test_nesterov_step" else points[grade_id]), grade_id
    written = grades["why_learning_rate"]
    assert written["auto_score"] is None and written["needs_manual_grade"]

    page = server.get(f"/formgrader/submissions/{notebook['id']}")
    assert WRITTEN in page, "the grading page does not show the written answer"
    assert f"[{MISTAKE.key}]" in page, "the grading page does not show the named mistake"

    graded = server.api(f"/formgrader/api/grade/{written['id']}", "PUT", {"manual_score": 1.5})
    assert (graded["manual_score"], graded["needs_manual_grade"]) == (1.5, False)
    [comment] = [c for c in server.api(f"/formgrader/api/comments?submission_id={notebook['id']}")
                 if c["name"] == "why_learning_rate"]
    server.api(f"/formgrader/api/comment/{comment['id']}", "PUT", {"manual_comment": "Good, and give an example."})

    course_command("feedback", course.root)                             # walkthrough step 6
    [row] = [r for r in csv.DictReader(open(course.root / "course_grade" / "scores.csv")) if r["student_id"] == "alice"]
    assert float(row["raw_score"]) == code + 1.5, "course feedback did not refresh scores.csv"
    course_command("grade", course.root, "--force", "--workers", 1)      # the checks changed, say
    with course.gradebook() as gradebook:
        stored = gradebook.find_submission(FIRST.name, "alice")
        assert gradebook.find_grade("why_learning_rate", FIRST.topic, FIRST.name, "alice").score == 1.5
        assert (stored.score, stored.needs_manual_grade) == (code + 1.5, False)
    page = course.path("feedback", "alice", FIRST.name, f"{FIRST.topic}.html").read_text()
    assert "Good, and give an example." in page and "1.5" in page

    resubmitted = course.path("submitted", "alice", FIRST.name, FIRST.notebook)     # alice fixes nesterov_step
    fill(resubmitted, {"nesterov_step": solution_answers(FIRST.source)["nesterov_step"]}, resubmitted)
    course_command("grade", course.root, "--workers", 1)
    with course.gradebook() as gradebook:
        written = gradebook.find_grade("why_learning_rate", FIRST.topic, FIRST.name, "alice")
        assert (written.score, written.needs_manual_grade) == (1.5, True)   # kept, and flagged for review
        assert gradebook.find_submission(FIRST.name, "alice").score == code + points["test_nesterov_step"] + 1.5


def validate(paths) -> dict:
    """notebook path -> what `nbgrader validate` printed about it, run from the repository (its config)."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("NBGRADER_EXECUTION", None)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", *map(str, paths)], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    blocks = re.split(r"^\[ValidateApp \| INFO\] Validating '(.+)'$", done.stdout, flags=re.M)
    return dict(zip(blocks[1::2], blocks[2::2]))


@pytest.mark.xdist_group("validate_solutions")
def test_nbgrader_validate_passes_every_solutions_notebook():
    said = validate([a.source for a in ASSIGNMENTS])
    assert sorted(said) == sorted(str(a.source) for a in ASSIGNMENTS)
    for path, text in said.items():
        assert "Success! Your notebook passes all the tests." in text, f"{path}:\n{text[-3000:]}"


@pytest.mark.xdist_group("validate_release")
def test_nbgrader_validate_reports_the_failing_checks_of_each_blank_release():
    releases = [RELEASE / a.name / a.notebook for a in ASSIGNMENTS]
    said = validate(releases)
    assert sorted(said) == sorted(map(str, releases))
    for path in releases:
        text, cells = said[str(path)], grade_cells(path)
        tests = [g.removeprefix("test_") for g in cells if g.startswith("test_")]
        assert f"VALIDATION FAILED ON {len(cells)} CELL(S)!" in text, f"{path}:\n{text[:2000]}"
        for name in tests:
            assert f"check_{name}({name})" in text, f"{path}: the failing check of {name} is not shown"
        # a backward pass's check runs the (blank) forward pass first, so that one may be named instead
        assert len(re.findall(r"CheckFailed: \w+ is not implemented yet", text)) == len(tests)
        assert text.count("You did not provide a response.") == len(cells) - len(tests)
