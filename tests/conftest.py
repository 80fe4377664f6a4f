"""Shared fixtures: the assignments, one class per assignment graded by real nbgrader, the `course` command."""
import os
import subprocess
import sys

import pytest

from grader.pipeline.assignments import all_assignments
from grader.pipeline.classgrade import grade_class
from grader.pipeline.jobs import GradingLimits
from grader.pipeline.coursedir import CourseDir
from grader.authoring.sample_class import build_submissions, mistake_plans

ASSIGNMENTS = all_assignments()


def pytest_generate_tests(metafunc):
    if "assignment" in metafunc.fixturenames:
        metafunc.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])


def pytest_collection_modifyitems(items):
    """Keep each assignment's tests on one xdist worker, so its class is graded once."""
    for item in items:
        assignment = getattr(item, "callspec", None) and item.callspec.params.get("assignment")
        if assignment is not None:
            item.add_marker(pytest.mark.xdist_group(assignment.name))


def course_command(*args, env=None, exit_code=0) -> str:
    """Run the `course` command of this environment (with `env` added to the environment) and
    check its exit status; return what it printed, progress included."""
    command = os.path.join(os.path.dirname(sys.executable), "course")
    done = subprocess.run([command, *map(str, args)], capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert done.returncode == exit_code, done.stderr[-2000:]
    return done.stdout + done.stderr


def roster(assignment) -> dict:
    """The test class: every catalogued mistake appears once, plus complete, blank and broken work."""
    students = {"complete": "complete", "blank": "blank", "raises": "raises", "missing": "missing"}
    students.update({f"mistakes-{k}": f"mistakes-{k}" for k in range(1, len(mistake_plans(assignment.topic)) + 1)})
    if assignment == ASSIGNMENTS[0]:
        students["loops"] = "loops"
    return students


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """graded_class(assignment) -> (course, {student: SubmissionResult}), graded once per session by
    `course grade`'s pipeline with one worker (xdist runs two assignments side by side)."""
    done = {}

    def get(assignment):
        if assignment.name not in done:
            course = CourseDir(tmp_path_factory.mktemp(assignment.topic), timeout=10).create()
            course.generate(assignment)
            build_submissions(course, assignment, roster(assignment))
            results = grade_class(course, [assignment], workers=1, limits=GradingLimits(timeout=10, notebook_timeout=50),
                                  progress=lambda outcome: None)
            done[assignment.name] = course, {r.student: r for r in results}
        return done[assignment.name]

    return get
