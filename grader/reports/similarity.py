"""Similarity between the students' answers to one assignment: pairs ranked for a person to look at.

An answer is the source of a cell whose nbgrader metadata has `solution: true`, keyed by its
`grade_id` (one exercise). Each answer is fingerprinted with copydetect's winnowing (k-grams of
the code after Pygments has replaced every name by V, every string by S and dropped comments and
spaces, so renaming variables or rewording comments does not hide shared code; written answers,
markdown cells, are compared as raw text). The fingerprints of the release's own cell (signature,
docstring, `# YOUR CODE HERE`) are removed first: the code the release gives is never similarity,
and a blank answer has no fingerprint at all.

Per exercise, each student of a pair has `covered` characters of fingerprinted text and `shared`
of them also fingerprinted in the other's answer. A pair's score is the sum of `shared` over
the sum of `covered`, both students and every exercise together, in [0, 1]: the fraction of what
the two wrote that they share. It ranks pairs; it proves nothing.
"""
import io
import json
import stat
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import jinja2
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.defaults import GUARANTEE_THRESHOLD, NOISE_THRESHOLD

from grader.reports.scores import printable

MAX_NOTEBOOK_BYTES = 20_000_000     # larger submissions are skipped, not read
MAX_ANSWER_CHARS = 100_000          # a notebook with a longer answer cell is skipped
WINDOW = GUARANTEE_THRESHOLD - NOISE_THRESHOLD + 1   # copydetect's own window for its thresholds


class UnreadableNotebook(ValueError):
    """A submission that cannot be compared; the message says why."""


@dataclass(frozen=True)
class Answer:
    source: str
    markdown: bool      # a written answer, compared as raw text


@dataclass(frozen=True)
class ExerciseMatch:
    """One exercise of a pair: its score, the characters shared (both answers together), and each
    answer as [(text, kind)] segments in order, kind "shared", "given" (a line of the release's
    cell) or "" (the student's own)."""
    exercise: str
    score: float
    shared: float
    left: list
    right: list


@dataclass(frozen=True)
class PairSimilarity:
    """Two students (sorted), their score, and the exercises they share text in, most shared first."""
    students: tuple
    score: float
    exercises: list = field(default_factory=list)


