"""A student in JupyterLab: the release notebook in headless Chromium, one exercise typed right, one wrong.

The student has done the first three exercises (written into the notebook before it opens),
then types momentum_step correctly and nesterov_step as a catalogued mistake into the
editor, runs all cells from the Run menu, and reads the results. Screenshots of what they
see are saved in $COURSE_ARTEFACTS/browser/ (default .work/artefacts/browser/).
"""
import os
import re
from pathlib import Path

import nbformat
import pytest

from grader.pipeline.assignments import RELEASE, REPO, select
from grader.mistakes.gradient_descent import MISTAKES
from grader.reference import gradient_descent as reference
from grader.authoring.sample_class import fill, solution_answers, source_as
from grader.reports.report import write_html
from grader.reports.scores import ExerciseResult, SubmissionResult
from live_server import jupyter

CHROMIUM = Path("/usr/bin/chromium")
# Root in a container: no sandbox. Without the background-networking flags Chromium hangs on
# refused connections to Google's services. Playwright adds --headless and a fresh --user-data-dir.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(os.environ.get("COURSE_ARTEFACTS", REPO / ".work" / "artefacts")) / "browser"
# No news pop-up over the notebook, and every cell kept in the page (screenshots of cells far down).
SETTINGS = {"@jupyterlab/apputils-extension/notification": '{"fetchNews": "false", "checkForUpdates": false}',
            "@jupyterlab/notebook-extension/tracker": '{"windowingMode": "none"}'}
DONE_BEFORE = ("mse_loss_grad", "gd_step", "minibatch_indices")
ASSIGNMENT = select(["01_gradient_descent"])[0]
MISTAKE = MISTAKES["nesterov_step"][0]
TYPED = {"momentum_step": source_as(reference.momentum_step, "momentum_step"),
         "nesterov_step": source_as(MISTAKE.implementation, "nesterov_step")}
pytestmark = pytest.mark.xdist_group("browser")


def sync_playwright():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: this test drives Debian's Chromium. Install it with "
                    "`apt-get install chromium` (.ci/run does).")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: pip install -e '.[dev]' (it is in the dev extra).")
    return sync_playwright()


def student_folder(root: Path, settings: Path) -> list:
    """The release with the first exercises done, and JupyterLab's settings; returns the notebook's cells."""
    answers = solution_answers(ASSIGNMENT.source)
    release = RELEASE / ASSIGNMENT.name / ASSIGNMENT.notebook
    fill(release, {k: answers[k] for k in DONE_BEFORE}, root / ASSIGNMENT.notebook)
    for plugin, text in SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return nbformat.read(root / ASSIGNMENT.notebook, as_version=4).cells


def test_a_student_sees_a_passed_check_a_named_mistake_and_plots(tmp_path):
    root, state = tmp_path / "student", tmp_path / "jupyter"
    root.mkdir()
    cells = student_folder(root, state / "settings")
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(cells)}
    plots = [i for i, c in enumerate(cells[:index["test_nesterov_step"]])
             if c.cell_type == "code" and "plotting.figure(" in c.source]
    assert plots, "no plotting cell before the mistaken exercise"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright, jupyter("lab", root, state) as server:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{server.url}/lab/tree/{ASSIGNMENT.notebook}?token={server.token}")
            notebook = page.locator(".jp-NotebookPanel")
            shown = notebook.locator(".jp-Notebook .jp-Cell")
            page.wait_for_function("n => document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length == n",
                                   arg=len(cells))
            idle = notebook.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            idle.wait_for()

            for name, source in TYPED.items():
                editor = shown.nth(index[name]).locator(".cm-content")
                editor.click()
                page.keyboard.press("Control+a")
                page.keyboard.insert_text(source)
                page.keyboard.press("Escape")
                assert editor.text_content().strip() == source.strip().replace("\n", ""), f"typing into {name} failed"

            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            mistake_output = shown.nth(index["test_nesterov_step"]).locator(".jp-OutputArea-output")
            mistake_output.last.wait_for(timeout=180_000)
            idle.wait_for(timeout=180_000)

            passed = shown.nth(index["test_momentum_step"])
            said = passed.locator(".jp-OutputArea-output").text_content()
            assert "✓ momentum_step passes the visible checks" in said
            said = mistake_output.last.text_content()
            assert f"Named mistake: {MISTAKE.title} [{MISTAKE.key}]" in said
            assert MISTAKE.hint.split(".")[0] in said
            for i in plots:
                image = shown.nth(i).locator(".jp-OutputArea-output img").first
                assert image.get_attribute("src").startswith("data:image/png"), f"cell {i} shows no plot"
                assert image.evaluate("img => img.complete && img.naturalWidth > 0"), f"cell {i}'s plot did not render"

            shown.nth(plots[0]).locator(".jp-OutputArea-output img").first.screenshot(path=str(ARTEFACTS / "plot.png"))
            passed.screenshot(path=str(ARTEFACTS / "passed_check.png"))
            mistake_output.last.screenshot(path=str(ARTEFACTS / "named_mistake.png"))
            page.screenshot(path=str(ARTEFACTS / "window.png"))  # the window, scrolled to the named mistake
        finally:
            browser.close()


def test_the_class_report_fits_a_laptop_screen(tmp_path):
    """The report of a class with every status and a hostile student id, in Chromium 1280 px wide:
    nothing wider than the window (wide tables scroll inside their box), and a screenshot saved."""
    from test_report import sample_class
    wide = SubmissionResult("ada", "06_bptt", "graded", [ExerciseResult(f"lstm_step_backward_{i}", 0.0, 2.0, [
        "Gradient of the forget gate taken from the cell state instead of the previous cell state [forget_from_c]"])
        for i in range(14)])
    page_path = write_html(sample_class() + [wide], tmp_path / "report.html")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_path.as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            assert page.locator("section.assignment").count() == 3
            page.screenshot(path=str(ARTEFACTS / "report-1280.png"), full_page=True)
        finally:
            browser.close()
