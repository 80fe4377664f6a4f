"""Build a class of submissions from the release: complete, blank, mistaken and broken ones.

Submissions are release notebooks with their answer cells filled in, laid out as nbgrader
expects: submitted/<student>/<assignment>/<notebook>. The demo and the tests grade them.
"""
import importlib
import inspect
import re
import shutil

import nbformat

SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def solution_answers(source_path) -> dict:
    """grade_id -> the answer a perfect student writes, from the source notebook."""
    notebook = nbformat.read(source_path, as_version=4)
    return {cell.metadata.nbgrader["grade_id"]: SOLUTION_MARKERS.sub("", cell.source)
            for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def mistake_answers(topic: str, slot: int) -> dict:
    """grade_id -> source of the slot-th catalogued mistake of each function (where there is one)."""
    catalogue = importlib.import_module(f"grader.mistakes.{topic}").MISTAKES
    return {name: source_as(mistakes[slot].implementation, name)
            for name, mistakes in catalogue.items() if slot < len(mistakes)}


def mistake_slots(topic: str) -> int:
    """How many mistaken students it takes to submit every catalogued mistake once."""
    catalogue = importlib.import_module(f"grader.mistakes.{topic}").MISTAKES
    return max(len(m) for m in catalogue.values())


def source_as(fn, name: str) -> str:
    """The source of `fn` with its name changed to `name`, as a student would write it."""
    return re.sub(r"^def \w+\(", f"def {name}(", inspect.getsource(fn), count=1)


def fill(release_path, answers: dict, out_path) -> None:
    """Write the release notebook with the answer cells named in `answers` replaced."""
    notebook = nbformat.read(release_path, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out_path)


def first_function(answers: dict) -> str:
    """The grade_id of the first answer cell that defines a function."""
    return next(k for k, v in answers.items() if v.lstrip().startswith("def "))


def broken_answers(answers: dict, how: str) -> dict:
    """The complete answers with the first graded function broken in the way named by `how`."""
    first = first_function(answers)
    signature = answers[first].split(":\n", 1)[0]
    body = {"raises": "    raise ValueError('I gave up on this one')\n",
            "loops": "    while True:\n        pass\n"}[how]
    return {**answers, first: f"{signature}:\n{body}"}


def build_submissions(course, assignment, roster: dict) -> None:
    """Write submitted/<student>/<assignment>/ for each student in `roster` (student -> kind).

    Kinds: "complete", "blank", "mistakes-<k>" (the k-th catalogued mistake of every function,
    1-based), "raises" and "loops" (one function broken), "missing" (no notebook at all).
    """
    release = course.path("release", assignment.name, assignment.notebook)
    complete = solution_answers(assignment.source)
    for student, kind in roster.items():
        folder = course.path("submitted", student, assignment.name)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        target = folder / assignment.notebook
        if kind == "missing":
            continue
        if kind == "blank":
            shutil.copyfile(release, target)
        elif kind == "complete":
            fill(release, complete, target)
        elif kind.startswith("mistakes-"):
            slot = int(kind.split("-")[1]) - 1
            fill(release, {**complete, **mistake_answers(assignment.topic, slot)}, target)
        else:
            fill(release, broken_answers(complete, kind), target)
