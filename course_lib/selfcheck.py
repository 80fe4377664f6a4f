"""Check your own work without nbgrader: each exercise's visible check, one status per exercise.

Two ways in. `course check PATH` runs a notebook (or every notebook in a folder) in a fresh
kernel, with any hidden tests removed, and reads the outputs of its test cells. Inside a
notebook, `check_all(globals())` runs the visible check of every graded function defined so
far. Neither runs hidden tests nor shows expected values: the report holds only what the
visible checks say.
"""
import contextlib
import importlib
import inspect
import io
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import course_lib.checks
from course_lib.checking import MISTAKE_MARK, NOT_IMPLEMENTED

HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*$\n?", re.M | re.S)
CELL_TIMEOUT = 120  # seconds a cell may run in `course check` before it is interrupted


class State(StrEnum):
    """What an exercise's visible check said, in the order of the report's count line."""
    PASSED = "passed"
    MISTAKE = "named mistake"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"
    NOT_RUN = "not run yet"     # check_all: the cell that defines the function has not run in this kernel
    ERROR = "error"


@dataclass
class ExerciseCheck:
    exercise: str       # the graded function's name
    state: State
    message: str = ""   # what the check said (empty when it passed)


def judge(exercise: str, error_name: str, message: str, unfinished: bool = False) -> ExerciseCheck:
    """The status of an exercise whose check raised `error_name` with `message`.

    `unfinished`: the student's function still raises NotImplementedError, so it is not
    attempted, whatever the check tripped over first (a backward check runs the forward first).
    """
    if (unfinished or error_name == "NotImplementedError"
            or message.startswith(f"{exercise} {NOT_IMPLEMENTED}")):
        return ExerciseCheck(exercise, State.NOT_ATTEMPTED)
    if error_name == "CheckFailed":
        return ExerciseCheck(exercise, State.MISTAKE if MISTAKE_MARK in message else State.FAILED, message)
    if error_name == "KeyboardInterrupt":
        return ExerciseCheck(exercise, State.ERROR, f"stopped after {CELL_TIMEOUT} s: does it loop forever?")
    return ExerciseCheck(exercise, State.ERROR, f"{error_name}: {message}".rstrip(": "))


def report(title: str, statuses: list) -> str:
    """One line per exercise, what its check said below it, and a count of each status."""
    if not statuses:
        return f"{title}\n  no exercises found (no nbgrader test cells)"
    width = max(len(s.exercise) for s in statuses) + 2
    lines = [title]
    for s in statuses:
        lines.append(f"  {s.exercise.ljust(width)}{s.state}")
        if s.message and s.state != State.PASSED:
            lines.append(textwrap.indent(s.message.strip(), "      "))
    counts = {state: sum(s.state == state for s in statuses) for state in State}
    lines.append("  " + ", ".join(f"{n} {state}" for state, n in counts.items() if n) + f" (of {len(statuses)})")
    return "\n".join(lines)


# ---- inside a notebook -------------------------------------------------------------------

def check_all(namespace: dict, topic: str = None) -> None:
    """Print the status of every exercise of this notebook: call as check_all(globals())."""
    topic = topic or topic_of(namespace)
    print(report(f"Visible checks of {topic} (grading runs more cases):", check_namespace(namespace, topic)))


def check_namespace(namespace: dict, topic: str) -> list:
    """Run each visible check of `topic` on the function of the same name in `namespace`, in the
    order of the notebook, whichever cells have run."""
    return [run_check(check, name, namespace.get(name)) for name, check in visible_checks(topic).items()]


def visible_checks(topic: str) -> dict:
    """function name -> its visible check, from course_lib.checks.<topic>, in the order of the
    module, which is the order of the notebook's exercises."""
    module = importlib.import_module(f"course_lib.checks.{topic}")
    return {name.removeprefix("check_"): fn for name, fn in vars(module).items()
            if name.startswith("check_") and inspect.isfunction(fn) and fn.__module__ == module.__name__}


def topic_of(namespace: dict) -> str:
    """The assignment whose visible checks the notebook imported (or, failing that, whose functions it defines)."""
    imported = {getattr(v, "__module__", None) for v in namespace.values() if callable(v)}
    topics = sorted(m.rsplit(".", 1)[1] for m in imported if isinstance(m, str) and m.startswith("course_lib.checks."))
    if len(topics) == 1:
        return topics[0]
    known = [m.name for m in pkgutil.iter_modules(course_lib.checks.__path__)]
    defined = {t: len(visible_checks(t).keys() & namespace.keys()) for t in known}
    best = max(defined, key=defined.get)
    if len(topics) > 1 or not defined[best]:
        raise ValueError("Cannot tell which assignment this notebook is: name it, for example "
                         f"check_all(globals(), topic={known[0]!r}). Topics: {', '.join(known)}.")
    return best


