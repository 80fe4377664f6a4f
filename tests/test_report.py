"""The class report: CSV checked against nbgrader's own export, summary, HTML page, empty class."""
import base64
import csv
import io
import os
import re
import sys
import time
import warnings
from datetime import datetime

import pytest
from nbgrader.api import Course, Gradebook
from nbformat.v4 import new_code_cell, new_output
from nbgrader.plugins.export import CsvExportPlugin
from sqlalchemy.exc import SAWarning

from grader.reports.report import (NBGRADER_EXPORT_COLUMNS, NO_RESULTS, exercise_summaries, pass_rates,
                                   read_gradebook_columns, summary, write_csv, write_html, write_report, written_answers)
from grader.mistakes import named
from grader.pipeline.execute import REPORT_MIME
from grader.pipeline.jobs import Job, Outcome
from grader.pipeline.progress import Progress
from grader.pipeline.status import Status
from grader.reports.scores import ExerciseResult, SubmissionResult, diagnoses, messages

GD, ADAPTIVE = "01_gradient_descent", "02_adaptive_lr"
KNOWN = named("gradient_descent")
MAX_SCORES = {GD: {"mse_gradient": 2.0, "gradient_step": 1.0, "momentum_step": 2.0, "written": 1.0},
              ADAPTIVE: {"adagrad_step": 2.0, "adam_step": 3.0}}
MOMENTUM = "Velocity added with the wrong sign [momentum_sign]"
BIAS = "Adam without bias correction [no_bias_correction]"
NO_LR = "Step without the learning rate [step_without_lr]"
FORGED = r"$\nocommand$ <img src=x onerror=alert(1)> [forged]"
HOSTILE = "<script>alert(1)</script>"
COURSE = "how-deep-networks-learn"


def submission(student, assignment, status="graded", scores=None, diagnoses=None):
    """A result with MAX_SCORES' exercises: `scores` {exercise: score or None} (default: full marks
    when graded, 0 otherwise) and `diagnoses` {exercise: [diagnosis, ...]}."""
    default = (lambda m: m) if status == "graded" else (lambda m: 0.0)
    exercises = [ExerciseResult(name, (scores or {}).get(name, default(m)), m, (diagnoses or {}).get(name, []),
                                written=name == "written") for name, m in MAX_SCORES[assignment].items()]
    return SubmissionResult(student, assignment, status, exercises)


def sample_class() -> list:
    """Two assignments, every status, pending manual grades, named mistakes made 3, 2, 1 and 1 times."""
    return [
        submission("ada", GD, scores={"written": None}),
        submission("ben", GD, scores={"momentum_step": 0.0}, diagnoses={"momentum_step": [MOMENTUM]}),
        submission("chloe", GD, scores={"gradient_step": 0.0, "momentum_step": 1.0},
                   diagnoses={"gradient_step": [NO_LR], "momentum_step": [MOMENTUM]}),
        submission(HOSTILE, GD, scores={"mse_gradient": 0.0, "momentum_step": 0.0, "written": None},
                   diagnoses={"mse_gradient": ["NameError: name 'np' is not defined", FORGED],
                              "momentum_step": [MOMENTUM]}),
        submission("dmitri", GD, "timed out", scores={"mse_gradient": 2.0, "gradient_step": 1.0, "written": None},
                   diagnoses={"momentum_step": ["timed out"]}),
        submission("emma", GD, "kernel died"),
        submission("farid", GD, "missing notebook"),
        submission("grace", GD, "unreadable notebook"),
        submission("hana", GD, "not submitted"),
        submission("ada", ADAPTIVE),
        submission("ben", ADAPTIVE, scores={"adam_step": 1.0}, diagnoses={"adam_step": [BIAS]}),
        submission("chloe", ADAPTIVE, scores={"adagrad_step": 1.0, "adam_step": 0.0},
                   diagnoses={"adam_step": [BIAS, "ZeroDivisionError: division by zero"]}),
        submission("hana", ADAPTIVE, "not submitted"),
    ]


def read_rows(path) -> list:
    with open(path, newline="") as file:
        return list(csv.reader(file))


