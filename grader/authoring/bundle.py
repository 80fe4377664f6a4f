"""`course bundle`: the one archive an instructor hands to students, and nothing of the grader.

The archive holds the release notebooks (nbgrader's output: no solutions, no hidden tests),
a wheel of `course_lib` (what the notebooks import, never an answer) and a README. Every file,
the wheel's own files included, is checked before the archive is written (`leaks`).
"""
import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

import nbformat

from grader.pipeline.assignments import RELEASE, REPO

ARCHIVE = "how-deep-networks-learn-student.zip"
COURSE = "how-deep-networks-learn"              # this repository's distribution
DISTRIBUTION = "how-deep-networks-learn-student"
STUDENT_NEEDS = ("numpy", "matplotlib", "ipykernel", "jupyterlab")
TRUSTED_FOLDERS = ("grader", "solutions")
MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
GRADER_IMPORT = re.compile(r"^\s*(import|from)\s+grader\b")


class BundleRefused(Exception):
    """The bundle would hand students something of the grader, or cannot be built."""


def student_requirements() -> list:
    """The course's requirements that students need, with the ranges of pyproject.toml."""
    found = []
    for requirement in metadata.requires(COURSE):
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement)[0]
        if name in STUDENT_NEEDS and ";" not in requirement:
            found.append(requirement)
    return found


def student_pyproject() -> str:
    """The build description of the student wheel: course_lib and its stored values only."""
    dependencies = ", ".join(f'"{r}"' for r in student_requirements())
    return f"""[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "{DISTRIBUTION}"
version = "{metadata.version(COURSE)}"
description = "The student library of the course How deep networks learn."
requires-python = ">=3.10"
dependencies = [{dependencies}]

[tool.setuptools.packages.find]
include = ["course_lib*"]

[tool.setuptools.package-data]
course_lib = ["fixtures/*.json"]
"""


def build_wheel(into: Path) -> Path:
    """Build the student wheel from a copy of course_lib alone; returns the wheel's path."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp)
        shutil.copytree(REPO / "course_lib", source / "course_lib",
                        ignore=shutil.ignore_patterns("__pycache__", ".*"))
        (source / "pyproject.toml").write_text(student_pyproject(), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                               "--wheel-dir", str(into), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BundleRefused(f"building the wheel of course_lib failed:\n{done.stdout}{done.stderr}")
    return next(into.glob("*.whl"))


def release_files(assignments) -> dict:
    """archive path -> content of every file in the chosen release folders (hidden files left out)."""
    files = {}
    for assignment in assignments:
        folder = RELEASE / assignment.name
        if not (folder / assignment.notebook).is_file():
            raise BundleRefused(f"{folder / assignment.notebook} is missing: run `course release {assignment.name}`.")
        for path in sorted(folder.rglob("*")):
            inside = path.relative_to(folder).parts
            if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in inside):
                files[path.relative_to(RELEASE.parent).as_posix()] = path.read_bytes()
    return files


def readme(wheel: str, assignments) -> str:
    """The students' instructions: install the wheel, open the notebooks."""
    listed = "\n".join(f"    notebooks/{a.name}/{a.notebook}" for a in assignments)
    return f"""How deep networks learn: the student notebooks

1. Install the course library (Python 3.10 or newer; a virtual environment is best):

    pip install {wheel}

   It installs course_lib, which the notebooks import, with NumPy, Matplotlib and JupyterLab.

2. In the folder where you unpacked this archive, open the notebooks:

    jupyter lab notebooks

   Take them in order:
{listed}
   In each, fill the cells marked YOUR CODE HERE and run the check cell below each one.
   To check every exercise of a notebook at once, run this in a cell of it:
    from course_lib.selfcheck import check_all; check_all(globals())

3. Hand in each notebook file as your instructor asks.
"""


def text_lines(name: str, data: bytes) -> list:
    """The lines of a text file; of a notebook, the lines of its cells."""
    text = data.decode("utf-8", errors="replace")
    if name.endswith(".ipynb"):
        text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
    return text.splitlines()


def leaks(name: str, data: bytes) -> list:
    """What in the file `name` belongs to the grader (empty when nothing); a wheel is opened."""
    found = []
    if any(part in TRUSTED_FOLDERS for part in PurePosixPath(name).parts):
        found.append(f"{name}: a path under grader/ or solutions/")
    if name.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            return found + [f"{name} > {leak}" for inner in wheel.namelist() for leak in leaks(inner, wheel.read(inner))]
    for number, line in enumerate(text_lines(name, data), 1):
        if line.lstrip().startswith(MARKERS) or GRADER_IMPORT.match(line):
            found.append(f"{name}, line {number}: {line.strip()}")
    return found


def build_bundle(out: Path, assignments) -> Path:
    """Write out/how-deep-networks-learn-student.zip for `assignments`; returns its path.

    Raises BundleRefused, and writes nothing, when any file to pack belongs to the grader.
    """
    files = release_files(assignments)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        files[wheel.name] = wheel.read_bytes()
    files["README.txt"] = readme(wheel.name, assignments).encode("utf-8")
    found = [leak for name, data in files.items() for leak in leaks(name, data)]
    if found:
        raise BundleRefused("refusing to write the student bundle: these files hold the grader's solutions, "
                            "hidden tests or code:\n  " + "\n  ".join(found))
    out.mkdir(parents=True, exist_ok=True)
    archive = out / ARCHIVE
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return archive