def run_check(check, name: str, fn) -> ExerciseCheck:
    """Run one visible check on the student's function; its printed line is kept as the message."""
    if fn is None:
        return ExerciseCheck(name, State.NOT_RUN, f"{name} is not defined: run the cell that defines it.")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            check(fn)
    except Exception as error:  # the student's code may raise anything
        return judge(name, type(error).__name__, str(error), _raises_not_implemented(fn))
    return ExerciseCheck(name, State.PASSED, printed.getvalue().strip())


def _raises_not_implemented(fn) -> bool:
    """True when the function's code still names NotImplementedError (the release's placeholder body)."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return code is not None and "NotImplementedError" in code.co_names


# ---- course check PATH -------------------------------------------------------------------

def check_path(path) -> int:
    """Check a notebook, or every notebook in a folder; print each report; 0 when every exercise passed."""
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"{path} does not exist: give a notebook or a folder of notebooks.")
    notebooks = [path] if path.is_file() else sorted(
        p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not notebooks:
        raise SystemExit(f"no notebooks (*.ipynb) in {path}")
    failed = False
    for notebook in notebooks:
        statuses = check_notebook(notebook, progress=Progress(notebook))
        print(report(str(notebook), statuses) + "\n", flush=True)
        failed |= any(s.state != State.PASSED for s in statuses)
    return 1 if failed else 0


class Progress:
    """What `course check` shows on stderr while a notebook runs: a line per exercise checked and,
    on a terminal, a line kept up to date with the cell running."""

    def __init__(self, path, stream=None):
        self.path, self.stream = path, stream or sys.stderr
        self.live = self.stream.isatty()
        self.cells, self.exercises, self.checked = 0, 0, 0
        self.started = time.perf_counter()

    def start(self, notebook) -> None:
        self.cells = sum(cell.cell_type == "code" for cell in notebook.cells)
        self.exercises = sum(bool(_test_of(cell)) for cell in notebook.cells)
        self._write(f"Checking {self.path}: {self.exercises} exercises, {self.cells} code cells to run")

    def cell_done(self, cell, cell_index, **_) -> None:
        """nbclient's on_cell_executed hook."""
        elapsed = time.perf_counter() - self.started
        name = _test_of(cell)
        if name:
            self.checked += 1
            self._write(f"  [{self.checked}/{self.exercises}] {name} checked, {elapsed:.0f} s")
        elif self.live:
            self.stream.write(f"\r\033[K  cell {cell_index + 1} of the notebook, {elapsed:.0f} s")
            self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _write(self, line: str) -> None:
        self.stream.write(("\r\033[K" if self.live else "") + line + "\n")
        self.stream.flush()


def check_notebook(path, timeout: int = CELL_TIMEOUT, progress: Progress = None) -> list:
    """Run a copy of the notebook, hidden tests removed, in a fresh kernel as nbgrader's validate
    does (the lessons' experiments short, no figures drawn); the status of each exercise. With
    `progress`, say on the way which exercises were checked."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    notebook = nbformat.read(path, as_version=4)
    if not any(_test_of(cell) for cell in notebook.cells):
        return []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = HIDDEN_TESTS.sub("", cell.source)
            cell.outputs, cell.execution_count = [], None  # a saved notebook's old results are not evidence
    client = NotebookClient(notebook, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(Path(path).resolve().parent)}})
    if progress is not None:
        progress.start(notebook)
        client.on_cell_executed = progress.cell_done
    try:
        # the kernel's own log lines are not the student's; experiments run at their grading size
        client.execute(stderr=subprocess.DEVNULL, env={**os.environ, "NBGRADER_EXECUTION": "validate"})
    except DeadKernelError:
        pass  # the cells that did not run are reported as errors below
    finally:
        if progress is not None:
            progress.finish()
    return statuses_of(notebook)


def statuses_of(notebook) -> list:
    """The status of each exercise of an executed notebook, read from its answer and test cells."""
    answers = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    statuses = []
    for cell in notebook.cells:
        name = _test_of(cell)
        if not name:
            continue
        answer = answers.get(name)
        answer_error = _error_of(answer) if answer is not None else None
        error = _error_of(cell)
        if answer_error is not None and "raise NotImplementedError" not in answer.source:
            statuses.append(ExerciseCheck(name, State.ERROR, "the cell that defines it raised "
                                   f"{answer_error.ename}: {answer_error.evalue}".rstrip(": ")))
        elif cell.get("execution_count") is None:
            statuses.append(ExerciseCheck(name, State.ERROR, "its check did not run: the kernel stopped before it."))
        elif error is not None:
            unfinished = answer is not None and "raise NotImplementedError" in answer.source
            statuses.append(judge(name, error.ename, error.evalue, unfinished))
        else:
            statuses.append(ExerciseCheck(name, State.PASSED))
    return statuses


def _test_of(cell) -> str:
    """The exercise an nbgrader test cell (grade_id test_<function>) checks, or ''."""
    meta = cell.metadata.get("nbgrader", {})
    grade_id = meta.get("grade_id", "")
    is_test = cell.cell_type == "code" and meta.get("grade") and grade_id.startswith("test_")
    return grade_id.removeprefix("test_") if is_test else ""


def _error_of(cell):
    return next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
