"""`course grade` on a class: the same gradebook whatever the workers, resumable, shardable."""
import os
import shutil

import pytest
from conftest import ASSIGNMENTS, course_command

from grader.pipeline.classgrade import regrade_reason
from grader.pipeline.coursedir import CourseDir
from grader.pipeline.jobs import KERNEL_STARTS, GradingLimits, Job
from grader.authoring.sample_class import build_submissions

pytestmark = pytest.mark.xdist_group("class-grading")
ASSIGNMENT = ASSIGNMENTS[0]
CLASS = {"ada": "complete", "ben": "mistakes-1", "chloe": "mistakes-2", "dmitri": "raises", "grace": "blank"}


def new_class(root) -> CourseDir:
    course = CourseDir(root, timeout=10).create()
    course.generate(ASSIGNMENT)
    build_submissions(course, ASSIGNMENT, CLASS)
    return course


def gradebook_dump(course) -> dict:
    """Every automatic grade and comment of the gradebook, by (student, cell)."""
    with course.gradebook() as gradebook:
        return {(s.student.id, g.name): (g.auto_score, g.needs_manual_grade)
                for s in gradebook.assignment_submissions(ASSIGNMENT.name) for n in s.notebooks for g in n.grades}


def graded_times(course) -> dict:
    return {s: course.path("autograded", s, ASSIGNMENT.name, ASSIGNMENT.notebook).stat().st_mtime_ns for s in CLASS}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded with two workers, and the same class graded with one."""
    two, one = new_class(tmp_path_factory.mktemp("two")), new_class(tmp_path_factory.mktemp("one"))
    course_command("grade", two.root, "--workers", 2, "--timeout", 10)
    course_command("grade", one.root, "--workers", 1, "--timeout", 10)
    return two, one


def test_the_gradebook_is_the_same_with_one_or_two_workers(graded):
    two, one = graded
    assert gradebook_dump(two) == gradebook_dump(one)
    assert len(gradebook_dump(two)) == len(CLASS) * 6


def test_a_rerun_grades_nothing_and_a_changed_submission_alone(graded):
    course, _ = graded
    before = graded_times(course)
    assert "0 submission(s) to grade, 5 unchanged" in course_command("grade", course.root, "--timeout", 10)
    # other limits cannot change what a submission that was not stopped by one earned
    assert "0 submission(s) to grade, 5 unchanged" in course_command("grade", course.root, "--timeout", 12)
    assert graded_times(course) == before
    build_submissions(course, ASSIGNMENT, {"grace": "complete"})
    printed = course_command("grade", course.root, "--timeout", 10)
    assert "1 submission(s) to grade (1 submission changed), 4 unchanged" in printed
    assert "grace 01_gradient_descent: graded" in printed
    after = graded_times(course)
    assert [s for s in CLASS if after[s] != before[s]] == ["grace"]
    with course.gradebook() as gradebook:
        assert gradebook.find_submission(ASSIGNMENT.name, "grace").score == 9.0


def test_force_regrades_only_the_students_named(graded):
    course, _ = graded
    before = graded_times(course)
    course_command("grade", course.root, "--student", "ben", "--force", "--timeout", 10)
    after = graded_times(course)
    assert [s for s in CLASS if after[s] != before[s]] == ["ben"]


def test_the_report_and_feedback_are_written(graded):
    course, _ = graded
    csv = (course.root / "course_grade" / "scores.csv").read_text().splitlines()
    assert csv[0].startswith("assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score")
    assert len(csv) == 1 + len(CLASS)
    page = (course.root / "course_grade" / "report.html").read_text()
    assert page.count("data:image/png") == 1
    assert f'<a href="../feedback/ada/{ASSIGNMENT.name}/gradient_descent.html">ada</a>' in page
    assert '<small>[' in page, "a named mistake's key shows where ben and chloe lost points"
    for student in CLASS:
        assert course.path("feedback", student, ASSIGNMENT.name, "gradient_descent.html").exists()


def test_two_shards_merged_equal_one_machine(graded, tmp_path):
    _, whole = graded
    shards = []
    for index in (1, 2):
        shard = tmp_path / f"shard{index}"
        shutil.copytree(whole.path("submitted"), shard / "submitted")
        course_command("grade", shard, "--shard", f"{index}/2", "--timeout", 10)
        shards.append(shard)
    merged = tmp_path / "merged"
    shutil.copytree(whole.path("submitted"), merged / "submitted")
    printed = course_command("merge", merged, *shards)
    assert f"merged {len(CLASS)} submission(s)" in printed
    assert gradebook_dump(CourseDir(merged)) == gradebook_dump(whole)
    for student in CLASS:
        assert (merged / "feedback" / student / ASSIGNMENT.name / "gradient_descent.html").exists()


def test_a_kernel_that_cannot_start_costs_the_student_nothing_and_the_next_run_retries(tmp_path):
    course = CourseDir(tmp_path / "class", timeout=10).create()
    course.generate(ASSIGNMENT)
    build_submissions(course, ASSIGNMENT, {"ada": "complete"})
    broken = tmp_path / "bin" / "bwrap"         # makes the sandbox the probe asks for, and no other
    broken.parent.mkdir()
    broken.write_text('#!/bin/sh\nfor last; do :; done\n[ "$last" = /bin/true ] && exit 0\nexit 3\n')
    broken.chmod(0o755)
    path = f"{broken.parent}{os.pathsep}{os.environ['PATH']}"
    printed = course_command("grade", course.root, "--timeout", 10, env={"PATH": path}, exit_code=1)
    assert "ada 01_gradient_descent: grading failed (the kernel did not start: RuntimeError: Kernel died" in printed
    assert "1 submission(s) could not be graded" in printed and "run the same command again" in printed
    logs = "".join(p.read_text() for p in course.path("course_grade", "logs").iterdir())
    assert logs.count("Error occurred while starting new kernel client") == KERNEL_STARTS
    with course.gradebook() as gradebook:
        assert gradebook.assignment_submissions(ASSIGNMENT.name) == []
    assert not course.path("feedback", "ada").exists()
    printed = course_command("grade", course.root, "--timeout", 10)
    assert "1 submission(s) to grade (1 grading failed last time), 0 unchanged" in printed
    assert "ada 01_gradient_descent: graded" in printed


def test_parallel_kernels_never_cross_talk(graded):
    """Kernels of parallel workers talk over Unix sockets; over TCP, two could pick the same
    port, and one then died at start or received the other's messages."""
    for course in graded:
        logs = "".join(p.read_text() for p in course.path("course_grade", "logs").iterdir())
        assert "Address already in use" not in logs and "Invalid Signature" not in logs
        assert "Kernel is running over TCP" not in logs


