"""Feedback students receive: per exercise the score, what the checks said and the named mistake.

Unlike nbgrader's `generate_feedback`, which renders the graded notebook and with it the
hidden test code, this page is built from the scores and the checks' printed messages only:
no cell source, no traceback, no reference. It is written where nbgrader's would be,
`feedback/<student>/<assignment>/<notebook>.html`, so `nbgrader release_feedback` hands it out.
"""
import shutil

import jinja2

from course_lib.checking import MISTAKE_BLOCK
from grader.mistakes import catalogue
from grader.pipeline.assignments import all_assignments

PAGE = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback on {{ assignment }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
section { border-top: 1px solid #ddd; padding: .6rem 0; }
h2 { font-size: 1.05rem; margin: .3rem 0; }
.score { float: right; font-weight: 600; }
.full { color: #17692f; } .partial { color: #8a5a00; } .none { color: #a61b1b; }
pre { background: #f6f6f6; padding: .5rem; white-space: pre-wrap; font-size: .85rem; }
.mistake { background: #fff4e0; padding: .3rem .5rem; }
</style></head><body>
<h1>Feedback on {{ assignment }}</h1>
<p>Student: <b>{{ student }}</b> · Total: <b>{{ total }}</b>{% if pending %} (written answers not graded yet){% endif %}
 · Status: {{ status }}</p>
{% for e in exercises %}
<section><h2>{{ e.name }}<span class="score {{ e.grade }}">{{ e.score }}</span></h2>
{% if not e.attempted %}<p>Not attempted: the answer is as it was handed out.</p>{% endif %}
{% for mistake in e.named %}
<p class="mistake">Named mistake: {{ mistake.name }}{% if mistake.hint %}<br>{{ mistake.hint }}{% endif %}</p>
{% endfor %}
{% for message in e.messages %}<pre>{{ message }}</pre>{% endfor %}
{% if e.comment %}<p>Grader's comment: {{ e.comment }}</p>{% endif %}
</section>
{% endfor %}
</body></html>
""")


def render(result) -> str:
    """The feedback page of one SubmissionResult."""
    exercises = []
    for exercise in result.exercises:
        named, hints = exercise.named_mistakes, _hints(result.assignment, exercise.name)
        exercises.append(dict(name=exercise.name, grade=_grade_class(exercise), score=_score(exercise),
                              attempted=exercise.attempted, comment=exercise.comment,
                              named=[dict(name=f"{title} [{key}]", hint=hints.get((title, key), ""))
                                     for title, key in named],
                              messages=_without(named, exercise.messages)))
    return PAGE.render(assignment=result.assignment, student=result.student, exercises=exercises,
                       total=f"{result.total:g} / {result.max_total:g}",
                       pending=any(e.score is None for e in result.exercises),
                       status=result.status + (f" ({result.detail})" if result.detail else ""))


def write(course, assignment, result) -> None:
    """Write the page (and the submission's timestamp, which release_feedback reads)."""
    folder = course.path("feedback", result.student, assignment.name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / assignment.notebook.replace(".ipynb", ".html")).write_text(render(result))
    timestamp = course.path("autograded", result.student, assignment.name, "timestamp.txt")
    if timestamp.exists():
        shutil.copyfile(timestamp, folder / "timestamp.txt")


def _hints(assignment_name: str, function: str) -> dict:
    """(title, key) -> hint of the catalogued mistakes of the assignment, the function's own first
    (a key such as global_rng has a hint per function)."""
    topic = next((a.topic for a in all_assignments() if a.name == assignment_name), None)
    if topic is None:
        return {}
    mistakes = catalogue(topic)
    ordered = [*mistakes.get(function, []), *(m for ms in mistakes.values() for m in ms)]
    return {(m.title, m.key): m.hint for m in reversed(ordered)}


def _without(named, messages) -> list:
    """The checks' messages without the blocks naming a mistake of `named`, which the page shows once,
    above them, with its hint."""
    def cut(block):
        return "" if (block["title"], block["key"]) in named else block[0]
    return [text for text in (MISTAKE_BLOCK.sub(cut, m).strip() for m in messages) if text]


def _score(exercise) -> str:
    if exercise.score is None:
        return f"to be graded by hand / {exercise.max_score:g}"
    return f"{exercise.score:g} / {exercise.max_score:g}"


def _grade_class(exercise) -> str:
    if exercise.score is None:
        return ""
    return "full" if exercise.score >= exercise.max_score else "partial" if exercise.score > 0 else "none"
