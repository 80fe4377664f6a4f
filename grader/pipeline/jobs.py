"""Grading one submission on a worker, which shares no file system with the grading process.

A `Job` carries the submitted files; the worker runs nbgrader's Autograde on them in a private
course folder of its own (the class's nbgrader_config.py, the worker's installed solutions, a
fresh copy of the assignments' `gradebook.template`) and returns an `Outcome`: plain data (the
grades, the autograded folder's files, the log), which the grading process alone writes
down. Each submission ends with a `Status`: a fault of the notebook itself is known before
nbgrader runs (it holds links, it is missing, it is not a valid notebook or its nbgrader
metadata is broken); anything that fails after that is ours, "grading failed", and is retried
next run.
"""
import contextlib
import hashlib
import io
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.api import Gradebook
from nbgrader import utils
from nbgrader.converters import Autograde, BaseConverter
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from traitlets.config.loader import PyFileConfigLoader

from grader.pipeline import gradebook
from grader.pipeline.assignments import REPO, SOLUTIONS
from grader.pipeline.coursedir import COURSE_ID
from grader.pipeline.execute import DIED, GradingExecute, Run, hidden_calls
from grader.pipeline.status import Status

KERNEL_STARTS = 2               # tries to start a notebook's kernel before the job fails
MAX_SUBMISSION_BYTES = 64 << 20     # a submission folder larger than this is refused, not shipped
MAX_LOG_CHARS = 40_000          # of nbgrader's log of one job, kept for the grading process
COURSE_FILES = ("grader/**/*.py", "course_lib/**/*.py", "course_lib/fixtures/*.json", "solutions/**/*")


@dataclass(frozen=True)
class Job:
    student: str
    assignment: str             # e.g. "01_gradient_descent"
    notebook: str               # e.g. "gradient_descent.ipynb"
    fingerprint: str            # what the submission and its checks were when graded
    extension_seconds: float = None     # the due-date extension the course's gradebook grants

    @property
    def key(self) -> str:
        """"student/assignment", as the ledger names the job."""
        return f"{self.student}/{self.assignment}"


@dataclass(frozen=True)
class GradingLimits:
    """What a submission may use while it is graded, and whether its kernel is confined."""
    timeout: int = 60               # seconds per cell (hidden checks of a cell included)
    notebook_timeout: int = 300     # seconds per notebook
    memory_mib: int = 2048          # per kernel
    sandboxed: bool = True          # False: student code runs unconfined (see the README)


@dataclass(frozen=True)
class Settings:
    """What every job of a run shares: sent to each worker with its jobs."""
    limits: GradingLimits
    config: str                 # the class's nbgrader_config.py
    course: str                 # `course_fingerprint()` of the grading process
    scratch_root: str = ""      # where kernels' scratch folders go ("": the worker's temporary folder)


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: Status
    detail: str = ""
    grades: dict = None         # `gradebook.submission_grades` (None when nothing ran or on our failure)
    files: dict = field(default_factory=dict, repr=False)   # {path in the autograded folder: bytes}
    log: str = field(default="", repr=False)   # nbgrader's log of the job, bounded
    seconds: float = 0.0        # the whole job, on the worker
    run: Run = field(default_factory=Run)   # of which running the notebook and its hidden checks


@lru_cache(maxsize=1)
def course_fingerprint() -> str:
    """A digest of the installed course: its checks, references, library and solutions."""
    digest = hashlib.sha256()
    paths = sorted({p for pattern in COURSE_FILES for p in REPO.glob(pattern)
                    if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts})
    for path in paths:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def submitted_files(folder: Path) -> list:
    """Every entry below a submission folder but its subfolders, links and special files included;
    links are not followed."""
    return [Path(top, name) for top, folders, files in os.walk(folder) for name in files
            + [f for f in folders if os.path.islink(os.path.join(top, f))]]


def refused(folder: Path, job: Job):
    """The Outcome of a submission refused, or missing its notebook, before anything runs (None
    when it is to be graded)."""
    entries = submitted_files(folder)
    odd = [p.relative_to(folder) for p in entries if p.is_symlink() or not p.is_file()]
    if odd:
        return Outcome(job, Status.REFUSED, "only regular files are graded, and the submission holds links "
                       "or special files: " + ", ".join(map(str, sorted(odd)[:5])))
    size = sum(p.stat().st_size for p in entries)
    if size > MAX_SUBMISSION_BYTES:
        return Outcome(job, Status.REFUSED, f"the submission holds {size / 2**20:.0f} MiB of files; "
                       f"at most {MAX_SUBMISSION_BYTES >> 20} MiB are graded")
    if not (folder / job.notebook).is_file():
        found = sorted(p.name for p in folder.glob("*.ipynb"))
        return Outcome(job, Status.MISSING, f"expected {job.notebook}" + (f", found {', '.join(found)}" if found else ""))
    return None


