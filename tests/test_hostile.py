"""Broken and hostile submissions graded with `course grade`: each costs only its author.

One class of assignment 01 holds two honest students and one student per attack; it is
graded once by the real command line with two workers. The honest students are also graded
alone, and must get exactly the same grades. Kernels that take their grading process down, and
faults of the grader itself, are graded on their own.
"""
import os
import subprocess
import sys
import tempfile

import nbformat
import pytest
from conftest import ASSIGNMENTS, course_command

from grader.pipeline.classgrade import Ledger, grade_class
from grader.pipeline.jobs import GradingLimits, Job, Settings, course_fingerprint, grade_job, payload
from grader.pipeline.status import Status
from grader.pipeline.coursedir import CourseDir
from grader.authoring.sample_class import build_submissions, first_function, solution_answers
from grader.reports.scores import read_submission

pytestmark = pytest.mark.xdist_group("hostile")
ASSIGNMENT = ASSIGNMENTS[0]
HONEST = {"ada": "complete", "ben": "mistakes-1"}
PATCH_GRADE = """import grader, grader.checks.judge
grader.grade = grader.checks.judge.grade = lambda topic, name, fn, points: float(points)
"""
PATCH_NUMPY = """import numpy as np
np.allclose = np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
"""
SWALLOWS_INTERRUPTS = """
import time
while True:
    try:
        while True:
            time.sleep(0.01)
    except BaseException:
        pass
"""
KILLS_ITS_WORKER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
PATTERN_ID = "a30_glob[1]"
EVERY_CHECK_PASSES = "".join(f"check_{name} = lambda fn: None\n" for name in
                             ("mse_loss_grad", "gd_step", "minibatch_indices", "momentum_step", "nesterov_step"))


def with_body(function: str, body: str) -> str:
    """A function's source with its body replaced by `body`."""
    return function.split(":\n", 1)[0] + ":\n" + body


def first_body(answers: dict, body: str) -> dict:
    """The answers with the first graded function's body replaced by `body`."""
    first = first_function(answers)
    return {**answers, first: with_body(answers[first], body)}


def wrong_answers(answers: dict) -> dict:
    """Every function answers zeros of the right shape: wrong everywhere."""
    zeros = {
        "mse_loss_grad": "def mse_loss_grad(w, X, y):\n    return 0.0, np.zeros_like(w)\n",
        "gd_step": "def gd_step(w, grad, lr):\n    return np.zeros_like(w)\n",
        "minibatch_indices": "def minibatch_indices(n, batch_size, rng):\n"
                             "    return [np.arange(n)[i:i + batch_size] for i in range(0, n, batch_size)]\n",
        "momentum_step": "def momentum_step(w, grad, velocity, lr, beta):\n    return np.zeros_like(w), velocity\n",
        "nesterov_step": "def nesterov_step(w, grad, velocity, lr, beta):\n    return np.zeros_like(w), velocity\n",
    }
    return {**answers, **zeros}


def attacks(complete: dict) -> dict:
    """student -> answers (grade_id -> source) of every attack that is a filled-in notebook."""
    first = first_function(complete)
    noisy = {k: v.replace(":\n", ":\n    import sys, warnings\n    print('debug', file=sys.stderr)\n"
                                 "    warnings.warn('my own warning')\n", 1) if v.startswith("def ") else v
             for k, v in complete.items()}
    wrong = wrong_answers(complete)
    loops = {k: with_body(v, "    while True:\n        pass\n") if v.startswith("def ") else v
             for k, v in complete.items()}
    return {
        "exits": first_body(complete, "    import os\n    os._exit(1)\n"),
        "segfault": first_body(complete, "    import ctypes\n    ctypes.string_at(0)\n"),
        "memory_bomb": first_body(complete, "    hoard = []\n    while True:\n        hoard.append(bytearray(10**8))\n"),
        "floods": {**complete, first: complete[first] + "\nfor _ in range(20_000):\n    print('x' * 500)\n"},
        "stderr": {**noisy, first: noisy[first] + "\nimport sys\nprint('a note', file=sys.stderr)\n"},
        "sys_exit": first_body(complete, "    import sys\n    sys.exit(3)\n"),
        "loops": first_body(complete, "    while True:\n        pass\n"),
        "loops_everywhere": loops,
        "swallows_interrupts": {**complete, "momentum_step": complete["momentum_step"] + SWALLOWS_INTERRUPTS},
        "wrong": {**wrong, first: wrong[first] + "\n" + EVERY_CHECK_PASSES},
        "patches_grade": {**wrong, first: wrong[first] + "\n" + PATCH_GRADE + EVERY_CHECK_PASSES},
        "patches_numpy": {**wrong, first: wrong[first] + "\n" + PATCH_NUMPY + EVERY_CHECK_PASSES},
        "imports_reference": {**complete, first: f"from grader.reference.{ASSIGNMENT.topic} import *\n"},
    }


