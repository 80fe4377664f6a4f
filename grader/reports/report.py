"""The class report of `course grade`: a gradebook CSV, a terminal summary and an HTML page.

Every function takes `results`, a list of grader.reports.scores.SubmissionResult, one per
student x assignment. Means, medians and pass rates count the submissions whose notebook
ran (`Status.ran`: graded, or graded up to a timeout or a dead kernel); the others
(missing or unreadable notebook, not submitted) are counted by status, not averaged in as
zeros. A named mistake is a diagnosis of the form "Title [key]", counted once per student
and exercise.
"""
import base64
import csv
import html
import io
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from nbgrader.api import Gradebook
from sqlalchemy.engine import make_url

from grader.pipeline.status import Status

# `nbgrader export`'s CSV columns, in its order (nbgrader/plugins/export.py, CsvExportPlugin).
NBGRADER_EXPORT_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                           "email", "raw_score", "late_submission_penalty", "score", "max_score")
# Those of them that only the gradebook knows.
GRADEBOOK_COLUMNS = ("duedate", "timestamp", "last_name", "first_name", "email", "late_submission_penalty")
TOP_MISTAKES = 10
NO_RESULTS = "No submissions to report: the list of results is empty."


@dataclass(frozen=True)
class NamedMistake:
    """A catalogued mistake on one exercise, as a diagnosis "Title [key]" names it."""
    assignment: str
    exercise: str
    title: str
    key: str


def read_gradebook_columns(db_url: str) -> dict:
    """What an nbgrader gradebook holds for the export, keyed by (student_id, assignment name).

    Each value maps every name in GRADEBOOK_COLUMNS to the gradebook's value: duedate and
    timestamp are datetimes or None, names and email strings or None, the late-submission
    penalty a float. As in `nbgrader export`, every student of the gradebook has an entry for
    every assignment; without a submission, the timestamp is None and the penalty 0.0.
    Reading writes nothing; a missing SQLite file is an error (nbgrader would create an empty one).
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise FileNotFoundError(f"no gradebook at {db_url}: pass the db_url of a graded course directory "
                                f"(its gradebook.db, written by `nbgrader autograde`)")
    columns = {}
    with Gradebook(db_url, course_id="") as gradebook:   # "": read without registering a course
        students = gradebook.students
        for assignment in gradebook.assignments:
            submissions = {s.student.id: s for s in assignment.submissions}
            for student in students:
                submission = submissions.get(student.id)
                columns[student.id, assignment.name] = {
                    "duedate": assignment.duedate,
                    "timestamp": submission.timestamp if submission else None,
                    "last_name": student.last_name,
                    "first_name": student.first_name,
                    "email": student.email,
                    "late_submission_penalty": submission.late_submission_penalty if submission else 0.0,
                }
    return columns


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(results, path, gradebook_rows=None) -> Path:
    """Write the class's scores as one CSV, one row per (student, assignment), sorted by both.

    Columns: first `nbgrader export`'s (NBGRADER_EXPORT_COLUMNS, same names, order and
    number format), then `status`, then one column per exercise of every assignment, named
    "<assignment>:<exercise>" (e.g. "01_gradient_descent:momentum_step"), in course order.
    Wide rather than long, so that a spreadsheet shows a student's assignment on one line and
    filters by assignment; an exercise cell is blank where the exercise belongs to another
    assignment or waits for a manual grade.
    `gradebook_rows` is read_gradebook_columns()'s mapping; the gradebook's columns are blank
    for a (student, assignment) it lacks, and then `score` (raw_score minus the late penalty,
    at least 0) equals raw_score. raw_score is the total, a pending manual grade counting 0.
    """
    gradebook_rows = gradebook_rows or {}
    exercises = exercise_columns(results)
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*NBGRADER_EXPORT_COLUMNS, "status", *(f"{a}:{e}" for a, e in exercises)])
        for result in sorted(results, key=lambda r: (r.assignment, r.student)):
            stored = gradebook_rows.get((result.student, result.assignment), {})
            penalty = stored.get("late_submission_penalty") or 0.0
            export = {"assignment": result.assignment, "student_id": result.student, "raw_score": result.total,
                      "score": max(0.0, result.total - penalty), "max_score": result.max_total,
                      **{column: stored.get(column) for column in GRADEBOOK_COLUMNS}}
            scores = {(result.assignment, e.name): e.score for e in result.exercises}
            writer.writerow([export_text(export[c]) for c in NBGRADER_EXPORT_COLUMNS] + [result.status]
                            + [export_text(scores.get(column)) for column in exercises])
    return path


def export_text(value) -> str:
    """A CSV cell as `nbgrader export` writes it: '' for None, floats for numbers, str() otherwise;
    text that a spreadsheet would read as a formula (a student id "=2+5") starts with a quote."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(float(value))
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def summary(results) -> str:
    """A short terminal summary: per assignment the statuses and scores, then what to re-teach."""
    if not results:
        return NO_RESULTS
    groups = by_assignment(results)
    lines = [f"Class report: {len({r.student for r in results})} students, {len(groups)} assignments"]
    for name, group in groups.items():
        totals = [r.total for r in ran(group)]
        scores = (f"mean {points(statistics.mean(totals))}, median {points(statistics.median(totals))} "
                  f"of {points(max_total(group))}" if totals else "none")
        lines += ["", f"{name}: {len(group)} students",
                  "  " + ", ".join(f"{count} {status}" for status, count in status_counts(group).items()),
                  f"  scores of the {len(totals)} notebooks that ran: {scores}"]
        pending = pending_manual_grades(group)
        if pending:
            lines.append(f"  {pending} answers wait for a manual grade (they count 0 until graded)")
    mistakes = ranked_mistakes(results)[:TOP_MISTAKES]
    lines += ["", "What to re-teach (most frequent named mistakes):"]
    if not mistakes:
        return "\n".join(lines + ["  no named mistakes"])
    width = max(len(f"{m.assignment}:{m.exercise}") for _, m in mistakes)
    lines.append(f"  {'students':>8}  {'exercise':<{width}}  mistake")
    lines += [f"  {count:>8}  {f'{m.assignment}:{m.exercise}':<{width}}  {m.title} [{m.key}]"
              for count, m in mistakes]
    return "\n".join(lines)


