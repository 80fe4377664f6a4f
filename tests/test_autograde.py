"""End to end with real nbgrader: release, submissions, `course grade` in real kernels, feedback."""
import html
import re

import nbformat
from conftest import roster

from grader.pipeline.assignments import REPO
from grader.mistakes import catalogue
from grader.authoring.sample_class import builds_on, first_function, mistake_plans, solution_answers

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def exercises(result):
    return {e.name: e for e in result.exercises}


def test_solutions_score_full_marks(assignment, graded_class):
    _, results = graded_class(assignment)
    result = results["complete"]
    assert result.status == "graded"
    for e in result.exercises:
        if e.score is not None:
            assert e.score == e.max_score, f"{e.name}: {e.score}/{e.max_score} {e.diagnoses}"
    assert any(e.score is None for e in result.exercises), "the written answer should wait for a manual grade"


def test_blank_release_scores_zero_everywhere(assignment, graded_class):
    _, results = graded_class(assignment)
    result = results["blank"]
    assert result.status == "graded"
    assert [e.score for e in result.exercises] == [0.0] * len(result.exercises)
    assert [e.reason for e in result.exercises] == ["not attempted"] * len(result.exercises)
    for e in result.exercises:
        if e.name in catalogue(assignment.topic):
            assert any("not implemented yet" in d for d in e.diagnoses), e.diagnoses
    assert all(e.attempted for e in results["complete"].exercises)


def test_each_catalogued_mistake_loses_points_and_is_named(assignment, graded_class):
    course, results = graded_class(assignment)
    for slot, plan in enumerate(mistake_plans(assignment.topic), start=1):
        for function, mistake in plan.items():
            student = f"mistakes-{slot}"
            e = exercises(results[student])[function]
            assert e.score < e.max_score, f"{student} {function} ({mistake.key}) kept full points"
            assert any(f"[{mistake.key}]" in d for d in e.diagnoses), f"{mistake.key} not named: {e.diagnoses}"
            feedback = course.path("feedback", student, assignment.name, assignment.notebook.replace(".ipynb", ".html"))
            assert f"[{mistake.key}]" in feedback.read_text(), f"feedback of {student} does not name {mistake.key}"


def test_a_crashing_function_costs_only_its_own_points(assignment, graded_class):
    course, results = graded_class(assignment)
    broken = first_function(solution_answers(assignment.source))
    dependents = {name for name, deps in builds_on(assignment.topic).items() if broken in deps}
    for e in results["raises"].exercises:
        if e.name == broken:
            assert e.score == 0.0 and any("ValueError" in d for d in e.diagnoses), e.diagnoses
        elif e.score is not None and e.name not in dependents:
            assert e.score == e.max_score, f"{e.name} lost points because another function raised"
    graded = nbformat.read(course.path("autograded", "raises", assignment.name, assignment.notebook), as_version=4)
    tracebacks = ["".join(o.traceback) for c in graded.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error" and o.ename == "ValueError"]
    assert tracebacks, "no cell of the graded notebook shows the ValueError"
    for traceback in tracebacks:     # plain: each frame's line, no source around it
        assert "raise ValueError('I gave up on this one')" in traceback and "---->" not in traceback, traceback


def test_a_missing_notebook_scores_zero_and_is_reported(assignment, graded_class):
    _, results = graded_class(assignment)
    result = results["missing"]
    assert result.status == "missing notebook"
    assert result.total == 0 and result.max_total == results["complete"].max_total


def test_an_infinite_loop_times_out_and_costs_only_its_exercise(graded_class):
    from conftest import ASSIGNMENTS
    _, results = graded_class(ASSIGNMENTS[0])
    looping = [e for e in results["loops"].exercises if e.diagnoses]
    assert [d for e in looping for d in e.diagnoses] == ["timed out"]
    assert all(e.score == e.max_score for e in results["loops"].exercises
               if e.score is not None and e not in looping)


def test_feedback_never_shows_hidden_tests_or_the_reference(assignment, graded_class):
    course, _ = graded_class(assignment)
    source = nbformat.read(assignment.source, as_version=4)
    hidden = [line.strip() for cell in source.cells for block in HIDDEN.findall(cell.source)
              for line in block.splitlines() if line.strip()]
    hints = " ".join(m.title + " " + m.hint for mistakes in catalogue(assignment.topic).values() for m in mistakes)
    reference = [line.strip() for line in (REPO / "grader" / "reference" / f"{assignment.topic}.py").read_text().splitlines()
                 if len(line.strip()) > 20 and not line.strip().startswith(("#", '"""', "def ", "return"))
                 and line.strip() not in hints]     # a hint may quote the lesson's formula on purpose
    graded = nbformat.read(course.path("autograded", "complete", assignment.name, assignment.notebook), as_version=4)
    graded = "\n".join(cell.source for cell in graded.cells)
    assert all(line in graded for line in hidden), "the graded notebook should hold the hidden tests"
    pages = sorted(course.path("feedback").rglob("*.html"))
    assert len(pages) == len(roster(assignment))
    for page in pages:
        text = html.unescape(page.read_text())
        leaked = [line for line in hidden + reference if line in text]
        assert not leaked, f"{page.relative_to(course.root)} shows {leaked[:2]}"