@pytest.mark.parametrize("option, value, expected", [
    ("--workers", "0", "expected a whole number of at least 1, got 0"),
    ("--timeout", "0", "expected a whole number of at least 1, got 0"),
    ("--notebook-timeout", "ten", "expected a whole number, got 'ten'"),
    ("--memory", "-5", "expected a whole number of at least 64, got -5"),
    ("--shard", "1/0", "expected I/N with 1 <= I <= N, such as 2/3, got '1/0'"),
    ("--shard", "3/2", "expected I/N with 1 <= I <= N"),
    ("--shard", "one", "expected I/N with 1 <= I <= N"),
])
def test_bad_option_values_are_refused_saying_what_is_expected(tmp_path, option, value, expected):
    printed = course_command("grade", tmp_path, option, value, exit_code=2)
    assert f"argument {option}: {expected}" in printed and "Traceback" not in printed


def test_a_rerun_regrades_for_new_limits_only_what_a_limit_stopped():
    job = Job("ada", ASSIGNMENT.name, ASSIGNMENT.notebook, "checks:files")
    limits = GradingLimits(timeout=60, notebook_timeout=300, memory_mib=2048)
    before = {"fingerprint": "checks:files", "limits": {**vars(limits), "timeout": 30}}
    assert regrade_reason(job, {**before, "status": "graded"}, limits) == ""
    assert regrade_reason(job, {**before, "status": "timed out"}, limits) == \
        "timed out under other limits (timeout 30 -> 60)"
    assert regrade_reason(job, {**before, "status": "kernel died"}, limits).startswith("kernel died under")
    assert regrade_reason(job, {**before, "status": "graded", "fingerprint": "checks:other"}, limits) == \
        "submission changed"
    assert regrade_reason(job, {**before, "status": "graded", "fingerprint": "new checks:files"}, limits) == \
        "assignment or checks changed"
    unconfined = {**before, "status": "graded", "limits": {**vars(limits), "sandboxed": False}}
    assert regrade_reason(job, unconfined, limits) == "graded without the sandbox last time"
    assert regrade_reason(job, {}, limits) == "new"