def write_answers(course, student: str, answers: dict) -> None:
    """Hand in the release notebook with `answers` (grade_id -> source) filled in."""
    notebook = nbformat.read(course.path("release", ASSIGNMENT.name, ASSIGNMENT.notebook), as_version=4)
    for cell in notebook.cells:
        cell.source = answers.get(cell.metadata.get("nbgrader", {}).get("grade_id"), cell.source)
    folder = course.path("submitted", student, ASSIGNMENT.name)
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / ASSIGNMENT.notebook)


def write_class(course) -> None:
    build_submissions(course, ASSIGNMENT, {**HONEST, "edits_tests": "complete", "renamed": "complete",
                                           "fifo": "complete", "floods_cells": "complete", PATTERN_ID: "complete",
                                           "duplicate_ids": "complete"})
    for student, answers in attacks(solution_answers(ASSIGNMENT.source)).items():
        write_answers(course, student, answers)
    flooded = course.path("submitted", "floods_cells", ASSIGNMENT.name, ASSIGNMENT.notebook)
    notebook = nbformat.read(flooded, as_version=4)
    notebook.cells[1:1] = [nbformat.v4.new_code_cell("print('y' * 1_900_000)") for _ in range(12)]
    nbformat.write(notebook, flooded)
    linked = course.path("submitted", "links_solution", ASSIGNMENT.name)
    linked.mkdir(parents=True)
    (linked / ASSIGNMENT.notebook).symlink_to(ASSIGNMENT.source)
    os.mkfifo(course.path("submitted", "fifo", ASSIGNMENT.name, "blocks-whoever-reads-it"))
    folder = course.path("submitted", "malformed", ASSIGNMENT.name)
    folder.mkdir(parents=True)
    (folder / ASSIGNMENT.notebook).write_text('{"cells": [ {"cell_type": "code", "source": "oops')
    renamed = course.path("submitted", "renamed", ASSIGNMENT.name)
    (renamed / ASSIGNMENT.notebook).rename(renamed / "my copy.ipynb")
    edited = course.path("submitted", "edits_tests", ASSIGNMENT.name, ASSIGNMENT.notebook)
    notebook = nbformat.read(edited, as_version=4)
    tests = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    for cell in tests[1:]:
        cell.source = "pass  # this check is in my way"
    notebook.cells.remove(tests[0])
    nbformat.write(notebook, edited)
    duplicated = course.path("submitted", "duplicate_ids", ASSIGNMENT.name, ASSIGNMENT.notebook)
    notebook = nbformat.read(duplicated, as_version=4)
    graded = [c for c in notebook.cells if "grade_id" in c.metadata.get("nbgrader", {})]
    graded[1].metadata.nbgrader.grade_id = graded[0].metadata.nbgrader.grade_id
    nbformat.write(notebook, duplicated)


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    course = CourseDir(tmp_path_factory.mktemp("hostile"), timeout=5).create()
    course.generate(ASSIGNMENT)
    write_class(course)
    printed = course_command("grade", course.root, "--workers", 2, "--timeout", 5, "--memory", 1024, ASSIGNMENT.name,
                             exit_code=1)     # one student folder cannot be graded under its name
    alone = CourseDir(tmp_path_factory.mktemp("honest"), timeout=5).create()
    alone.generate(ASSIGNMENT)
    build_submissions(alone, ASSIGNMENT, HONEST)
    grade_class(alone, [ASSIGNMENT], workers=1, limits=GradingLimits(timeout=5, notebook_timeout=25, memory_mib=1024),
                progress=lambda outcome: None)
    return course, alone, printed


def result(course, student):
    entry = Ledger.of(course).get(student, ASSIGNMENT.name)
    return read_submission(course, ASSIGNMENT, student, entry["status"], entry["detail"])


