"""The instructor's nbgrader tools on the repository's course directory: formgrader and validate.

The repository is the course directory (nbgrader_config.py: source solutions/, release
notebooks/). The formgrader tests serve a copy of it, with one submission graded by
`nbgrader autograde`; the validate tests run nbgrader on the repository's own notebooks.
"""
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from grader.assignments import RELEASE, REPO, all_assignments, select
from grader.coursedir import CourseDir
from grader.mistakes.gradient_descent import MISTAKES
from grader.sample_class import fill, solution_answers, source_as
from live_server import jupyter

ASSIGNMENTS = all_assignments()
FIRST = select(["01_gradient_descent"])[0]
MISTAKE = MISTAKES["nesterov_step"][0]
WRITTEN = "The gradient is a local slope; the learning rate says how far to trust it."


def grade_cells(path) -> dict:
    """grade_id -> nbgrader metadata of every graded cell (tests and written answers) of a notebook."""
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader
            for c in nbformat.read(path, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade")}


@pytest.fixture(scope="session")  # xdist may run other modules' tests between the two that use it
def formgrader(tmp_path_factory):
    """(course, server): a copy of the course directory with alice's graded submission, served by Jupyter."""
    root = tmp_path_factory.mktemp("course")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    course = CourseDir(root)
    course.generate(FIRST)
    answers = {**solution_answers(FIRST.source), "nesterov_step": source_as(MISTAKE.implementation, "nesterov_step"),
               "why_learning_rate": WRITTEN}
    submitted = course.path("submitted", "alice", FIRST.name, FIRST.notebook)
    fill(root / "notebooks" / FIRST.name / FIRST.notebook, answers, submitted)
    course.autograde(FIRST)
    with jupyter("server", root, tmp_path_factory.mktemp("jupyter")) as server:
        yield course, server


@pytest.mark.xdist_group("formgrader")
def test_formgrader_lists_the_six_assignments_of_the_repository_config(formgrader):
    _, server = formgrader
    listed = {a["name"]: a for a in server.api("/formgrader/api/assignments")}
    assert sorted(listed) == [a.name for a in ASSIGNMENTS]
    for name, entry in listed.items():
        assert (entry["source_path"], entry["release_path"]) == (f"solutions/{name}", f"notebooks/{name}")
    assert listed[FIRST.name]["num_submissions"] == 1


@pytest.mark.xdist_group("formgrader")
def test_formgrader_shows_the_graded_submission_and_takes_a_manual_grade(formgrader):
    course, server = formgrader
    cells = grade_cells(FIRST.source)
    points = {grade_id: meta["points"] for grade_id, meta in cells.items()}
    code = sum(p for g, p in points.items() if g.startswith("test_"))

    [submission] = server.api(f"/formgrader/api/submissions/{FIRST.name}")
    assert (submission["student"], submission["autograded"]) == ("alice", True)
    assert submission["max_score"] == sum(points.values())
    assert submission["code_score"] == code - points["test_nesterov_step"]  # the mistaken function scores 0
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
    with course.gradebook() as gradebook:
        stored = gradebook.find_submission(FIRST.name, "alice")
        assert gradebook.find_grade("why_learning_rate", FIRST.topic, FIRST.name, "alice").score == 1.5
        assert (stored.score, stored.needs_manual_grade) == (code - points["test_nesterov_step"] + 1.5, False)


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
