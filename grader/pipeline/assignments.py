"""The course's assignments, found by convention in `solutions/NN_<topic>/<topic>.ipynb`.

Every assignment is organised the same way: the topic names its lesson notebook and its
modules in course_lib/checks, grader/reference, grader/hidden and grader/mistakes.
"""
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"
NAME = re.compile(r"^\d\d_(?P<topic>[a-z_]+)$")


@dataclass(frozen=True)
class Assignment:
    name: str       # e.g. "01_gradient_descent"
    topic: str      # e.g. "gradient_descent"

    @property
    def notebook(self) -> str:
        return f"{self.topic}.ipynb"

    @property
    def source(self) -> Path:
        return SOLUTIONS / self.name / self.notebook


def all_assignments() -> list:
    """Every assignment in solutions/, in course order."""
    found = []
    for folder in sorted(SOLUTIONS.iterdir()):
        match = NAME.match(folder.name)
        if match and (folder / f"{match['topic']}.ipynb").exists():
            found.append(Assignment(folder.name, match["topic"]))
    return found


def select(names) -> list:
    """The assignments named (all when `names` is empty); unknown names are an error."""
    known = {a.name: a for a in all_assignments()}
    unknown = [n for n in names or () if n not in known]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names] if names else list(known.values())