def automatic(result) -> float:
    """Points of the automatically graded exercises (written answers wait for a grader)."""
    return result.total


def test_honest_students_get_exactly_what_they_get_alone(hostile_class):
    course, alone, _ = hostile_class
    for student in HONEST:
        assert result(course, student).exercises == result(alone, student).exercises, student


def test_every_submission_is_in_the_gradebook_and_nbgrader_exports_it(hostile_class):
    course, _, _ = hostile_class
    students = sorted(p.name for p in course.path("submitted").iterdir() if p.name != PATTERN_ID)
    with course.gradebook() as gradebook:
        assert sorted(s.student.id for s in gradebook.assignment_submissions(ASSIGNMENT.name)) == students
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    subprocess.run([sys.executable, "-m", "nbgrader", "export"], cwd=course.root, env=env, check=True,
                   capture_output=True)
    exported = (course.root / "grades.csv").read_text()
    assert all(f",{student}," in exported for student in students)


@pytest.mark.parametrize("student, status", [
    ("malformed", "unreadable notebook"), ("renamed", "missing notebook"), ("exits", "kernel died"),
    ("links_solution", "refused"), ("fifo", "refused"),
    ("segfault", "kernel died"), ("loops", "timed out"), ("edits_tests", "graded"), ("floods", "graded"),
    ("stderr", "graded"), ("sys_exit", "graded"), ("wrong", "graded"), ("patches_grade", "graded"),
    ("patches_numpy", "graded"),
    ("imports_reference", "graded"), ("duplicate_ids", "unreadable notebook"),
    ("swallows_interrupts", "timed out"), ("loops_everywhere", "timed out"),
])
def test_each_submission_ends_with_its_status(hostile_class, student, status):
    assert result(hostile_class[0], student).status == status


def test_links_and_special_files_are_refused_unread(hostile_class):
    course = hostile_class[0]
    linked, fifo = result(course, "links_solution"), result(course, "fifo")
    assert linked.total == fifo.total == 0.0
    assert ASSIGNMENT.notebook in linked.detail and "blocks-whoever-reads-it" in fifo.detail


def test_a_renamed_notebook_is_reported_with_what_was_found(hostile_class):
    assert "my copy.ipynb" in result(hostile_class[0], "renamed").detail


def test_patching_the_checks_or_numpy_earns_nothing(hostile_class):
    """The checks judge in the grading process: what a kernel patches stays in the kernel, so
    patched wrong answers earn no more than the same wrong answers unpatched (patching the
    grader fails at once: it cannot be imported in a grading kernel)."""
    course, _, _ = hostile_class
    wrong = [e.score or 0.0 for e in result(course, "wrong").exercises]
    assert sum(wrong) < 3
    for student in ("patches_grade", "patches_numpy"):
        patched = [e.score or 0.0 for e in result(course, student).exercises]
        assert all(p <= w for p, w in zip(patched, wrong)), (student, patched, wrong)