def read_answers(path) -> dict:
    """{grade_id: Answer} of a notebook's answer cells (the first cell of each grade_id).

    The notebook is parsed as plain JSON and checked cell by cell, so that anything a student can
    write into the file raises UnreadableNotebook, saying why, rather than another error.
    """
    path = Path(path)
    try:
        status = path.lstat()
    except OSError as error:
        raise UnreadableNotebook(f"not a readable notebook ({type(error).__name__})") from None
    if not stat.S_ISREG(status.st_mode):
        raise UnreadableNotebook("a link or special file, not read")
    if status.st_size > MAX_NOTEBOOK_BYTES:
        raise UnreadableNotebook(f"larger than {MAX_NOTEBOOK_BYTES:,} bytes")
    try:
        notebook = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UnreadableNotebook(f"not a readable notebook ({type(error).__name__})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise UnreadableNotebook("not a notebook: no list of cells")
    answers = {}
    for cell in cells:
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
        if not isinstance(nbgrader, dict) or nbgrader.get("solution") is not True:
            continue
        grade_id, source = nbgrader.get("grade_id"), cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(grade_id, str) or not isinstance(source, str):
            raise UnreadableNotebook("an answer cell without a text grade_id and source")
        if len(source) > MAX_ANSWER_CHARS:
            raise UnreadableNotebook(f"answer {grade_id!r} is longer than {MAX_ANSWER_CHARS} characters")
        answers.setdefault(grade_id, Answer(source, cell.get("cell_type") == "markdown"))
    return answers


def class_answers(course, assignment) -> tuple:
    """Every submission of `assignment` in the class folder `course` (a CourseDir), read.

    Returns ({student: {grade_id: Answer}}, [(path relative to the class folder, reason)] of
    the submissions skipped: links and special files are never read, as `course grade` refuses
    them); a student folder without the notebook is left out silently.
    """
    answers, skipped = {}, []
    for path in sorted(course.path("submitted").glob(f"*/{assignment.name}/{assignment.notebook}")):
        try:
            if path.parent.is_symlink() or path.parent.parent.is_symlink():
                raise UnreadableNotebook("in a linked folder, not read")
            answers[path.parts[-3]] = read_answers(path)
        except UnreadableNotebook as why:
            skipped.append((str(path.relative_to(course.root)), str(why)))
    return answers, skipped


def fingerprint(answer: Answer, given=()) -> CodeFingerprint:
    """copydetect's fingerprint of an answer, without the k-gram hashes in `given`."""
    return CodeFingerprint("answer", k=NOISE_THRESHOLD, win_size=WINDOW, boilerplate=np.asarray(list(given)),
                           filter=not answer.markdown, language="python", fp=io.StringIO(answer.source))


def given_hashes(answer: Answer) -> set:
    """Every k-gram hash of the release's cell (window 1, as copydetect takes boilerplate)."""
    return CodeFingerprint("release", k=NOISE_THRESHOLD, win_size=1, filter=not answer.markdown,
                           language="python", fp=io.StringIO(answer.source)).hashes


def rank_pairs(release: dict, submissions: dict) -> list:
    """Every pair of students sharing text, as PairSimilarity, highest score first (ties by name).

    release: {grade_id: Answer} of the release notebook, whose exercises are compared, in its
    order; submissions: {student: {grade_id: Answer}}. An exercise a student left out counts as blank.
    """
    prints, given_lines = {}, {}
    for exercise, given in release.items():
        given_lines[exercise] = {line.strip() for line in given.source.splitlines()} - {""}
        given = given_hashes(given)
        prints[exercise] = {student: fingerprint(answers[exercise], given)
                            for student, answers in submissions.items() if exercise in answers}
    pairs = []
    for a, b in combinations(sorted(submissions), 2):
        shared = covered = 0.0
        matches = []
        for exercise, by_student in prints.items():
            if a not in by_student or b not in by_student:
                continue
            one, two = by_student[a], by_student[b]
            size = one.token_coverage + two.token_coverage
            if not one.token_coverage or not two.token_coverage:
                covered += size
                continue
            _, (similar_one, similar_two), (slices_one, slices_two) = compare_files(one, two)
            overlap = similar_one * one.token_coverage + similar_two * two.token_coverage
            shared, covered = shared + overlap, covered + size
            if overlap:
                lines = given_lines[exercise]
                matches.append(ExerciseMatch(exercise, float(min(1.0, overlap / size)), float(overlap),
                                             segments(one.raw_code, slices_one, lines),
                                             segments(two.raw_code, slices_two, lines)))
        if shared:
            pairs.append(PairSimilarity((a, b), float(min(1.0, shared / covered)),
                                        sorted(matches, key=lambda m: -m.shared)))
    return sorted(pairs, key=lambda p: (-p.score, p.students))


def summary(pairs: list, top: int) -> str:
    """The `top` pairs, one line each: rank, score, students, the three exercises sharing most text."""
    if not pairs:
        return "No two submissions share any text beyond the release."
    names = [printable(" ~ ".join(p.students)) for p in pairs[:top]]
    width = max(map(len, names))
    lines = [f"{'rank':>4}  {'score':>5}  {'students':<{width}}  exercises (score)"]
    for rank, (pair, name) in enumerate(zip(pairs, names), 1):
        drivers = ", ".join(f"{printable(m.exercise)} {m.score:.2f}" for m in pair.exercises[:3])
        lines.append(f"{rank:>4}  {pair.score:>5.2f}  {name:<{width}}  {drivers}")
    return "\n".join(lines)


KINDS = ("", "shared", "given")


def segments(text: str, slices, given_lines=frozenset()) -> list:
    """`text` cut into [(piece, kind)]: "shared" in copydetect's slices (2 x N starts, ends), "given"
    on a line whose stripped text is in `given_lines` (the release's, which copydetect's
    normalised slices can reach into), "" elsewhere."""
    kind = np.zeros(len(text), dtype=int)
    for start, end in np.asarray(slices, dtype=int).reshape(2, -1).T:
        kind[max(0, start):max(0, end)] = 1
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.strip() in given_lines:
            kind[offset:offset + len(line)] = 2
        offset += len(line)
    cuts = [0, *np.flatnonzero(np.diff(kind)) + 1, len(text)]
    return [(text[i:j], KINDS[kind[i]]) for i, j in zip(cuts, cuts[1:]) if j > i]


PAGE = jinja2.Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Similar answers: {{ assignment }}</title>
<style>
body { font-family: sans-serif; max-width: 90em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
td, th { border: 1px solid #ccc; padding: 0.3em; vertical-align: top; text-align: left; }
pre { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 0.85em; }
mark { background: #ffe08a; }
.given { color: #999; }
</style>
</head>
<body>
<h1>Similar answers: {{ assignment }}</h1>
<p>The {{ pairs|length }} most similar pairs of {{ students }} submissions, compared exercise by exercise
with copydetect's winnowing fingerprints; the code the release gives is ignored (in grey). Highlighted:
text found in both answers (names, strings and comments do not count). Similar answers to a short
exercise are expected. A high score is a reason to look at the two answers and to talk to the students,
not evidence of copying.</p>
{% if skipped %}<p>Not compared:</p>
<ul>{% for name, why in skipped %}<li>{{ name }}: {{ why }}</li>{% endfor %}</ul>{% endif %}
{% if not pairs %}<p>No two submissions share any text beyond the release.</p>{% endif %}
{% for pair in pairs %}
<h2>{{ loop.index }}. {{ pair.students[0] }} and {{ pair.students[1] }}: {{ "%.2f"|format(pair.score) }}</h2>
<table>
<tr><th style="width: 12em">exercise</th><th>{{ pair.students[0] }}</th><th>{{ pair.students[1] }}</th></tr>
{% for match in pair.exercises %}
<tr><td>{{ match.exercise }}<br>{{ "%.2f"|format(match.score) }}</td>
{% for side in (match.left, match.right) %}<td><pre>
{%- for text, kind in side -%}
{%- if kind == "shared" %}<mark>{{ text }}</mark>
{%- elif kind == "given" %}<span class="given">{{ text }}</span>
{%- else %}{{ text }}{% endif -%}
{%- endfor -%}
</pre></td>{% endfor %}
</tr>
{% endfor %}
</table>
{% endfor %}
</body>
</html>
""")


def write_html(path, assignment: str, pairs: list, students: int, skipped=()) -> Path:
    """Write the page: each pair side by side, shared text highlighted, every piece of text escaped.

    skipped: [(name, reason)] of the submissions not compared.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PAGE.render(assignment=assignment, pairs=pairs, students=students, skipped=list(skipped)),
                    encoding="utf-8")
    return path