def write_html(results, path) -> Path:
    """Write one self-contained HTML page: statuses, score and pass-rate plots, mistakes, scores per student.

    The plots are PNGs drawn with Matplotlib's Agg canvas and embedded as base64 data URLs;
    every text taken from the results (student ids, statuses, exercise names, mistake titles)
    is HTML-escaped.
    """
    body = ["<h1>Class report</h1>"]
    if not results:
        body.append(f"<p>{NO_RESULTS}</p>")
    else:
        groups = by_assignment(results)
        mistakes = ranked_mistakes(results)
        body += [f"<p>{len({r.student for r in results})} students, {len(groups)} assignments. Means, medians "
                 "and pass rates count the notebooks that ran (graded, timed out, kernel died); a pending "
                 "manual grade counts 0.</p>",
                 "<h2>Submissions</h2>", overview_table(groups),
                 "<h2>Score distribution</h2>", score_plot(groups),
                 "<h2>Pass rate per exercise</h2>",
                 "<p>Fraction of the notebooks that ran with full marks on the exercise "
                 "(answers waiting for a manual grade are left out).</p>", pass_rate_plot(pass_rates(results)),
                 "<h2>What to re-teach: most frequent named mistakes</h2>"]
        body += [mistakes_plot(mistakes[:TOP_MISTAKES]), mistakes_table(mistakes)] if mistakes else \
            ["<p>No named mistakes.</p>"]
        body.append("<h2>Scores per student</h2>")
        body += [f"<h3>{html.escape(name)}</h3>" + student_table(group) for name, group in groups.items()]
    path = Path(path)
    path.write_text(PAGE.format(body="\n".join(body)), encoding="utf-8")
    return path