def test_the_reference_cannot_be_imported_in_a_grading_kernel(hostile_class):
    course = hostile_class[0]
    assert result(course, "imports_reference").exercises[0].score == 0.0
    graded = nbformat.read(course.path("autograded", "imports_reference", ASSIGNMENT.name, ASSIGNMENT.notebook), 4)
    errors = [o for c in graded.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors[0].ename == "ModuleNotFoundError" and "grader" in errors[0].evalue, errors[0]


def test_restored_tests_grade_as_if_untouched(hostile_class):
    course, alone, _ = hostile_class
    assert result(course, "edits_tests").exercises[1:] == result(alone, "ada").exercises[1:]


def test_stderr_and_warnings_from_student_code_cost_nothing(hostile_class):
    course, alone, _ = hostile_class
    assert automatic(result(course, "stderr")) == automatic(result(alone, "ada"))


@pytest.mark.parametrize("student, largest, cut", [
    ("floods", 5_000_000, "[output cut: this cell"),                 # one cell printing 10 MB
    ("floods_cells", 25_000_000, "[output cut: this notebook"),      # 12 cells of 1.9 MB each
])
def test_output_floods_are_cut_and_cost_nothing(hostile_class, student, largest, cut):
    course, alone, _ = hostile_class
    assert automatic(result(course, student)) == automatic(result(alone, "ada"))
    graded = course.path("autograded", student, ASSIGNMENT.name, ASSIGNMENT.notebook)
    assert graded.stat().st_size < largest
    assert cut in graded.read_text()


def test_crashes_cost_their_author_points(hostile_class):
    course, alone, _ = hostile_class
    full = automatic(result(alone, "ada"))
    for student in ("exits", "segfault", "memory_bomb", "sys_exit", "loops"):
        assert automatic(result(course, student)) < full, student


def test_a_cell_that_swallows_interrupts_times_out_and_keeps_the_scores_before_it(hostile_class):
    course, alone, _ = hostile_class
    swallowed, honest = result(course, "swallows_interrupts"), result(alone, "ada")
    assert "would not stop when interrupted" in swallowed.detail
    scores = [(e.name, e.score) for e in swallowed.exercises]
    ran = ["mse_loss_grad", "gd_step", "minibatch_indices"]
    assert [s for s in scores if s[0] in ran] == [(e.name, e.score) for e in honest.exercises if e.name in ran]
    assert all(score == 0 for name, score in scores if name in ("momentum_step", "nesterov_step"))


def test_a_notebook_stops_at_its_time_budget(hostile_class):
    """Every function loops: each cell that calls one would take the cell timeout (5 s) again;
    the notebook's budget (5 cell timeouts by default) stops it."""
    entry = Ledger.of(hostile_class[0]).get("loops_everywhere", ASSIGNMENT.name)
    assert "later cell(s) not run: the notebook used up its time budget (25 s)" in entry["detail"]
    assert entry["execute_seconds"] < 25 + 15


def test_a_student_id_nbgrader_reads_as_a_pattern_is_named_and_not_scored(hostile_class):
    course, _, printed = hostile_class
    assert f"Not graded: student folder(s) named with * ? [ or ], which nbgrader reads as patterns: {PATTERN_ID}" \
        in printed
    assert Ledger.of(course).get(PATTERN_ID, ASSIGNMENT.name) == {}
    assert PATTERN_ID not in (course.root / "course_grade" / "scores.csv").read_text()


def test_metadata_broken_by_the_student_is_an_unreadable_notebook(hostile_class):
    assert "Duplicate grade id" in result(hostile_class[0], "duplicate_ids").detail


def test_a_kernel_that_kills_its_grading_process_is_kernel_died_after_a_second_try(tmp_path):
    """Unconfined (--no-sandbox), a kernel can kill the process grading it: its Dask worker. The
    class goes on: the others are graded, and the culprit, once it took a worker down twice, is
    recorded as "kernel died". The killed workers' scratch folders go too."""
    course = CourseDir(tmp_path / "class", timeout=5).create()
    course.generate(ASSIGNMENT)
    build_submissions(course, ASSIGNMENT, {"ada": "complete"})
    complete = solution_answers(ASSIGNMENT.source)
    first = first_function(complete)
    write_answers(course, "kills_worker", {**complete, first: KILLS_ITS_WORKER + complete[first]})
    with tempfile.TemporaryDirectory() as temporary:     # short: it holds the kernels' Unix sockets
        printed = course_command("grade", course.root, "--workers", 2, "--timeout", 5, "--no-sandbox",
                                 env={"TMPDIR": temporary})
        assert not os.listdir(temporary)
    assert "kills_worker 01_gradient_descent: kernel died (its grading process died 2 times" in printed
    assert "ada 01_gradient_descent: graded" in printed
    assert result(course, "kills_worker").total == 0.0 and result(course, "ada").total == 9.0


def test_an_error_of_the_grader_is_grading_failed_never_the_students(tmp_path):
    """A fault of ours inside nbgrader's run (here: the gradebook a worker is sent is damaged) is
    "grading failed": nothing comes back to record, and the next run retries."""
    course = CourseDir(tmp_path / "class", timeout=5).create()
    course.generate(ASSIGNMENT)
    build_submissions(course, ASSIGNMENT, {"ada": "complete"})
    settings = Settings(GradingLimits(timeout=5), (course.root / "nbgrader_config.py").read_text(), course_fingerprint())
    files = payload(course.path("submitted", "ada", ASSIGNMENT.name))
    outcome = grade_job(Job("ada", ASSIGNMENT.name, ASSIGNMENT.notebook, "fingerprint"), files,
                        b"this is not a database", settings)
    assert outcome.status == Status.FAILED and outcome.detail.startswith("nbgrader failed"), outcome
    assert outcome.grades is None and outcome.files == {}
