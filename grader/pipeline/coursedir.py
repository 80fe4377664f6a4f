"""An nbgrader course directory for grading, and the nbgrader commands run in it.

A grading directory (the demo's, an instructor's) takes its sources from the repository's
`solutions/` and keeps everything else (release, submitted, autograded, feedback, and by
default the gradebook, gradebook.db) inside itself, so nbgrader's own tools (formgrader,
`nbgrader export`) can be pointed at it. The gradebook may live in a database server instead
(`use_database`): the folder's nbgrader_config.py then names it, for nbgrader's tools and ours.
Its nbgrader_config.py (`CONFIG`) makes formgrader and nbgrader's feedback safe to open on
hostile submissions (`SAFETY`, `grader.reports.safe_html`); `secure` adds
that to a config written before it.
"""
import os
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from traitlets.config.loader import PyFileConfigLoader

from grader.pipeline.assignments import SOLUTIONS

COURSE_ID = "how-deep-networks-learn"
SAFETY = """
# Formgrader and nbgrader's feedback sanitise students' HTML and leave the hidden tests out.
import grader.reports.safe_html
grader.reports.safe_html.configure(c)
"""
CONFIG = '''c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.release_directory = "release"
c.Execute.timeout = {timeout}
{safety}'''


class NbgraderFailed(RuntimeError):
    """An nbgrader command exited with an error; the message holds the end of its log."""


class CourseDir:
    def __init__(self, root, timeout: int = 60):
        self.root = Path(root).resolve()
        self.timeout = timeout

    def create(self) -> "CourseDir":
        """Make the folder and its nbgrader_config.py (sources: the repository's solutions/)."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "nbgrader_config.py").write_text(CONFIG.format(course_id=COURSE_ID, source=str(SOLUTIONS),
                                                                          timeout=self.timeout, safety=SAFETY))
        return self

    def secure(self) -> bool:
        """Append `SAFETY` to an nbgrader_config.py that lacks it (written before it existed);
        True if it did. Nothing else in the file changes."""
        config = self.root / "nbgrader_config.py"
        if SAFETY.strip() in config.read_text():
            return False
        with config.open("a") as written:
            written.write(SAFETY)
        return True

    def path(self, kind: str, *parts) -> Path:
        """A path under release/, submitted/, autograded/ or feedback/."""
        return self.root.joinpath(kind, *parts)

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL: nbgrader_config.py's db_url, else CLASS/gradebook.db."""
        config = self.root / "nbgrader_config.py"
        if config.is_file():
            settings = PyFileConfigLoader(config.name, path=str(self.root)).load_config().CourseDirectory
            if "db_url" in settings:
                return settings.db_url
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def use_database(self, url: str) -> None:
        """Keep the gradebook at `url` (nbgrader's db_url, e.g. postgresql://...) from now on, for
        nbgrader's tools too (the folder's nbgrader_config.py names it)."""
        with (self.root / "nbgrader_config.py").open("a") as written:
            written.write(f"\n# The gradebook (set by `course grade --db`).\nc.CourseDirectory.db_url = {url!r}\n")

    def has_gradebook(self) -> bool:
        """Whether the gradebook exists: its SQLite file, or nbgrader's tables in its database."""
        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite":
            return Path(url.database or "").is_file()
        engine = create_engine(url)
        try:
            return inspect(engine).has_table("assignment")
        finally:
            engine.dispose()

    def gradebook(self) -> Gradebook:
        """nbgrader's gradebook of this course (use it as a context manager)."""
        return Gradebook(self.db_url, COURSE_ID)

    def nbgrader(self, *args) -> str:
        """Run `nbgrader ARGS` in this course directory; returns its log, raises NbgraderFailed."""
        env = dict(os.environ)
        env.pop("NBGRADER_EXECUTION", None)
        # nbgrader runs `alembic` (and kernels) by name: put this environment's bin/ first.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.root, env=env,
                              capture_output=True, text=True)
        log = done.stdout + done.stderr
        (self.root / "nbgrader.log").open("a").write(f"$ nbgrader {' '.join(args)}\n{log}\n")
        if done.returncode != 0:
            raise NbgraderFailed(f"nbgrader {' '.join(args)} failed:\n" + "\n".join(log.splitlines()[-15:]))
        return log

    def generate(self, assignment) -> None:
        self.nbgrader("generate_assignment", assignment.name, "--force")