def write_report(results, folder, db_url=None) -> dict:
    """Write `scores.csv` (with the gradebook's columns when `db_url` is given) and `report.html` in `folder`.

    Returns {"csv": path, "html": path}.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    gradebook_rows = read_gradebook_columns(db_url) if db_url else None
    return {"csv": write_csv(results, folder / "scores.csv", gradebook_rows),
            "html": write_html(results, folder / "report.html")}


def by_assignment(results) -> dict:
    """{assignment name: its results sorted by student}, in course order."""
    groups = {}
    for result in sorted(results, key=lambda r: (r.assignment, r.student)):
        groups.setdefault(result.assignment, []).append(result)
    return groups


def exercise_columns(results) -> list:
    """Every (assignment, exercise) pair, in course order, exercises in their notebook's order."""
    return list(dict.fromkeys((r.assignment, e.name) for r in sorted(results, key=lambda r: r.assignment)
                              for e in r.exercises))


def status_counts(results) -> dict:
    """{status: number of results}, in the order of `Status`."""
    counts = Counter(Status(r.status) for r in results)
    return {status: counts[status] for status in Status if status in counts}


def ran(results) -> list:
    """The results whose notebook ran."""
    return [r for r in results if Status(r.status).ran]


def max_total(results) -> float:
    return max(r.max_total for r in results)


def pending_manual_grades(results) -> int:
    """How many exercises of the notebooks that ran wait for a manual grade."""
    return sum(e.score is None for r in ran(results) for e in r.exercises)


def pass_rates(results) -> dict:
    """{(assignment, exercise): (fraction with full marks, number scored)} over the notebooks that ran.

    An exercise without any score yet (a manual grade pending everywhere) has no entry.
    """
    scored = {}
    for result in ran(results):
        for e in result.exercises:
            if e.score is not None:
                scored.setdefault((result.assignment, e.name), []).append(e.score == e.max_score)
    return {column: (sum(scored[column]) / len(scored[column]), len(scored[column]))
            for column in exercise_columns(results) if column in scored}


def ranked_mistakes(results) -> list:
    """[(number of students, NamedMistake)], most frequent first; ties by assignment, exercise, title."""
    counts = Counter(NamedMistake(r.assignment, e.name, title, key)
                     for r in results for e in r.exercises for title, key in dict.fromkeys(e.named_mistakes))
    return sorted(((count, mistake) for mistake, count in counts.items()),
                  key=lambda item: (-item[0], item[1].assignment, item[1].exercise, item[1].title))


def points(value: float) -> str:
    """A score for people to read: at most two decimals, no trailing zeros."""
    return f"{round(value, 2):g}"


