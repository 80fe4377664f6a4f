"""Grading one submission in a worker process: nbgrader's Autograde, run in-process.

A worker imports nbgrader once and grades submission after submission into its own copy
of the gradebook (its shard), so that workers never write to the same SQLite file; the
grading process copies each finished submission into the course's gradebook
(`grader.pipeline.gradebook`). Each submission ends with one of the statuses below.
"""
import contextlib
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from traitlets.config.loader import PyFileConfigLoader

from grader.pipeline.assignments import SOLUTIONS
from grader.pipeline.execute import GradingExecute, Run, hidden_calls
from grader.reports.scores import GRADED, KERNEL_DIED, MISSING, NOT_RUN, REFUSED, TIMED_OUT, UNREADABLE

FAILED = "grading failed"       # our own error: nothing is recorded, the next run retries
KERNEL_STARTS = 2               # tries to start a notebook's kernel before the job fails
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


@dataclass(frozen=True)
class Job:
    student: str
    assignment: str             # e.g. "01_gradient_descent"
    notebook: str               # e.g. "gradient_descent.ipynb"
    fingerprint: str            # what the submission and its checks were when graded


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str
    detail: str = ""
    shard: str = ""             # db_url of the gradebook holding the result ("" when none)
    seconds: float = 0.0        # the whole job, in the worker
    execute_seconds: float = 0.0  # of which running the notebook in its kernel
    hidden_seconds: float = 0.0   # of which judging the hidden checks, calls into the kernel included
    calls: int = 0                # calls of the student's functions by the hidden checks


class Worker:
    """Settings of one worker process; `start` is the process pool's initializer."""
    current = None

    def __init__(self, root: Path, gradebook: Path, timeout: int, memory_mib: int, sandboxed: bool):
        self.root = root
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        self.config.Execute.timeout = timeout
        self.config.GradingExecute.memory_mib = memory_mib
        self.config.GradingExecute.sandboxed = sandboxed
        self.shard = root / "course_grade" / "shards" / f"worker-{os.getpid()}.db"
        self.shard.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gradebook, self.shard)
        self.log = root / "course_grade" / "logs" / f"worker-{os.getpid()}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def start(cls, *args) -> None:
        """Make this process a worker: its nbgrader log, warnings and kernels' stderr go to its log file."""
        os.environ.update(ONE_THREAD)
        worker = cls.current = cls(*args)
        log = open(worker.log, "a", buffering=1)
        os.dup2(log.fileno(), 2)
        sys.stderr = log
        logger = logging.getLogger("traitlets")
        logger.handlers[:] = [logging.StreamHandler(log)]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def grade_job(job: Job) -> Outcome:
    """Run in a worker: grade `job` into the worker's shard and say how it ended."""
    worker = Worker.current
    started = time.perf_counter()
    run = Run()
    try:
        status, detail, run = _grade(worker, job)
    except Exception as error:     # a bug of ours must not stop the class
        status, detail = FAILED, f"{type(error).__name__}: {error}"
    shard = f"sqlite:///{worker.shard}" if status not in (*NOT_RUN, FAILED) else ""
    return Outcome(job, status, detail, shard, time.perf_counter() - started, run.seconds, run.hidden_seconds,
                   run.calls)


def submitted_files(folder: Path) -> list:
    """Every entry below a submission folder but its subfolders, links and special files included;
    links are not followed."""
    return [Path(top, name) for top, folders, files in os.walk(folder) for name in files
            + [f for f in folders if os.path.islink(os.path.join(top, f))]]


def _grade(worker: Worker, job: Job):
    folder = worker.root / "submitted" / job.student / job.assignment
    notebook = folder / job.notebook
    odd = [p.relative_to(folder) for p in submitted_files(folder) if p.is_symlink() or not p.is_file()]
    if odd:
        return REFUSED, ("only regular files are graded, and the submission holds links or special files: "
                         + ", ".join(map(str, sorted(odd)[:5]))), Run()
    if not notebook.is_file():
        found = sorted(p.name for p in folder.glob("*.ipynb"))
        return MISSING, f"expected {job.notebook}" + (f", found {', '.join(found)}" if found else ""), Run()
    try:
        nbformat.validate(nbformat.read(notebook, as_version=4))
    except Exception as error:
        return UNREADABLE, _first_line(f"{type(error).__name__}: {error}"), Run()
    for _ in range(KERNEL_STARTS):
        errors, run = _autograde(worker, job)
        if not run.kernel_failed:
            break
    else:
        return FAILED, "the kernel did not start: " + _first_line(run.kernel_failed), run
    if run.grader_failed:
        return FAILED, _first_line(run.grader_failed), run
    if errors is not None:
        return UNREADABLE, "nbgrader could not grade it: " + (errors[0] if errors else "see the worker log"), run
    if run.kernel_died:
        return KERNEL_DIED, "", run
    if run.timeouts:
        return TIMED_OUT, f"{run.timeouts} cell(s) ran out of time", run
    return GRADED, "", run


def _autograde(worker: Worker, job: Job):
    """Run nbgrader's Autograde on the job: (None if it succeeded, else the errors it logged;
    the Run of its execution)."""
    config = _job_config(worker, job)
    GradingExecute.last_run = Run()
    try:
        with logged_errors() as errors:
            Autograde(coursedir=CourseDirectory(config=config), config=config).start()
        return None, GradingExecute.last_run
    except Exception:
        return errors, GradingExecute.last_run


def _job_config(worker: Worker, job: Job):
    config = worker.config.copy()
    config.CourseDirectory.root = str(worker.root)
    config.CourseDirectory.db_url = f"sqlite:///{worker.shard}"
    config.CourseDirectory.assignment_id = job.assignment
    config.CourseDirectory.student_id = job.student
    config.Autograde.force = True
    config.Autograde.autograde_preprocessors = [GradingExecute, IgnorePattern, ClearMetadataPreprocessor,
                                                LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    config.GradingExecute.checks = hidden_calls(SOLUTIONS / job.assignment / job.notebook)
    return config


@contextlib.contextmanager
def logged_errors():
    """Collect the first line of every error nbgrader logs meanwhile."""
    errors = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: errors.append(_first_line(record.getMessage()))
    logger = logging.getLogger("traitlets")
    logger.addHandler(handler)
    try:
        yield errors
    finally:
        logger.removeHandler(handler)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else ""
