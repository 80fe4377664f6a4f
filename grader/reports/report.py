"""The class report of `course grade`: a gradebook CSV, a terminal summary and an HTML page.

Every function takes `results`, a list of grader.reports.scores.SubmissionResult, one per
student x assignment. Means, medians and pass rates count the submissions whose notebook
ran (`Status.ran`: graded, or graded up to a timeout or a dead kernel); the others
(missing or unreadable notebook, not submitted) are counted by status, not averaged in as
zeros. A named mistake is a diagnosis of the form "Title [key]", counted once per student
and exercise. An exercise was attempted when its answer cell differs from the release; pass
rates and mistake shares are of the students who attempted it, so blank work and mistakes
are never confused.
"""
import base64
import csv
import io
import os
import statistics
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from nbgrader.api import Gradebook
from sqlalchemy.engine import make_url

from grader.pipeline.assignments import all_assignments
from grader.pipeline.status import Status
from grader.reports.scores import NAMED_DIAGNOSIS

# `nbgrader export`'s CSV columns, in its order (nbgrader/plugins/export.py, CsvExportPlugin).
NBGRADER_EXPORT_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                           "email", "raw_score", "late_submission_penalty", "score", "max_score")
# Those of them that only the gradebook knows.
GRADEBOOK_COLUMNS = ("duedate", "timestamp", "last_name", "first_name", "email", "late_submission_penalty")
TOP_MISTAKES = 3         # named mistakes shown per exercise
RETEACH_LINES = 5       # exercises per assignment in the terminal summary
NO_RESULTS = "No submissions to report: the list of results is empty."


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
        weakest = [e for e in exercise_summaries(group) if e.pass_rate is not None and e.pass_rate < 1]
        if weakest:
            lines.append("  what to re-teach (lowest pass rate first, among the students who attempted it):")
        for exercise in weakest[:RETEACH_LINES]:
            top = "; ".join(f"{m.title} [{m.key}] {m.count}" for m in exercise.mistakes[:TOP_MISTAKES])
            lines.append(f"    {exercise.name}: {exercise.pass_rate:.0%} of {exercise.attempted} pass"
                         + (f"; {top}" if top else ""))
    return "\n".join(lines)


def write_html(results, path, feedback_folder=None) -> Path:
    """Write one self-contained HTML page: an overview, then one section per assignment with what
    to re-teach, its written answers and a score per student and exercise with the reason for
    every lost point, linked to the student's feedback page when `feedback_folder` holds it.

    The score plot is a PNG drawn with Matplotlib's Agg canvas, embedded as a base64 data URL;
    the template escapes every text taken from the results.
    """
    path = Path(path)
    groups = by_assignment(results)
    notebooks = {a.name: a.notebook for a in all_assignments()}
    sections = [dict(name=name, exercises=exercise_summaries(group), written=written_answers(group),
                     columns=[e for _, e in exercise_columns(group)],
                     students=[student_row(r, _feedback_link(r, notebooks.get(name), path.parent, feedback_folder))
                               for r in group])
                for name, group in groups.items()]
    page = PAGE.render(empty=NO_RESULTS if not results else "", students=len({r.student for r in results}),
                       overview=[overview_row(name, group) for name, group in groups.items()],
                       statuses=list(status_counts(results)), score_plot=score_plot(groups) if results else "",
                       sections=sections, top=TOP_MISTAKES)
    path.write_text(page, encoding="utf-8")
    return path


