"""Self-study: `course check PATH` and check_all(globals()) report each exercise from its visible check."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.checking import load_fixture
from course_lib.selfcheck import HIDDEN_TESTS, State, check_all, check_namespace, check_path, topic_of, visible_checks
from grader.pipeline.assignments import RELEASE, select
from grader.mistakes.gradient_descent import MISTAKES
from grader.reference import gradient_descent as reference
from grader.authoring.sample_class import fill, solution_answers, source_as

FIRST = select(["01_gradient_descent"])[0]
EXERCISES = list(visible_checks(FIRST.topic))
DIGITS = re.compile(r"\d\.\d{3,}")  # a value printed to three decimals or more
SYNTAX_ERROR = "def nesterov_step(w, grad, velocity, lr, beta)\n    return w\n"
pytestmark = pytest.mark.xdist_group("selfcheck")


def course_check(path) -> subprocess.CompletedProcess:
    """`course check PATH` as a student runs it: the console script of this environment."""
    script = Path(sys.executable).parent / "course"
    assert script.exists(), f"the `course` command is not installed next to {sys.executable}"
    return subprocess.run([str(script), "check", str(path)], capture_output=True, text=True, timeout=300)


def states(output: str) -> dict:
    """exercise -> status, from the report's one line per exercise."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^  (\w+)\s+(passed|failed|named mistake|not attempted|not run yet|error)$", line)
        if match:
            found[match[1]] = match[2]
    return found


def mistaken_notebook(folder: Path) -> Path:
    """The release with every answer right but momentum_step (a catalogued mistake) and nesterov_step (a typo)."""
    mistake = MISTAKES["momentum_step"][0]
    answers = {**solution_answers(FIRST.source), "momentum_step": source_as(mistake.implementation, "momentum_step"),
               "nesterov_step": SYNTAX_ERROR}
    path = folder / FIRST.notebook
    fill(RELEASE / FIRST.name / FIRST.notebook, answers, path)
    return path