@pytest.fixture
def gradebook(tmp_path, monkeypatch):
    """A real nbgrader gradebook of GD: ada submitted on time, ben late (penalty 0.5, a manual
    grade given), chloe never. Returns (db_url, the matching results)."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])  # alembic
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    scores = {"ada": {"test_mse_gradient": 2.0, "test_gradient_step": 1.0, "test_momentum_step": 2.0},
              "ben": {"test_mse_gradient": 2.0, "test_gradient_step": 1.0, "test_momentum_step": 0.0}}
    with warnings.catch_warnings(), Gradebook(db_url, course_id=COURSE) as gb:
        warnings.simplefilter("ignore", SAWarning)  # raised inside nbgrader's own add_submission
        gb.add_assignment(GD, duedate="2024-03-01 17:00:00")
        gb.add_notebook("gradient_descent", GD)
        for name, max_score in MAX_SCORES[GD].items():
            cell = name if name == "written" else f"test_{name}"
            gb.add_grade_cell(cell, "gradient_descent", GD, max_score=max_score,
                              cell_type="markdown" if name == "written" else "code")
        gb.add_student("ada", first_name="Ada", last_name="Lovelace", email="ada@example.org")
        gb.add_student("ben", first_name="Ben", last_name="Okri")
        gb.add_student("chloe")
        gb.add_submission(GD, "ada", timestamp="2024-03-01 12:30:00.5")
        gb.add_submission(GD, "ben", timestamp="2024-03-02 09:00:00")
        for student, earned in scores.items():
            for cell, score in earned.items():
                gb.find_grade(cell, "gradient_descent", GD, student).auto_score = score
        gb.find_grade("written", "gradient_descent", GD, "ben").manual_score = 1.0
        gb.find_submission_notebook("gradient_descent", GD, "ben").late_submission_penalty = 0.5
        gb.db.commit()
    results = [submission("ada", GD, scores={"written": None}),
               submission("ben", GD, scores={"momentum_step": 0.0}, diagnoses={"momentum_step": [MOMENTUM]}),
               submission("chloe", GD, "not submitted")]
    return db_url, results


def test_gradebook_reader_returns_duedates_timestamps_names_and_penalties(gradebook):
    db_url, _ = gradebook
    columns = read_gradebook_columns(db_url)
    assert set(columns) == {("ada", GD), ("ben", GD), ("chloe", GD)}
    assert columns["ada", GD] == {"duedate": datetime(2024, 3, 1, 17),
                                  "timestamp": datetime(2024, 3, 1, 12, 30, 0, 500000),
                                  "last_name": "Lovelace", "first_name": "Ada", "email": "ada@example.org",
                                  "late_submission_penalty": 0.0}
    assert columns["ben", GD]["late_submission_penalty"] == 0.5
    assert columns["chloe", GD]["timestamp"] is None and columns["chloe", GD]["first_name"] is None
    with Gradebook(db_url, course_id="") as gb:
        assert [course.id for course in gb.db.query(Course)] == [COURSE], "reading registered another course"


def test_gradebook_reader_refuses_a_missing_file_instead_of_creating_it(tmp_path):
    missing = tmp_path / "gradebook.db"
    with pytest.raises(FileNotFoundError, match="no gradebook"):
        read_gradebook_columns(f"sqlite:///{missing}")
    assert not missing.exists()


def test_csv_starts_with_exactly_what_nbgrader_export_writes(gradebook, tmp_path):
    db_url, results = gradebook
    with Gradebook(db_url, course_id=COURSE) as gb:
        CsvExportPlugin(to=str(tmp_path / "nbgrader.csv")).export(gb)
    exported = read_rows(tmp_path / "nbgrader.csv")
    ours = read_rows(write_csv(results, tmp_path / "scores.csv", read_gradebook_columns(db_url)))

    assert tuple(exported[0]) == NBGRADER_EXPORT_COLUMNS
    assert ours[0][:len(exported[0])] == exported[0]
    width = len(exported[0])
    assert sorted(row[:width] for row in ours[1:]) == sorted(exported[1:])
    ben = next(row for row in ours if row[3] == "ben")
    assert ben[:width] == [GD, "2024-03-01 17:00:00", "2024-03-02 09:00:00", "ben", "Okri", "Ben", "",
                           "4.0", "0.5", "3.5", "6.0"]


def test_csv_has_a_status_column_then_every_exercise_blank_where_not_applicable(tmp_path):
    rows = read_rows(write_csv(sample_class(), tmp_path / "scores.csv"))
    header = rows[0]
    exercises = [f"{a}:{e}" for a in MAX_SCORES for e in MAX_SCORES[a]]
    assert header == [*NBGRADER_EXPORT_COLUMNS, "status", *exercises]
    assert len(rows) == 1 + len(sample_class())
    table = {(row[header.index("student_id")], row[0]): dict(zip(header, row)) for row in rows[1:]}

    chloe = table["chloe", ADAPTIVE]
    assert [chloe[c] for c in ("raw_score", "score", "max_score", "status")] == ["1.0", "1.0", "5.0", "graded"]
    assert [chloe[c] for c in ("duedate", "timestamp", "last_name", "first_name", "email",
                               "late_submission_penalty")] == [""] * 6
    assert [chloe[c] for c in exercises] == ["", "", "", "", "1.0", "0.0"]
    ada = table["ada", GD]
    assert [ada[c] for c in exercises] == ["2.0", "1.0", "2.0", "", "", ""]
    assert ada["raw_score"] == "5.0" and ada["max_score"] == "6.0"
    assert table["emma", GD]["status"] == "kernel died" and table["emma", GD]["raw_score"] == "0.0"
    assert table[HOSTILE, GD]["01_gradient_descent:mse_gradient"] == "0.0"


def test_pass_rate_is_the_fraction_of_notebooks_that_ran_with_full_marks():
    assert pass_rates(sample_class()) == {
        (GD, "mse_gradient"): (4 / 6, 6), (GD, "gradient_step"): (4 / 6, 6), (GD, "momentum_step"): (1 / 6, 6),
        (GD, "written"): (2 / 3, 3), (ADAPTIVE, "adagrad_step"): (2 / 3, 3), (ADAPTIVE, "adam_step"): (1 / 3, 3)}


def test_summary_counts_statuses_and_averages_only_notebooks_that_ran():
    text = summary(sample_class())
    assert text.startswith("Class report: 9 students, 2 assignments")
    assert ("01_gradient_descent: 9 students\n"
            "  4 graded, 1 missing notebook, 1 unreadable notebook, 1 timed out, 1 kernel died, 1 not submitted\n"
            "  scores of the 6 notebooks that ran: mean 2.83, median 3.5 of 6\n"
            "  3 answers wait for a manual grade") in text
    assert ("02_adaptive_lr: 4 students\n  3 graded, 1 not submitted\n"
            "  scores of the 3 notebooks that ran: mean 3, median 3 of 5\n") in text


def test_summary_says_what_to_reteach_per_assignment_lowest_pass_rate_first():
    text = summary(sample_class())
    assert ("  what to re-teach (lowest pass rate first, among the students who attempted it):\n"
            f"    momentum_step: 17% of 6 pass; {MOMENTUM} 3\n"
            f"    mse_gradient: 67% of 6 pass; {FORGED} 1\n"
            f"    gradient_step: 67% of 6 pass; {NO_LR} 1\n\n02_adaptive_lr") in text
    assert f"    adam_step: 33% of 3 pass; {BIAS} 2\n    adagrad_step: 67% of 3 pass" in text
    assert "written:" not in text, "written answers are not exercises to re-teach"


def test_blank_answers_are_neither_failed_nor_mistakes():
    """Two students left momentum_step as released: the pass rate and the mistake's share are of
    the four who attempted it; a blank written answer is counted apart from pending ones."""
    results = [submission(s, GD, scores={"momentum_step": 0.0}, diagnoses={"momentum_step": [MOMENTUM]})
               for s in ("ada", "ben")] + [submission(s, GD) for s in ("chloe", "dmitri")]
    results += [submission(s, GD, scores={"momentum_step": 0.0, "written": 0.0}) for s in ("emma", "farid")]
    for result in results[4:]:
        for exercise in result.exercises:
            exercise.attempted = exercise.name not in ("momentum_step", "written")
    summaries = {e.name: e for e in exercise_summaries(results)}
    momentum = summaries["momentum_step"]
    assert (momentum.ran, momentum.attempted, momentum.passed, momentum.pass_rate) == (6, 4, 2, 0.5)
    assert [(m.key, m.count, m.share) for m in momentum.mistakes] == [("momentum_sign", 2, 0.5)]
    assert written_answers(results) == [dict(name="written", graded=4, mean="1", max="1", pending=0, blank=2)]
    assert results[4].exercises[2].reason == "not attempted"


def test_the_page_has_a_section_per_assignment_with_reasons_links_and_escaped_text(tmp_path):
    feedback = tmp_path / "feedback"
    page_of_ben = feedback / "ben" / GD / "gradient_descent.html"
    page_of_ben.parent.mkdir(parents=True)
    page_of_ben.write_text("feedback")
    (tmp_path / "course_grade").mkdir()
    page = write_html(sample_class(), tmp_path / "course_grade" / "report.html", feedback).read_text()
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)">', page)
    assert [alt for alt, _ in images] == ["score distribution per assignment"]
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for _, data in images)
    sections = re.findall(r'<section class="assignment" id="([^"]+)">', page)
    assert sections == [GD, ADAPTIVE]
    reteach = page[page.index(f'id="{GD}"'):page.index(f'id="{ADAPTIVE}"')]
    assert [reteach.index(f"<td>{e}</td>") for e in ("momentum_step", "mse_gradient", "gradient_step")] == \
        sorted(reteach.index(f"<td>{e}</td>") for e in ("momentum_step", "mse_gradient", "gradient_step"))
    assert "Velocity added with the wrong sign [momentum_sign]: 3 (50%)" in reteach
    assert '<a href="../feedback/ben/01_gradient_descent/gradient_descent.html">ben</a>' in page
    assert page.count("<a href=\"../feedback") == 1, "only pages that exist are linked"
    assert '<small>[momentum_sign]</small>' in page and "<small>timed out</small>" in page
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    text = re.sub(r"data:image/png;base64,[^\"]+", "", page)
    assert not re.search(r"https?:|<link|<script", text), "the page must load nothing from elsewhere"


def test_an_empty_class_gives_a_clear_message_everywhere(tmp_path):
    assert summary([]) == NO_RESULTS
    paths = write_report([], tmp_path / "empty")
    assert read_rows(paths["csv"]) == [[*NBGRADER_EXPORT_COLUMNS, "status"]]
    page = paths["html"].read_text()
    assert NO_RESULTS in page and "<img" not in page


def test_write_report_writes_the_csv_with_gradebook_columns_and_the_page(gradebook, tmp_path):
    db_url, results = gradebook
    paths = write_report(results, tmp_path / "report", db_url)
    assert paths == {"csv": tmp_path / "report" / "scores.csv", "html": tmp_path / "report" / "report.html"}
    rows = read_rows(paths["csv"])
    assert [row[4] for row in rows[1:]] == ["Lovelace", "Okri", ""]
    assert paths["html"].read_text().count("data:image/png;base64,") == 1


def test_csv_writes_numbers_as_nbgrader_does_whatever_their_type(tmp_path):
    integers = SubmissionResult("ada", GD, "graded", [ExerciseResult("mse_gradient", 2, 2)])
    row = read_rows(write_csv([integers], tmp_path / "scores.csv"))[1]
    assert row[7:12] == ["2.0", "", "2.0", "2.0", "graded"] and row[12] == "2.0"


def test_a_student_id_that_a_spreadsheet_would_evaluate_is_written_as_text(tmp_path):
    rows = read_rows(write_csv([SubmissionResult(student, GD, "graded", [ExerciseResult("mse_gradient", 1, 2)])
                                for student in ("=2+5", "@SUM(A1)", "-1", "+cmd", "ada")], tmp_path / "scores.csv"))
    ids = [row[NBGRADER_EXPORT_COLUMNS.index("student_id")] for row in rows[1:]]
    assert sorted(ids) == sorted(["'=2+5", "'@SUM(A1)", "'-1", "'+cmd", "ada"])


def test_messages_do_not_depend_on_how_the_kernel_chunked_printed_text():
    text = "x momentum_step: one case fails.\nKeep lr out of v.\n"
    cut = text.index("fails") + 2
    whole = new_code_cell(outputs=[new_output("stream", name="stdout", text=text)])
    chunked = new_code_cell(outputs=[new_output("stream", name="stdout", text=text[:cut]),
                                     new_output("stream", name="stdout", text=text[cut:]),
                                     new_output("stream", name="stderr", text="a warning\n")])
    assert messages(chunked) == messages(whole) == [text.strip()]


def test_hidden_checks_name_mistakes_only_in_the_grading_processs_report():
    named = "Learning rate folded into the velocity [lr_in_velocity]"
    report = {"name": "momentum_step", "named": [["Learning rate folded into the velocity", "lr_in_velocity"]],
              "report": "1 of 2 cases pass", "earned": 1.0, "points": 2.0}
    judged = new_code_cell(outputs=[new_output("display_data", data={REPORT_MIME: report, "text/plain": "1 of 2"})])
    assert diagnoses(judged, KNOWN) == [named] and messages(judged) == ["1 of 2"]
    printed = new_code_cell(outputs=[new_output("stream", name="stdout", text=f"Named mistake: {named}\n")])
    assert diagnoses(printed, KNOWN) == []


def test_control_characters_from_a_kernel_never_reach_a_terminal():
    hostile = "\x1b]0;window title\x07\x1b[2K\x1b[1Aerased\r\n"
    cell = new_code_cell(outputs=[new_output("stream", name="stdout", text=hostile),
                                  new_output("error", ename="Bad\x1b[1A", evalue=hostile, traceback=[])])
    assert all("\x1b" not in m and "\x07" not in m and "\r" not in m for m in messages(cell)), messages(cell)
    assert all("\x1b" not in d for d in diagnoses(cell, KNOWN)), diagnoses(cell, KNOWN)


def test_many_printed_lines_that_look_like_named_mistakes_are_read_in_linear_time():
    flood = "Named mistake: " * 200_000
    chunks = [new_output("stream", name="stdout", text="x") for _ in range(50_000)]
    cell = new_code_cell(outputs=chunks + [new_output("error", ename="CheckFailed", evalue=flood, traceback=[])])
    assert diagnoses(cell, KNOWN) and messages(cell)[0] == "x" * 50_000


def test_a_named_mistake_outside_the_catalogue_is_not_counted():
    forged = "Named mistake: Learning rate folded into the velocity [lr_in_velocity_]\n"
    retitled = "Named mistake: Everything is fine [lr_in_velocity]\n"
    printed = new_code_cell(outputs=[new_output("stream", name="stdout", text=forged + retitled)])
    assert diagnoses(printed, KNOWN) == []
    raised = new_code_cell(outputs=[new_output("error", ename="CheckFailed", evalue=forged, traceback=[])])
    assert diagnoses(raised, KNOWN) == [forged.strip()]     # an ordinary failed check, then


def test_the_feedback_page_names_a_mistake_once_with_its_hint():
    """The named mistake is shown once, above what the checks said, not again in each message."""
    import html
    from course_lib.checking import mistake_message
    from grader.mistakes.gradient_descent import MISTAKES
    from grader.reports.feedback import render
    mistake = MISTAKES["momentum_step"][0]
    said = mistake_message(mistake.key, mistake.title, mistake.hint)
    exercise = ExerciseResult("momentum_step", 0.0, 2.0, [f"{mistake.title} [{mistake.key}]"],
                              [f"CheckFailed: momentum_step returns the right shapes, but w_new differs.\n{said}",
                               f"Hidden checks of momentum_step: 0 of 5 cases pass.\n"
                               f"  ✗ one step: w_new differs.\n{said}"])
    page = html.unescape(render(SubmissionResult("ada", GD, "graded", [exercise])))
    assert page.count(f"[{mistake.key}]") == 1, page
    assert page.count(mistake.hint) == 1 and "but w_new differs." in page and "✗ one step: w_new differs." in page


def test_the_progress_bar_estimate_keeps_moving_while_a_long_submission_runs(monkeypatch):
    """Two of four submissions done after 10 s: about 10 s left; 25 s in, with none done
    since, the bar says it is 5 s over its estimate instead of staying at "10 s left"."""
    clock = iter([100.0, 110.0, 110.0])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    progress = Progress(4, stream=io.StringIO())
    job = Job("ada", "01_gradient_descent", "gradient_descent.ipynb", "")
    assert progress.bar(100.0).endswith("0 s, estimating the time left")
    progress(Outcome(job, Status.GRADED))
    progress(Outcome(job, Status.GRADED))
    assert progress.bar(110.0).endswith("10 s, about 10 s left")
    assert progress.bar(115.0).endswith("15 s, about 5 s left")
    assert progress.bar(125.0).endswith("25 s, 5 s longer than estimated")