def write_report(results, folder, db_url=None, feedback_folder=None) -> dict:
    """Write `scores.csv` (with the gradebook's columns when `db_url` is given) and `report.html` in `folder`.

    Returns {"csv": path, "html": path}.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    gradebook_rows = read_gradebook_columns(db_url) if db_url else None
    return {"csv": write_csv(results, folder / "scores.csv", gradebook_rows),
            "html": write_html(results, folder / "report.html", feedback_folder)}


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
    """{(assignment, exercise): (fraction with full marks, number scored)} over the notebooks that
    ran, counting only answers that were attempted and have a score."""
    scored = {}
    for result in ran(results):
        for e in result.exercises:
            if e.score is not None and e.attempted:
                scored.setdefault((result.assignment, e.name), []).append(e.score == e.max_score)
    return {column: (sum(scored[column]) / len(scored[column]), len(scored[column]))
            for column in exercise_columns(results) if column in scored}


@dataclass(frozen=True)
class MistakeCount:
    """A catalogued mistake and how many of the students who attempted the exercise made it."""
    title: str
    key: str
    count: int
    share: float


@dataclass(frozen=True)
class ExerciseSummary:
    """How one function of an assignment went, among the notebooks that ran."""
    name: str
    ran: int                # notebooks that ran
    attempted: int          # of which the answer was changed from the release
    passed: int             # of which full marks
    mistakes: list          # MistakeCount, most frequent first
    unnamed: int            # attempted, lost points, no catalogued mistake named

    @property
    def pass_rate(self):
        return self.passed / self.attempted if self.attempted else None


def exercise_summaries(group: list) -> list:
    """ExerciseSummary of every function of one assignment's results, lowest pass rate first
    (exercises nobody attempted last), ties in notebook order."""
    summaries = []
    for order, (_, name) in enumerate(exercise_columns(group)):
        answers = [e for r in ran(group) for e in r.exercises if e.name == name]
        if not answers or answers[0].written:
            continue
        tried = [e for e in answers if e.attempted and e.score is not None]
        counts = Counter(m for e in tried for m in dict.fromkeys(e.named_mistakes))
        mistakes = [MistakeCount(title, key, n, n / len(tried)) for (title, key), n in
                    sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
        lost = [e for e in tried if e.score < e.max_score]
        summaries.append((order, ExerciseSummary(name, len(answers), len(tried), len(tried) - len(lost), mistakes,
                                                 sum(not e.named_mistakes for e in lost))))
    return [s for _, s in sorted(summaries, key=lambda item: (item[1].pass_rate is None, item[1].pass_rate or 0,
                                                                item[0]))]


def written_answers(group: list) -> list:
    """Per written answer of one assignment, among the notebooks that ran: {name, graded, mean,
    max, pending, blank}; a blank answer (left as released) is neither pending nor failed."""
    rows = []
    for _, name in exercise_columns(group):
        answers = [e for r in ran(group) for e in r.exercises if e.name == name and e.written]
        if answers:
            graded = [e.score for e in answers if e.attempted and e.score is not None]
            rows.append(dict(name=name, graded=len(graded), mean=points(statistics.mean(graded)) if graded else "",
                             max=points(answers[0].max_score),
                             pending=sum(e.attempted and e.score is None for e in answers),
                             blank=sum(not e.attempted for e in answers)))
    return rows


def overview_row(name: str, group: list) -> dict:
    """One assignment's line of the overview: counts by status, mean and median of what ran."""
    totals = [r.total for r in ran(group)]
    return dict(name=name, counts=status_counts(group), mean=points(statistics.mean(totals)) if totals else "",
                median=points(statistics.median(totals)) if totals else "", max=points(max_total(group)),
                pending=pending_manual_grades(group))


def student_row(result, feedback_link: str) -> dict:
    """One student's line of an assignment: per exercise the score and why points were lost."""
    notebook_ran = Status(result.status).ran
    cells = {}
    for e in result.exercises:
        if e.score is None:
            cells[e.name] = dict(text="manual" if e.attempted else "blank", reason="", css="pending")
        else:
            lost = notebook_ran and e.score < e.max_score
            cells[e.name] = dict(text=f"{points(e.score)}/{points(e.max_score)}", css="lost" if lost else "",
                                 reason=_short(e.reason) if lost else "", title=e.reason if lost else "")
    return dict(student=result.student, link=feedback_link, cells=cells, status=result.status,
                total=f"{points(result.total)}/{points(result.max_total)}")


def _short(reason: str) -> str:
    """A reason that fits in a table cell: a named mistake by its key, anything else cut short."""
    named = NAMED_DIAGNOSIS.match(reason)
    return f"[{named['key']}]" if named else textwrap.shorten(reason, width=28, placeholder="…")


def _feedback_link(result, notebook, page_folder: Path, feedback_folder) -> str:
    """The student's feedback page for this assignment's `notebook`, relative to the report, if it exists."""
    if feedback_folder is None or notebook is None:
        return ""
    page = Path(feedback_folder, result.student, result.assignment, notebook).with_suffix(".html")
    if not page.is_file():
        return ""
    return "/".join(quote(part) for part in Path(os.path.relpath(page, page_folder)).parts)


def points(value: float) -> str:
    """A score for people to read: at most two decimals, no trailing zeros."""
    return f"{round(value, 2):g}"