def test_cli_on_a_solutions_notebook_reports_every_exercise_passed():
    done = course_check(FIRST.source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert states(done.stdout) == dict.fromkeys(EXERCISES, State.PASSED)
    assert f"{len(EXERCISES)} passed (of {len(EXERCISES)})" in done.stdout
    # progress while it runs, on stderr: the notebook, then a line per exercise as its check runs
    progress = done.stderr.splitlines()
    assert progress[0].startswith(f"Checking {FIRST.source}: {len(EXERCISES)} exercises"), done.stderr
    checked = [re.match(r"^  \[(\d+)/(\d+)\] (\w+) checked, \d+ s$", line) for line in progress[1:]]
    assert [(m[1], m[2], m[3]) for m in checked if m] == [
        (str(i), str(len(EXERCISES)), name) for i, name in enumerate(EXERCISES, 1)], done.stderr


def test_the_command_line_loads_the_grading_pipeline_only_for_the_commands_that_use_it():
    """`course check` and a local cluster's workers, which import the command line as they start,
    do not wait for nbgrader, Dask and Matplotlib."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, grader.cli; print(sorted({m.split('.')[0] for m in "
                             "sys.modules} & {'nbgrader', 'distributed', 'matplotlib', 'sqlalchemy', 'jinja2'}))"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_cli_on_a_folder_with_the_blank_release_reports_nothing_attempted(tmp_path):
    for folder in ("00_notes", FIRST.name):
        (tmp_path / folder).mkdir()
    (tmp_path / "00_notes" / "notes.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    shutil.copyfile(RELEASE / FIRST.name / FIRST.notebook, tmp_path / FIRST.name / FIRST.notebook)
    done = course_check(tmp_path)
    assert done.returncode == 1
    assert done.stdout.index("notes.ipynb") < done.stdout.index(FIRST.notebook), "notebooks in path order"
    assert "no exercises found" in done.stdout
    assert states(done.stdout) == dict.fromkeys(EXERCISES, State.NOT_ATTEMPTED)


def test_cli_names_a_catalogued_mistake_and_reports_a_broken_cell_without_expected_values(tmp_path):
    done = course_check(mistaken_notebook(tmp_path))
    assert done.returncode == 1
    expected = dict.fromkeys(EXERCISES, State.PASSED) | {"momentum_step": State.MISTAKE, "nesterov_step": State.ERROR}
    assert states(done.stdout) == expected, done.stdout
    mistake = MISTAKES["momentum_step"][0]
    assert f"Named mistake: {mistake.title} [{mistake.key}]" in done.stdout
    assert "SyntaxError" in done.stdout
    assert not DIGITS.search(done.stdout), f"a value is printed:\n{done.stdout}"
    for value in load_fixture(FIRST.topic)["momentum_step"]["expected"][0]:
        assert repr(value)[:6] not in done.stdout


def test_a_missing_path_is_reported(tmp_path):
    with pytest.raises(SystemExit, match="does not exist"):
        check_path(tmp_path / "nowhere.ipynb")


def test_hidden_tests_are_removed_exactly_as_nbgrader_removes_them(assignment):
    released = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
                for c in nbformat.read(RELEASE / assignment.name / assignment.notebook, as_version=4).cells}
    tests = [c for c in nbformat.read(assignment.source, as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    assert tests
    for cell in tests:
        assert "### BEGIN HIDDEN TESTS" in cell.source
        stripped = HIDDEN_TESTS.sub("", cell.source)
        assert "grade(" not in stripped and stripped.strip() == released[cell.metadata.nbgrader.grade_id].strip()


def answer_cells(assignment) -> dict:
    """grade_id -> source of each code answer cell of the blank release."""
    cells = nbformat.read(RELEASE / assignment.name / assignment.notebook, as_version=4).cells
    return {c.metadata.nbgrader.grade_id: c.source for c in cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def kernel_globals(assignment, answers: dict) -> dict:
    """The globals of a student's kernel: the release's import cell run, then the given answer cells in order."""
    cells = nbformat.read(RELEASE / assignment.name / assignment.notebook, as_version=4).cells
    namespace = {}
    define(namespace, next(c.source for c in cells if c.cell_type == "code" and "course_lib.checks" in c.source))
    for grade_id in answer_cells(assignment):
        if grade_id in answers:
            define(namespace, answers[grade_id])
    return namespace


def define(namespace: dict, source: str) -> None:
    exec(compile(source, "<cell>", "exec"), namespace)


def test_check_all_passes_the_solutions_and_finds_nothing_attempted_in_the_release(assignment):
    names = list(answer_cells(assignment))
    for answers, state in [(solution_answers(assignment.source), State.PASSED),
                           (answer_cells(assignment), State.NOT_ATTEMPTED)]:
        namespace = kernel_globals(assignment, answers)
        statuses = check_namespace(namespace, topic_of(namespace))
        assert [(s.exercise, s.state) for s in statuses] == [(n, state) for n in names]


def test_check_all_reports_each_function_in_the_order_of_the_notebook(capsys):
    """Whatever order the cells ran in; a function whose cell never ran is "not run yet"."""
    namespace = kernel_globals(FIRST, {})
    blank = answer_cells(FIRST)
    define(namespace, "def momentum_step(w, grad, velocity, lr, beta):\n    return w\n")
    define(namespace, blank["minibatch_indices"])
    define(namespace, source_as(reference.mse_loss_grad, "mse_loss_grad"))
    define(namespace, source_as(MISTAKES["gd_step"][0].implementation, "gd_step"))
    statuses = check_namespace(namespace, topic_of(namespace))
    assert [(s.exercise, s.state) for s in statuses] == [
        ("mse_loss_grad", State.PASSED), ("gd_step", State.MISTAKE), ("minibatch_indices", State.NOT_ATTEMPTED),
        ("momentum_step", State.FAILED), ("nesterov_step", State.NOT_RUN)]
    assert f"[{MISTAKES['gd_step'][0].key}]" in statuses[1].message
    assert "must return 2 values" in statuses[3].message
    assert "not defined" in statuses[4].message

    namespace["check_all"] = check_all
    define(namespace, "check_all(globals())")
    printed = capsys.readouterr().out
    assert printed.startswith("Visible checks of gradient_descent")
    assert re.search(r"^  nesterov_step\s+not run yet$", printed, re.M), printed
    assert "1 passed, 1 named mistake, 1 failed, 1 not attempted, 1 not run yet (of 5)" in printed
    assert not DIGITS.search(printed)


def test_the_visible_checks_are_in_the_order_of_the_notebooks_exercises(assignment):
    """check_all lists the exercises in the order of the visible checks' module: it must be the notebook's."""
    cells = nbformat.read(assignment.source, as_version=4).cells
    tests = [c.metadata.nbgrader.grade_id.removeprefix("test_") for c in cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
             and c.metadata.nbgrader.get("grade_id", "").startswith("test_")]
    checks = list(visible_checks(assignment.topic))
    assert [name for name in checks if name in tests] == tests


def test_check_all_finds_the_assignment_from_the_functions_when_no_check_is_imported():
    namespace = {}
    define(namespace, source_as(reference.gd_step, "gd_step"))
    assert topic_of(namespace) == "gradient_descent"
    with pytest.raises(ValueError, match="topic="):
        topic_of({})


def test_check_all_runs_inside_a_notebook_kernel(tmp_path):
    path = mistaken_notebook(tmp_path)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("from course_lib.selfcheck import check_all\ncheck_all(globals())"))
    NotebookClient(notebook, timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.output_type == "stream")
    mistake = MISTAKES["momentum_step"][0]
    assert f"Named mistake: {mistake.title} [{mistake.key}]" in printed
    # nesterov_step's cell has a syntax error, so the kernel never defined it
    expected = dict.fromkeys(EXERCISES, State.PASSED) | {"momentum_step": State.MISTAKE,
                                                         "nesterov_step": State.NOT_RUN}
    assert states(printed) == expected
