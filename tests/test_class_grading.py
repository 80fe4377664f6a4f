"""`course grade` on a class: the same gradebook whatever the workers, local or on a Dask
cluster that loses a worker; resumable."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ASSIGNMENTS, course_command
from dask_cluster import dask_cluster
from distributed import Client

from grader.pipeline.assignments import REPO
from grader.pipeline.classgrade import regrade_reason
from grader.pipeline.cluster import connect
from grader.pipeline.coursedir import CourseDir
from grader.pipeline.jobs import KERNEL_STARTS, GradingLimits, Job
from grader.authoring.sample_class import build_submissions

pytestmark = pytest.mark.xdist_group("class-grading")
ASSIGNMENT = ASSIGNMENTS[0]
COURSE = os.path.join(os.path.dirname(sys.executable), "course")
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


def test_the_jobs_of_a_worker_share_one_engine_and_each_writes_its_own_gradebook(graded, tmp_path):
    from nbgrader.api import Gradebook
    from grader.pipeline import gradebook
    from grader.pipeline.coursedir import COURSE_ID

    course, _ = graded
    template = gradebook.template(course.db_url)
    engines = []
    for job in ("first", "second"):
        path = tmp_path / f"{job}.db"
        path.write_bytes(template)
        with gradebook.worker_engine(path):
            for _ in range(2):
                with Gradebook(f"sqlite:///{path}", COURSE_ID) as book:
                    engines.append(book.engine)
                    book.update_or_create_student(job)
            with Gradebook(course.db_url, COURSE_ID) as other:     # any other database: an engine of its own
                assert other.engine is not engines[0]
    assert all(engine is engines[0] for engine in engines)
    for job in ("first", "second"):
        with Gradebook(f"sqlite:///{tmp_path / f'{job}.db'}", COURSE_ID) as book:
            assert [s.id for s in book.students] == [job]


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


def test_a_class_graded_through_a_scheduler_equals_a_local_run(graded, tmp_path):
    """A real `dask scheduler` and two `dask worker`s, each in an empty folder of its own: the
    submissions travel to them, the results come back as data, and the gradebook, the graded
    notebooks and the feedback are written here, as a local run writes them."""
    _, local = graded
    course = new_class(tmp_path / "class")
    with dask_cluster(tmp_path / "cluster") as cluster:
        printed = course_command("grade", course.root, "--scheduler", cluster.address, "--timeout", 10)
    assert f"5 submission(s) to grade (5 new), 0 unchanged since graded; on the Dask scheduler at {cluster.address}" \
        in printed
    assert gradebook_dump(course) == gradebook_dump(local)
    for student in CLASS:
        assert course.path("autograded", student, ASSIGNMENT.name, ASSIGNMENT.notebook).is_file()
        assert course.path("feedback", student, ASSIGNMENT.name, "gradient_descent.html").is_file()
    for worker in ("worker0", "worker1"):     # they kept nothing of the class
        assert not list((tmp_path / "cluster" / worker).rglob("*.ipynb"))


def test_a_worker_killed_mid_submission_changes_no_grade(graded, tmp_path):
    """The submission it was grading is graded again on the other worker (Dask's own retry)."""
    _, local = graded
    course = new_class(tmp_path / "class")
    with dask_cluster(tmp_path / "cluster") as cluster:
        grading = subprocess.Popen([COURSE, "grade", course.root, "--scheduler", cluster.address, "--timeout", "10"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with Client(cluster.address, timeout=30) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(client.processing().values()):
                time.sleep(0.2)
            busy = next(address for address, keys in client.processing().items() if keys)
            victim = client.scheduler_info()["workers"][busy]["name"]
        cluster.kill_worker(victim)
        printed = grading.communicate(timeout=600)[0]
    assert grading.returncode == 0, printed[-2000:]
    assert gradebook_dump(course) == gradebook_dump(local)
    assert printed.count(": graded") == len(CLASS)


def test_a_lost_scheduler_stops_the_run_and_the_next_run_resumes(tmp_path):
    course = new_class(tmp_path / "class")
    with dask_cluster(tmp_path / "first") as cluster:
        grading = subprocess.Popen([COURSE, "grade", course.root, "--scheduler", cluster.address, "--timeout", "10"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        printed = ""
        while "[1/5]" not in printed:
            printed += grading.stdout.readline()
        cluster.kill_scheduler()
        printed += grading.communicate(timeout=120)[0]
    assert grading.returncode == 1, printed[-2000:]
    assert "lost the Dask scheduler" in printed and "run the same command again to grade the rest" in printed
    assert "Traceback" not in printed
    recorded = len(json.loads((course.root / "course_grade" / "ledger.json").read_text())["submissions"])
    assert 1 <= recorded < len(CLASS)
    with dask_cluster(tmp_path / "second") as cluster:
        printed = course_command("grade", course.root, "--scheduler", cluster.address, "--timeout", 10)
    left = len(CLASS) - recorded
    assert f"{left} submission(s) to grade ({left} new), {recorded} unchanged since graded" in printed


def test_a_worker_with_another_version_of_the_course_is_refused_before_anything_is_graded(tmp_path):
    other = tmp_path / "other"      # the course with one check changed, first on the worker's path
    for part in ("grader", "course_lib", "solutions"):
        shutil.copytree(REPO / part, other / part, ignore=shutil.ignore_patterns("__pycache__"))
    with (other / "course_lib" / "checks" / f"{ASSIGNMENT.topic}.py").open("a") as changed:
        changed.write("\n# changed on this worker only\n")
    course = new_class(tmp_path / "class")
    with dask_cluster(tmp_path / "cluster", workers=1, worker_env={"PYTHONPATH": str(other)}) as cluster:
        printed = course_command("grade", course.root, "--scheduler", cluster.address, exit_code=1)
    assert "1 Dask worker(s) have another version of the course installed than this machine" in printed
    assert "nothing was graded" in printed and "Traceback" not in printed
    assert not course.path("autograded").exists()


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
    assert ("ada 01_gradient_descent: grading failed (the kernel did not start: ForkServerFailed: the fork server "
            "of grading kernels did not start (exit status 3))") in printed
    assert "1 submission(s) could not be graded" in printed and "run the same command again" in printed
    logs = "".join(p.read_text() for p in course.path("course_grade", "logs").iterdir())
    assert logs.count("ForkServerFailed: the fork server of grading kernels did not start") == KERNEL_STARTS
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


def test_workers_and_a_scheduler_are_one_or_the_other(tmp_path):
    printed = course_command("grade", tmp_path, "--workers", 2, "--scheduler", "tcp://127.0.0.1:1", exit_code=2)
    assert "argument --scheduler: not allowed with argument --workers" in printed


def test_a_local_clusters_workers_do_not_sample_their_stacks():
    with connect(workers=1) as client:
        callbacks = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
    assert callbacks and all("heartbeat" in names and "profile" not in names for names in callbacks.values())
