"""nbgrader's gradebook on both sides of a grading job, as plain data in between; and moved.

The grading process sends each worker a `template`: a small SQLite gradebook holding only the
assignments' definitions (their notebooks and cells, due dates included), copied from the
course's gradebook, whatever database that is. A worker grades every submission into a fresh
copy of it and sends back `submission_grades`, plain data; the grading process alone writes
them into the course's gradebook with nbgrader's own API (`record`). Automatic fields are
written; manual grades and comments already in the course's gradebook are kept. A class's
gradebook moves whole to a database server (`move`) when `course grade --db` names one.
"""
import contextlib
import datetime
import sqlite3
import tempfile
import threading
import warnings
from pathlib import Path

import nbgrader.api
from nbgrader.api import Base, Comment, Grade, Gradebook, MissingEntry
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import joinedload, undefer
from sqlalchemy.pool import NullPool


# nbgrader's add_submission builds its rows before adding them to the session, which SQLAlchemy warns about.
warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
DEFINITIONS = ("course", "assignment", "notebook", "base_cell", "grade_cells", "solution_cells", "task_cells",
               "source_cell")       # in an order their foreign keys allow


class DatabaseInUse(RuntimeError):
    """The database a gradebook was to move to already holds one."""


def template(db_url: str) -> bytes:
    """An SQLite gradebook (its bytes) holding the course's assignment definitions, no student
    (its schema version is the course's: nbgrader opens it without migrating)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "template.db"
        _copy(db_url, f"sqlite:///{path}", DEFINITIONS)
        return path.read_bytes()


def move(source_url: str, target_url: str) -> None:
    """Copy a whole gradebook (manual grades included) into the empty database at `target_url`."""
    engine = create_engine(target_url)
    try:
        if inspect(engine).has_table("assignment"):
            with engine.connect() as reading:
                if reading.execute(select(Base.metadata.tables["assignment"])).first():
                    raise DatabaseInUse(f"the database {target_url} already holds a gradebook: give an empty one")
    finally:
        engine.dispose()
    _copy(source_url, target_url, [table.name for table in Base.metadata.sorted_tables])


def _copy(source_url: str, target_url: str, names) -> None:
    """Create nbgrader's tables at `target_url` and copy into them the rows of the tables `names`
    (in an order their foreign keys allow), and the schema's version."""
    source, target = create_engine(source_url), create_engine(target_url)
    try:
        Base.metadata.create_all(bind=target)
        with source.connect() as reading, target.begin() as writing:
            version = reading.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            writing.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
            writing.execute(text("DELETE FROM alembic_version"))
            writing.execute(text("INSERT INTO alembic_version (version_num) VALUES (:version)"), {"version": version})
            for name in names:
                table = Base.metadata.tables[name]
                rows = [dict(row._mapping) for row in reading.execute(select(table))]
                if rows:
                    writing.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()


_job = threading.local()        # .url, .path: the gradebook of the job this thread runs
_shared = []                    # the worker's one engine for its jobs' gradebooks, once made


@contextlib.contextmanager
def worker_engine(path: Path):
    """Meanwhile, in this thread, every nbgrader Gradebook of the SQLite file `path` uses the
    worker's one engine, which connects (unpooled) to the file of the job that asks.

    nbgrader opens a job's gradebook about ten times, each with an engine of its own that
    compiles its statements again: about 0.1 s of a worker per notebook, saved from the
    second job on. To that end nbgrader.api's `create_engine` is replaced, for good, by
    `_engine`; other databases get their own engine from it, as before."""
    nbgrader.api.create_engine = _engine
    _job.url, _job.path = f"sqlite:///{path}", str(path)
    try:
        yield
    finally:
        _job.url = _job.path = None


def _engine(url, **options):
    if url != getattr(_job, "url", None):
        return create_engine(url, **options)
    if not _shared:
        _shared.append(create_engine("sqlite://", creator=lambda: sqlite3.connect(_job.path), poolclass=NullPool,
                                     **options))
    return _shared[0]


def extension_seconds(gradebook: Gradebook, assignment: str, student: str):
    """The extension the course's gradebook grants this submission, in seconds (None: none)."""
    try:
        extension = gradebook.find_submission(assignment, student).extension
    except MissingEntry:
        return None
    return None if extension is None else extension.total_seconds()


def grant_extension(gradebook: Gradebook, assignment: str, student: str, seconds: float) -> None:
    """Give the submission in a worker's gradebook the extension the course's grants it."""
    gradebook.update_or_create_student(student)
    gradebook.update_or_create_submission(assignment, student).extension = datetime.timedelta(seconds=seconds)
    gradebook.db.commit()


def named_rows(gradebook: Gradebook, model, notebook) -> dict:
    """{cell name: row} of a submitted notebook's `Grade`s (their max_score loaded) or `Comment`s,
    read in one query (nbgrader's `notebook.grades` then loads each row's cell for its name)."""
    options = [joinedload(model.cell)] + ([undefer(Grade.max_score)] if model is Grade else [])
    return {row.name: row for row in gradebook.db.query(model).filter(model.notebook_id == notebook.id).options(*options)}


def submission_grades(gradebook: Gradebook, assignment: str, student: str) -> dict:
    """One graded submission as plain data: {"timestamp": ISO text or None, "notebooks": {name:
    {"late_penalty": float or None, "grades": {cell: [auto_score, needs_manual_grade]},
    "comments": {cell: auto_comment}}}}."""
    submitted = gradebook.find_submission(assignment, student)
    return {"timestamp": submitted.timestamp.isoformat() if submitted.timestamp else None,
            "notebooks": {notebook.name: {
                "late_penalty": notebook.late_submission_penalty,
                "grades": {name: [g.auto_score, g.needs_manual_grade] for name, g in named_rows(gradebook, Grade,
                                                                                               notebook).items()},
                "comments": {name: c.auto_comment for name, c in named_rows(gradebook, Comment, notebook).items()}}
                for notebook in submitted.notebooks}}


def record(target: Gradebook, grades: dict, assignment: str, student: str, review: bool) -> None:
    """Write `submission_grades` data into the course's gradebook.

    A manual grade in `target` is kept; with `review` (the submission changed) it is flagged
    for review, as nbgrader's autograde flags it, else it stays as graded.
    """
    target.update_or_create_student(student)
    stamp = grades["timestamp"]
    extra = {"timestamp": datetime.datetime.fromisoformat(stamp)} if stamp else {}
    target.update_or_create_submission(assignment, student, **extra)
    for name, notebook in grades["notebooks"].items():
        kept = target.find_submission_notebook(name, assignment, student)
        kept.late_submission_penalty = notebook["late_penalty"]
        cells, comments = named_rows(target, Grade, kept), named_rows(target, Comment, kept)
        for cell, (auto_score, needs_manual_grade) in notebook["grades"].items():
            grade = cells[cell]
            grade.auto_score = auto_score
            grade.needs_manual_grade = review if grade.manual_score is not None else needs_manual_grade
        for cell, comment in notebook["comments"].items():
            comments[cell].auto_comment = comment
    target.db.commit()


def record_zero(target: Gradebook, assignment: str, student: str, reason: str) -> None:
    """A submission that could not be run: every cell scores 0, with `reason` as the comment."""
    target.update_or_create_student(student)
    submission = target.update_or_create_submission(assignment, student)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            grade.auto_score = 0.0
            grade.needs_manual_grade = grade.manual_score is not None
        for comment in notebook.comments:
            comment.auto_comment = reason
    target.db.commit()