def png_image(figure: Figure, alt: str) -> str:
    """An <img> tag holding `figure`, rendered by the Agg canvas, as a base64 PNG data URL."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def score_plot(groups: dict) -> str:
    """A strip plot of total / max of every notebook that ran, one row per assignment, median marked."""
    figure = Figure(figsize=(7.5, 1.2 + 0.6 * len(groups)), layout="constrained")
    ax = figure.add_subplot()
    jitter = np.random.default_rng(0)
    for row, group in enumerate(groups.values()):
        fractions = [r.total / r.max_total if r.max_total else 0.0 for r in ran(group)]
        ax.scatter(fractions, row + jitter.uniform(-0.2, 0.2, len(fractions)), s=20, alpha=0.6, color="tab:blue")
        if fractions:
            ax.plot(np.median(fractions), row, marker="|", markersize=22, markeredgewidth=2, color="black")
    ax.set_yticks(range(len(groups)), list(groups), parse_math=False)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.set_xlim(-0.03, 1.03)
    ax.set_xlabel("total / max of each notebook that ran (black bar: median)")
    ax.grid(axis="x", alpha=0.3)
    return png_image(figure, "score distribution per assignment")


def pass_rate_plot(rates: dict) -> str:
    """Horizontal bars: the fraction of full marks per exercise, labelled with the percentage and count."""
    labels = [f"{a}:{e}" for a, e in rates]
    figure = Figure(figsize=(7.5, 1.0 + 0.28 * len(rates)), layout="constrained")
    ax = figure.add_subplot()
    bars = ax.barh(range(len(rates)), [rate for rate, _ in rates.values()], color="tab:green")
    ax.bar_label(bars, [f" {rate:.0%} of {n}" for rate, n in rates.values()], fontsize="small")
    ax.set_yticks(range(len(rates)), labels, parse_math=False, fontsize="small")
    ax.set_ylim(len(rates) - 0.5, -0.5)
    ax.set_xlim(0, 1.2)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("fraction of the notebooks that ran with full marks")
    return png_image(figure, "pass rate per exercise")


def mistakes_plot(mistakes: list) -> str:
    """Horizontal bars: how many students made each of the most frequent named mistakes."""
    figure = Figure(figsize=(9, 1.0 + 0.35 * len(mistakes)), layout="constrained")
    ax = figure.add_subplot()
    ax.barh(range(len(mistakes)), [count for count, _ in mistakes], color="tab:red")
    ax.set_yticks(range(len(mistakes)), [f"{m.assignment}:{m.exercise} · {m.title}" for _, m in mistakes],
                  parse_math=False, fontsize="small")
    ax.set_ylim(len(mistakes) - 0.5, -0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("students")
    return png_image(figure, "most frequent named mistakes")


def html_table(header: list, rows: list) -> str:
    """A <table> of already-escaped cells; a cell may be a (text, css class) pair."""
    def cell(tag, content):
        text, css = content if isinstance(content, tuple) else (content, "")
        return f'<{tag} class="{css}">{text}</{tag}>' if css else f"<{tag}>{text}</{tag}>"
    lines = ["<table>", "<tr>" + "".join(cell("th", h) for h in header) + "</tr>"]
    lines += ["<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in rows]
    return "\n".join(lines + ["</table>"])


def overview_table(groups: dict) -> str:
    """Per assignment: the number of results by status, mean and median of those that ran, pending manual grades."""
    statuses = list(status_counts([r for group in groups.values() for r in group]))
    rows = []
    for name, group in groups.items():
        counts, totals = status_counts(group), [r.total for r in ran(group)]
        scores = [points(statistics.mean(totals)), points(statistics.median(totals))] if totals else ["", ""]
        rows.append([html.escape(name)] + [str(counts.get(s, 0)) for s in statuses] + scores
                    + [points(max_total(group)), str(pending_manual_grades(group))])
    header = ["assignment"] + [html.escape(s) for s in statuses] + ["mean", "median", "max", "manual grades pending"]
    return html_table(header, rows)


def mistakes_table(mistakes: list) -> str:
    rows = [[str(count), html.escape(m.assignment), html.escape(m.exercise), html.escape(m.title),
             html.escape(m.key)] for count, m in mistakes]
    return html_table(["students", "assignment", "exercise", "mistake", "key"], rows)


def student_table(group: list) -> str:
    """One assignment's scores: a row per student, a column per exercise; lost points highlighted."""
    names = [e for _, e in exercise_columns(group)]
    rows = []
    for result in group:
        scores = {e.name: e for e in result.exercises}
        cells = [exercise_cell(scores.get(name), Status(result.status).ran) for name in names]
        rows.append([html.escape(result.student)] + cells
                    + [f"{points(result.total)}/{points(result.max_total)}", html.escape(result.status)])
    return html_table(["student"] + [html.escape(n) for n in names] + ["total", "status"], rows)


def exercise_cell(exercise, highlight_lost: bool):
    """"score/max", highlighted where a notebook that ran lost points; "manual" while a grade is pending."""
    if exercise is None:
        return ""
    if exercise.score is None:
        return ("manual", "pending")
    text = f"{points(exercise.score)}/{points(exercise.max_score)}"
    return (text, "lost") if highlight_lost and exercise.score < exercise.max_score else text


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Class report</title>
<style>
body {{ font-family: sans-serif; max-width: 64em; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }}
td.lost {{ background: #fde2e2; }}
td.pending {{ background: #fff4d6; }}
img {{ max-width: 100%; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
