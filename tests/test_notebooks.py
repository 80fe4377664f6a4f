"""The notebooks: solutions run, the release is current and leaks nothing, cells follow the contract."""
import json
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from grader.pipeline.assignments import RELEASE
from grader.checks.judge import topic_modules
from grader.pipeline.coursedir import CourseDir

HIDDEN_CALL = re.compile(r'grade\("(?P<topic>\w+)", "(?P<name>\w+)", (?P<fn>\w+), points=(?P<points>[\d.]+)\)')


def cells_by_id(path):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(path, as_version=4).cells}


@pytest.mark.parametrize("grading", [False, True], ids=["student", "autograde"])
def test_solution_notebook_runs_top_to_bottom(assignment, grading, monkeypatch, tmp_path):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde") if grading else monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    notebook = nbformat.read(assignment.source, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    stderr = [o.text for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")
              for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, "a test cell wrote to stderr, which nbgrader scores 0"


def test_release_is_what_nbgrader_generates_now(assignment, tmp_path):
    course = CourseDir(tmp_path).create()
    course.generate(assignment)
    fresh = json.loads(course.path("release", assignment.name, assignment.notebook).read_text())
    committed = json.loads((RELEASE / assignment.name / assignment.notebook).read_text())
    assert committed == fresh, f"notebooks/{assignment.name} is stale: run `course release {assignment.name}`"


def test_release_holds_no_solution_and_no_hidden_test(assignment):
    text = (RELEASE / assignment.name / assignment.notebook).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "from grader", "import grader", "grade("):
        assert marker not in text, f"the release contains {marker!r}"
    for grade_id, cell in cells_by_id(RELEASE / assignment.name / assignment.notebook).items():
        if grade_id and cell.metadata.nbgrader.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_notebooks_are_committed_without_outputs(assignment, folder):
    root = assignment.source.parent.parent.parent / folder
    notebook = nbformat.read(root / assignment.name / assignment.notebook, as_version=4)
    dirty = [c.id for c in notebook.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty


def test_every_graded_function_has_a_test_cell_that_grades_it(assignment):
    specs, _, _ = topic_modules(assignment.topic)
    cells = cells_by_id(assignment.source)
    for name in specs.SPECS:
        assert name in cells and cells[name].metadata.nbgrader["solution"], f"no answer cell {name}"
        test = cells.get(f"test_{name}")
        assert test is not None and test.metadata.nbgrader["grade"], f"no test cell test_{name}"
        call = HIDDEN_CALL.search(test.source)
        assert call and call["topic"] == assignment.topic and call["name"] == call["fn"] == name
        assert float(call["points"]) == test.metadata.nbgrader["points"], "points differ from the cell's"
        assert f"check_{name}({name})" in test.source.split("### BEGIN HIDDEN TESTS")[0]


def test_each_lesson_has_a_written_answer_with_its_question_outside(assignment):
    cells = nbformat.read(assignment.source, as_version=4).cells
    written = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert written, "no manually graded written answer"
    for i in written:
        assert "?" in cells[i - 1].source, "the question must stand in the cell before the answer cell"


def test_grading_runs_with_a_headless_matplotlib(monkeypatch):
    import subprocess
    import sys
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="module://matplotlib_inline.backend_inline")
    out = subprocess.run([sys.executable, "-c", "import course_lib, matplotlib; print(matplotlib.get_backend())"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip().lower() == "agg"