def payload(folder: Path) -> dict:
    """{path relative to the folder: bytes} of a submission folder that `refused` let through."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in submitted_files(folder)}


def grade_job(job: Job, files: dict, template: bytes, settings: Settings) -> Outcome:
    """Run on a worker: grade one submission in a private course folder and say how it ended."""
    started = time.perf_counter()
    if settings.course != course_fingerprint():
        return Outcome(job, Status.FAILED, f"this worker's course differs from the grading process's "
                       f"(fingerprint {course_fingerprint()[:12]}, expected {settings.course[:12]}): install the same "
                       "version of the course on every worker")
    root = Path(tempfile.mkdtemp(prefix="course-job-", dir=settings.scratch_root or None))
    with captured_log() as log, gradebook.worker_engine(root / "gradebook.db"):
        try:
            outcome = _grade(_course_folder(root, job, files, template, settings), root, job)
        except Exception as error:     # a bug of ours must not stop the class
            logging.getLogger("traitlets").exception("grading %s failed", job.key)
            outcome = Outcome(job, Status.FAILED, _first_line(f"{type(error).__name__}: {error}"))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return Outcome(outcome.job, outcome.status, outcome.detail, outcome.grades, outcome.files,
                   log.getvalue()[:MAX_LOG_CHARS], time.perf_counter() - started, outcome.run)


def _course_folder(root: Path, job: Job, files: dict, template: bytes, settings: Settings):
    """Lay out the job's course folder under `root`; return nbgrader's config for it."""
    (root / "nbgrader_config.py").write_text(settings.config)
    folder = root / "submitted" / job.student / job.assignment
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    (root / "gradebook.db").write_bytes(template)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.source_directory = str(SOLUTIONS)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.CourseDirectory.assignment_id = job.assignment
    config.CourseDirectory.student_id = job.student
    config.Execute.timeout = settings.limits.timeout
    config.GradingExecute.notebook_timeout = settings.limits.notebook_timeout
    config.GradingExecute.memory_mib = settings.limits.memory_mib
    config.GradingExecute.sandboxed = settings.limits.sandboxed
    config.GradingExecute.scratch_root = settings.scratch_root
    config.GradingExecute.checks = hidden_calls(SOLUTIONS / job.assignment / job.notebook)
    config.Autograde.force = True
    config.Autograde.autograde_preprocessors = [GradingExecute, IgnorePattern, ClearMetadataPreprocessor,
                                                LimitOutput, SaveAutoGrades, AssignLatePenalties]
    if job.extension_seconds is not None:
        with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as book:
            gradebook.grant_extension(book, job.assignment, job.student, job.extension_seconds)
    return config


def _grade(config, root: Path, job: Job) -> Outcome:
    try:
        submitted = nbformat.read(root / "submitted" / job.student / job.assignment / job.notebook, as_version=4)
        nbformat.validate(submitted)
        MetadataValidator().validate_nb(submitted)
    except Exception as error:
        return Outcome(job, Status.UNREADABLE, _first_line(f"{type(error).__name__}: {error}"))
    for _ in range(KERNEL_STARTS):
        errors, run = _autograde(config)
        if not run.kernel_failed:
            break
    else:
        return Outcome(job, Status.FAILED, "the kernel did not start: " + _first_line(run.kernel_failed), run=run)
    if run.grader_failed:
        return Outcome(job, Status.FAILED, _first_line(run.grader_failed), run=run)
    if errors is not None:
        return Outcome(job, Status.FAILED, "nbgrader failed: " + (errors[0] if errors else "see the log"), run=run)
    if run.stopped == DIED:
        status, detail = Status.KERNEL_DIED, _not_run(run)
    elif run.timeouts or run.stopped:
        timeouts = [f"{run.timeouts} cell(s) ran out of time"] if run.timeouts else []
        status, detail = Status.TIMED_OUT, "; ".join(filter(None, timeouts + [_not_run(run)]))
    else:
        status, detail = Status.GRADED, ""
    with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as book:
        grades = gradebook.submission_grades(book, job.assignment, job.student)
    autograded = root / "autograded" / job.student / job.assignment
    files = {str(p.relative_to(autograded)): p.read_bytes() for p in autograded.rglob("*") if p.is_file()}
    return Outcome(job, status, detail, grades, files, run=run)


def _not_run(run: Run) -> str:
    """Why the run stopped early, with the number of cells it left out ("" if none)."""
    return f"{run.not_run} later cell(s) not run: {run.stopped}" if run.not_run else ""


class OnePassAutograde(Autograde):
    """nbgrader's Autograde with its two passes over a notebook made one: its sanitizing
    preprocessors, then its grading ones, on one read of the submitted notebook (nbgrader reads,
    validates and writes the notebook in between). Its check of the cells' metadata is left
    out: `_grade` made it on the submission before, and the graded cells' metadata is then
    taken from the gradebook."""

    def convert_single_notebook(self, notebook_filename: str) -> None:
        self.log.info("Sanitizing and autograding %s", notebook_filename)
        self._sanitizing = True     # read from submitted/, write to autograded/
        self.exporter._preprocessors = []
        for preprocessor in [p for p in self.sanitize_preprocessors if p is not CheckCellMetadata] \
                + self.autograde_preprocessors:
            self.exporter.register_preprocessor(preprocessor)
        with utils.setenv(NBGRADER_EXECUTION="autograde"):
            BaseConverter.convert_single_notebook(self, notebook_filename)


def _autograde(config):
    """Run nbgrader's Autograde: (None if it succeeded, else the errors it logged; the Run of its
    execution)."""
    autograde = OnePassAutograde(coursedir=CourseDirectory(config=config), config=config)
    with logged_errors() as logged:
        try:
            autograde.start()
            errors = None
        except Exception:
            errors = logged
    exporter = autograde.exporter if autograde.trait_has_value("exporter") else None
    executions = [p for p in getattr(exporter, "_preprocessors", []) if isinstance(p, GradingExecute)]
    return errors, getattr(executions[0], "run", Run()) if executions else Run()


@contextlib.contextmanager
def captured_log():
    """Collect nbgrader's log (and Python's warnings) meanwhile, for the grading process."""
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logging.captureWarnings(True)
    loggers = [logging.getLogger("traitlets"), logging.getLogger("py.warnings")]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.handlers[:], logger.propagate = [handler], False
        logger.setLevel(logging.INFO)
    try:
        yield text
    finally:
        for logger, (handlers, level, propagate) in zip(loggers, saved):
            logger.handlers[:], logger.propagate = handlers, propagate
            logger.setLevel(level)


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