def png_image(figure: Figure, alt: str) -> dict:
    """{alt, src}: `figure` rendered by the Agg canvas, as a base64 PNG data URL."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return dict(alt=alt, src="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))


def score_plot(groups: dict) -> dict:
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


PAGE = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
section.assignment { border-top: 2px solid #bbb; margin-top: 2rem; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
td.lost { background: #fde2e2; }
td.pending { background: #fff4d6; }
td.rate { white-space: nowrap; }
small { display: block; color: #6b1f1f; white-space: nowrap; }
.bar { display: inline-block; height: 0.8em; background: #2e8b57; vertical-align: middle; }
.track { display: inline-block; width: 6em; background: #e6e6e6; margin-right: 0.4em; }
ul.mistakes { margin: 0; padding-left: 1.1em; }
img { max-width: 100%; }
</style>
</head>
<body>
<h1>Class report</h1>
{% if empty %}
<p>{{ empty }}</p>
{% else %}
<p>{{ students }} students, {{ overview|length }} assignments. Means, medians and pass rates count the notebooks
that ran (graded, timed out, kernel died); a pending manual grade counts 0 in a total. A pass rate is the share of
the students who attempted an exercise (changed its answer cell) that got full marks.</p>
<h2>Submissions</h2>
<div class="wide"><table>
<tr><th>assignment</th>{% for s in statuses %}<th>{{ s }}</th>{% endfor %}<th>mean</th><th>median</th><th>max</th><th>manual grades pending</th></tr>
{% for row in overview %}
<tr><td><a href="#{{ row.name }}">{{ row.name }}</a></td>{% for s in statuses %}<td>{{ row.counts.get(s, 0) }}</td>{% endfor %}<td>{{ row.mean }}</td><td>{{ row.median }}</td><td>{{ row.max }}</td><td>{{ row.pending }}</td></tr>
{% endfor %}
</table></div>
<h2>Score distribution</h2>
<img alt="{{ score_plot.alt }}" src="{{ score_plot.src }}">
{% for a in sections %}
<section class="assignment" id="{{ a.name }}">
<h2>{{ a.name }}</h2>
<h3>What to re-teach</h3>
{% if a.exercises %}
<div class="wide"><table>
<tr><th>exercise</th><th>pass rate</th><th>attempted</th><th>most frequent named mistakes (share of those who attempted)</th></tr>
{% for e in a.exercises %}
<tr><td>{{ e.name }}</td>
<td class="rate">{% if e.pass_rate is not none %}<span class="track"><span class="bar" style="width: {{ '%.0f' % (100 * e.pass_rate) }}%"></span></span>{{ '%.0f' % (100 * e.pass_rate) }}%{% else %}nobody attempted it{% endif %}</td>
<td>{{ e.attempted }} of {{ e.ran }}</td>
<td><ul class="mistakes">
{% for m in e.mistakes[:top] %}<li>{{ m.title }} [{{ m.key }}]: {{ m.count }} ({{ '%.0f' % (100 * m.share) }}%)</li>{% endfor %}
{% if e.unnamed %}<li>lost points without a named mistake: {{ e.unnamed }}</li>{% endif %}
</ul></td></tr>
{% endfor %}
</table></div>
{% else %}
<p>No notebook of this assignment ran.</p>
{% endif %}
{% if a.written %}
<h3>Written answers</h3>
<table>
<tr><th>answer</th><th>graded</th><th>mean of those graded</th><th>max</th><th>waiting for a grade</th><th>left blank</th></tr>
{% for w in a.written %}
<tr><td>{{ w.name }}</td><td>{{ w.graded }}</td><td>{{ w.mean }}</td><td>{{ w.max }}</td><td>{{ w.pending }}</td><td>{{ w.blank }}</td></tr>
{% endfor %}
</table>
{% endif %}
<h3>Scores per student</h3>
<div class="wide"><table>
<tr><th>student</th>{% for c in a.columns %}<th>{{ c }}</th>{% endfor %}<th>total</th><th>status</th></tr>
{% for row in a.students %}
<tr><td>{% if row.link %}<a href="{{ row.link }}">{{ row.student }}</a>{% else %}{{ row.student }}{% endif %}</td>
{% for c in a.columns %}{% set cell = row.cells.get(c) %}{% if cell %}<td{% if cell.css %} class="{{ cell.css }}"{% endif %}{% if cell.title %} title="{{ cell.title }}"{% endif %}>{{ cell.text }}{% if cell.reason %}<small>{{ cell.reason }}</small>{% endif %}</td>{% else %}<td></td>{% endif %}{% endfor %}
<td>{{ row.total }}</td><td>{{ row.status }}</td></tr>
{% endfor %}
</table></div>
</section>
{% endfor %}
{% endif %}
</body>
</html>
""")
