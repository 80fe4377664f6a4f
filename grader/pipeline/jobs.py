"""Grading one submission in a worker process: nbgrader's Autograde, run in-process.

A worker imports nbgrader once and grades submission after submission into its own copy
of the gradebook (its shard), so that workers never write to the same SQLite file; the
grading process copies each finished submission into the course's gradebook
(`grader.pipeline.gradebook`). Each submission ends with a `Status`: a fault of the notebook
itself is known before nbgrader runs (it is not a valid notebook, or its nbgrader metadata is
broken); anything that fails after that is ours, "grading failed", and is retried next run.
"""
import contextlib
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from traitlets.config.loader import PyFileConfigLoader

from grader.pipeline.assignments import SOLUTIONS
from grader.pipeline.execute import DIED, GradingExecute, Run, hidden_calls
from grader.pipeline.status import Status

KERNEL_STARTS = 2               # tries to start a notebook's kernel before the job fails
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


@dataclass(frozen=True)
class Job:
    student: str
    assignment: str             # e.g. "01_gradient_descent"
    notebook: str               # e.g. "gradient_descent.ipynb"
    fingerprint: str            # what the submission and its checks were when graded

    @property
    def key(self) -> str:
        """"student/assignment", as the ledger and the running folder name the job."""
        return f"{self.student}/{self.assignment}"


@dataclass(frozen=True)
class GradingLimits:
    """What a submission may use while it is graded, and whether its kernel is confined."""
    timeout: int = 60               # seconds per cell (hidden checks of a cell included)
    notebook_timeout: int = 300     # seconds per notebook
    memory_mib: int = 2048          # per kernel
    sandboxed: bool = True          # False: student code runs unconfined (see the README)


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: Status
    detail: str = ""
    shard: str = ""             # db_url of the gradebook holding the result ("" when none)
    seconds: float = 0.0        # the whole job, in the worker
    run: Run = field(default_factory=Run)   # of which running the notebook and its hidden checks


class Worker:
    """Settings of one worker process; `start` is the process pool's initializer."""
    current = None

    def __init__(self, root: Path, gradebook: Path, limits: GradingLimits, scratch: Path = None):
        self.root = root
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        self.config.Execute.timeout = limits.timeout
        self.config.GradingExecute.notebook_timeout = limits.notebook_timeout
        self.config.GradingExecute.memory_mib = limits.memory_mib
        self.config.GradingExecute.sandboxed = limits.sandboxed
        if scratch is not None:
            self.config.GradingExecute.scratch_root = str(scratch)
        self.shard = root / "course_grade" / "shards" / f"worker-{os.getpid()}.db"
        self.shard.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gradebook, self.shard)
        self.log = root / "course_grade" / "logs" / f"worker-{os.getpid()}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.running = running_folder(root) / str(os.getpid())

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


def running_folder(root: Path) -> Path:
    """Where each worker names the job it is running (a file named after its pid), so that the
    grading process knows which jobs were running when a worker died."""
    return root / "course_grade" / "running"


def grade_job(job: Job) -> Outcome:
    """Run in a worker: grade `job` into the worker's shard and say how it ended."""
    worker = Worker.current
    started = time.perf_counter()
    worker.running.parent.mkdir(parents=True, exist_ok=True)
    worker.running.write_text(job.key)
    run = Run()
    try:
        status, detail, run = _grade(worker, job)
    except Exception as error:     # a bug of ours must not stop the class
        status, detail = Status.FAILED, f"{type(error).__name__}: {error}"
    finally:
        worker.running.unlink(missing_ok=True)
    shard = f"sqlite:///{worker.shard}" if not status.not_run and status != Status.FAILED else ""
    return Outcome(job, status, detail, shard, time.perf_counter() - started, run)


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
        return Status.REFUSED, ("only regular files are graded, and the submission holds links or special "
                                "files: " + ", ".join(map(str, sorted(odd)[:5]))), Run()
    if not notebook.is_file():
        found = sorted(p.name for p in folder.glob("*.ipynb"))
        return Status.MISSING, f"expected {job.notebook}" + (f", found {', '.join(found)}" if found else ""), Run()
    try:
        submitted = nbformat.read(notebook, as_version=4)
        nbformat.validate(submitted)
        MetadataValidator().validate_nb(submitted)
    except Exception as error:
        return Status.UNREADABLE, _first_line(f"{type(error).__name__}: {error}"), Run()
    for _ in range(KERNEL_STARTS):
        errors, run = _autograde(worker, job)
        if not run.kernel_failed:
            break
    else:
        return Status.FAILED, "the kernel did not start: " + _first_line(run.kernel_failed), run
    if run.grader_failed:
        return Status.FAILED, _first_line(run.grader_failed), run
    if errors is not None:
        return Status.FAILED, "nbgrader failed: " + (errors[0] if errors else "see the worker log"), run
    if run.stopped == DIED:
        return Status.KERNEL_DIED, _not_run(run), run
    if run.timeouts or run.stopped:
        timeouts = [f"{run.timeouts} cell(s) ran out of time"] if run.timeouts else []
        return Status.TIMED_OUT, "; ".join(filter(None, timeouts + [_not_run(run)])), run
    return Status.GRADED, "", run


def _not_run(run: Run) -> str:
    """Why the run stopped early, with the number of cells it left out ("" if none)."""
    return f"{run.not_run} later cell(s) not run: {run.stopped}" if run.not_run else ""


def _autograde(worker: Worker, job: Job):
    """Run nbgrader's Autograde on the job: (None if it succeeded, else the errors it logged;
    the Run of its execution)."""
    config = _job_config(worker, job)
    autograde = Autograde(coursedir=CourseDirectory(config=config), config=config)
    with logged_errors() as logged:
        try:
            autograde.start()
            errors = None
        except Exception:
            errors = logged
    exporter = autograde.exporter if autograde.trait_has_value("exporter") else None
    executions = [p for p in getattr(exporter, "_preprocessors", []) if isinstance(p, GradingExecute)]
    return errors, getattr(executions[0], "run", Run()) if executions else Run()


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
