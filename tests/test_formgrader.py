"""Formgrader on a class folder graded by `course grade`: no script of a student runs in the
grader's browser, and Generate Feedback leaves the hidden tests out.

One class of assignment 01 with one student, whose written answer and one code output carry
scripts and event handlers, graded once; formgrader is a real Jupyter server started in the
class folder, so it reads the folder's nbgrader_config.py as an instructor's would.
"""
import re
from html.parser import HTMLParser

import nbformat
import pytest
from conftest import ASSIGNMENTS
from live_server import jupyter

from grader.authoring.sample_class import build_submissions, first_function, solution_answers
from grader.pipeline.classgrade import grade_class
from grader.pipeline.coursedir import SAFETY, CourseDir
from grader.pipeline.jobs import GradingLimits

pytestmark = pytest.mark.xdist_group("formgrader")
ASSIGNMENT = ASSIGNMENTS[0]
NOTEBOOK = ASSIGNMENT.notebook.removesuffix(".ipynb")
STUDENT = "ada"
ANSWERS = solution_answers(ASSIGNMENT.source)
FIRST = first_function(ANSWERS)
ATTACK = "pwned"
WRITTEN = ("A step larger than 2/c overshoots the minimum by more than it started from. "
           f"<script>{ATTACK}('answer')</script> <img src=x onerror=\"{ATTACK}('answer')\"> "
           f"[my notes](javascript:{ATTACK}('link'))")
HTML_OUTPUT = (f"<b>a harmless table</b><script>{ATTACK}('output')</script>"
             f"<img src=x onerror=\"{ATTACK}('output')\">")
CODE_WITH_OUTPUTS = f"""
from IPython.display import HTML, Image, display
display(HTML({HTML_OUTPUT!r}))
display(Image(data=b"not a png", format="png", width="1 onerror={ATTACK}(1)"))
"""


class Page(HTMLParser):
    """What a browser makes of a page, from the element with id `start` on: its text, the
    content of its scripts, its event-handler attributes and its links."""

    def __init__(self, html: str, start: str = ""):
        super().__init__()
        self.html, self.started, self.start, self.in_script = html, not start, start, False
        self.text, self.scripts, self.handlers, self.links = "", [], [], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.started = self.started or ("id", self.start) in attrs
        self.in_script = tag == "script"
        if self.started:
            self.scripts += [""] if self.in_script else []
            self.handlers += [f"{name}={value}" for name, value in attrs if name.startswith("on")]
            self.links += [value for name, value in attrs if name in ("href", "src") and value]

    def handle_endtag(self, tag):
        self.in_script = self.in_script and tag != "script"

    def handle_data(self, data):
        if self.started and self.in_script:
            self.scripts[-1] += data
        elif self.started:
            self.text += data


def hostile_submission(course) -> None:
    """Ada's complete notebook, with scripts in her written answer and in her first function's outputs."""
    path = course.path("submitted", STUDENT, ASSIGNMENT.name, ASSIGNMENT.notebook)
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and nbgrader.get("solution"):
            cell.source = WRITTEN
        if nbgrader.get("grade_id") == FIRST:
            cell.source += CODE_WITH_OUTPUTS
    nbformat.write(notebook, path)


def hidden_test_lines() -> list:
    """Every line of the source notebook's hidden tests."""
    cells = nbformat.read(ASSIGNMENT.source, as_version=4).cells
    hidden = "".join(part for cell in cells
                     for part in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S))
    return [line.strip() for line in hidden.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory):
    """(course, server): the class graded once, and Jupyter with formgrader running in it."""
    course = CourseDir(tmp_path_factory.mktemp("formgrader") / "class", timeout=30).create()
    course.generate(ASSIGNMENT)
    build_submissions(course, ASSIGNMENT, {STUDENT: "complete"})
    hostile_submission(course)
    grade_class(course, [ASSIGNMENT], workers=1, limits=GradingLimits(timeout=30), progress=lambda outcome: None)
    with jupyter("server", course.root, tmp_path_factory.mktemp("jupyter")) as server:
        yield course, server


def test_formgrader_shows_a_submission_without_running_its_html(formgrader):
    course, server = formgrader
    with course.gradebook() as gradebook:
        submission = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT.name, STUDENT).id
    page = Page(server.get(f"/formgrader/submissions/{submission}/"), start="notebook-container")
    assert page.scripts == []
    assert page.handlers == []
    assert not [link for link in page.links if link.lower().startswith("javascript:")]
    assert "overshoots the minimum by more than it started from" in page.text
    assert f"<script>{ATTACK}('answer')</script>" in page.text       # shown to the grader as text
    assert "<b>a harmless table</b>" in page.html
    assert f"Hidden checks of {FIRST}:" in page.text


def test_generate_feedback_button_leaves_the_hidden_tests_out(formgrader):
    course, server = formgrader
    answer = server.api(f"/formgrader/api/assignment/{ASSIGNMENT.name}/{STUDENT}/generate_feedback", method="POST",
                        body={})
    assert answer["success"], answer.get("error")
    page = Page(course.path("feedback", STUDENT, ASSIGNMENT.name, f"{NOTEBOOK}.html").read_text())
    hidden = hidden_test_lines()
    assert hidden and "BEGIN HIDDEN TESTS" not in page.text
    assert [line for line in hidden if line in page.text] == []
    assert all(line in page.text for line in ANSWERS[FIRST].splitlines())
    with course.gradebook() as gradebook:
        graded = gradebook.find_submission(ASSIGNMENT.name, STUDENT)
        assert f"Score: {graded.score} / {graded.max_score}" in page.text


def test_a_class_folder_configured_before_the_safety_settings_gets_them_once(tmp_path):
    written_before = 'c = get_config()\nc.CourseDirectory.course_id = "how-deep-networks-learn"\nc.Execute.timeout = 30\n'
    (tmp_path / "nbgrader_config.py").write_text(written_before)
    course = CourseDir(tmp_path)
    assert course.secure() and not course.secure()
    assert (tmp_path / "nbgrader_config.py").read_text() == written_before + SAFETY
