"""Build a class of submissions from the release: complete, blank, mistaken and broken ones.

Submissions are release notebooks with their answer cells filled in, laid out as nbgrader
expects: submitted/<student>/<assignment>/<notebook>. The demo and the tests grade them.
"""
import importlib
import inspect
import re
import shutil

import nbformat

from grader.mistakes import catalogue

SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def solution_answers(source_path) -> dict:
    """grade_id -> the answer a perfect student writes, from the source notebook."""
    notebook = nbformat.read(source_path, as_version=4)
    return {cell.metadata.nbgrader["grade_id"]: SOLUTION_MARKERS.sub("", cell.source)
            for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def builds_on(topic: str) -> dict:
    """function -> every graded function it builds on, directly or not.

    Declared as DEPENDS in grader.hidden.<topic> (for example, a backward pass is checked on
    the cache of the student's own forward pass); absent means the functions are independent.
    """
    direct = getattr(importlib.import_module(f"grader.hidden.{topic}"), "DEPENDS", {})

    def closure(name):
        found = set()
        for dep in direct.get(name, ()):
            found |= {dep} | closure(dep)
        return found

    return {name: closure(name) for name in catalogue(topic)}


def mistake_plans(topic: str) -> list:
    """One {function: Mistake} per mistaken student, so that every catalogued mistake appears once.

    A function receives a mistake only in a submission where everything it builds on is right,
    so each mistake is graded (and must be named) on its own.
    """
    pending = {name: list(mistakes) for name, mistakes in catalogue(topic).items()}
    deps = builds_on(topic)
    plans = []
    while any(pending.values()):
        plan = {}
        for name, mistakes in pending.items():
            if mistakes and not deps[name] & plan.keys() and not any(name in deps[other] for other in plan):
                plan[name] = mistakes.pop(0)
        plans.append(plan)
    return plans


def mistake_answers(topic: str, slot: int) -> dict:
    """grade_id -> source of each mistake of the slot-th plan (0-based)."""
    return {name: source_as(mistake.implementation, name) for name, mistake in mistake_plans(topic)[slot].items()}


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

    Kinds: "complete", "blank", "mistakes-<k>" (the k-th of `mistake_plans`, 1-based), "raises" and "loops" (one function broken), "missing" (no notebook at all).
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
