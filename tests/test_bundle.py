"""`course bundle`: the students' archive holds the release and a working course_lib wheel, and nothing of the grader."""
import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENTS, course_command
from grader.authoring import bundle as bundle_module
from grader.pipeline.assignments import RELEASE, REPO

MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS")
GRADER_IMPORT = re.compile(r"^\s*(import|from)\s+grader\b", re.M)
WORKS_ALONE = """
import site, sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path[:] = [{target!r}] + [p for p in sys.path if p.startswith(sys.base_prefix) or p in site.getsitepackages()]
import course_lib, course_lib.checks.gradient_descent as checks
from course_lib.checking import CheckFailed
assert course_lib.__file__.startswith({target!r}), course_lib.__file__
checks.check_gd_step(lambda w, grad, lr: w - lr * grad)
try:
    checks.check_gd_step(lambda w, grad, lr: w + lr * grad)
except CheckFailed:
    pass
else:
    raise AssertionError("the visible check passed a step uphill")
try:
    import grader
except ModuleNotFoundError:
    print("works alone")
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The archive written by the real `course bundle` command."""
    out = tmp_path_factory.mktemp("bundle")
    printed = course_command("bundle", "--out", out)
    path = out / bundle_module.ARCHIVE
    assert str(path) in printed
    return path


@pytest.fixture(scope="module")
def members(archive) -> dict:
    """name -> content of every file in the archive and, as `<wheel>/<name>`, in the wheel it holds."""
    found = {}
    with zipfile.ZipFile(archive) as outer:
        for name in outer.namelist():
            found[name] = outer.read(name)
            if name.endswith(".whl"):
                with zipfile.ZipFile(io.BytesIO(found[name])) as wheel:
                    found.update({f"{name}/{inner}": wheel.read(inner) for inner in wheel.namelist()})
    return found


def wheel_name(members) -> str:
    (name,) = [name for name in members if name.endswith(".whl")]
    return name


def files(members) -> dict:
    """Every file but the wheel, whose own files stand for it."""
    return {name: data for name, data in members.items() if not name.endswith(".whl")}


def text_of(name: str, data: bytes) -> str:
    """What a reader sees in a file: a notebook's cell sources, else the text."""
    text = data.decode("utf-8")
    if name.endswith(".ipynb"):
        return "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
    return text


def function_bodies() -> list:
    """(function, body without docstring or whitespace) of every function in grader/reference and grader/mistakes."""
    found = []
    for path in sorted([*REPO.glob("grader/reference/*.py"), *REPO.glob("grader/mistakes/*.py")]):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                text = "".join(ast.get_source_segment(source, statement) for statement in body)
                found.append((f"{path.relative_to(REPO)}:{node.name}", re.sub(r"\s+", "", text)))
    return found


def test_it_holds_every_release_notebook_the_wheel_and_a_readme(members):
    wheel = wheel_name(members)
    for assignment in ASSIGNMENTS:
        release = RELEASE / assignment.name / assignment.notebook
        assert members[f"notebooks/{assignment.name}/{assignment.notebook}"] == release.read_bytes()
    assert {name.split("/")[0] for name in members if not name.startswith(f"{wheel}/")} == {
        "notebooks", wheel, "README.txt"}
    assert f"pip install {wheel}" in members["README.txt"].decode()
    assert "jupyter lab notebooks" in members["README.txt"].decode()
    assert {name.split("/")[1] for name in members if name.startswith(f"{wheel}/")} == {
        "course_lib", re.sub(r"-py3-none-any\.whl$", ".dist-info", wheel)}
    for topic in {a.topic for a in ASSIGNMENTS}:
        assert f"{wheel}/course_lib/fixtures/{topic}.json" in members


def test_no_path_is_under_grader_or_solutions(members):
    for name in members:
        assert not re.search(r"(^|/)(grader|solutions)/", name), name


def test_nothing_holds_a_solution_a_hidden_test_or_a_grader_import(members):
    for name, data in files(members).items():
        if name.endswith(".py"):  # a marker in Python is a comment; course_lib.selfcheck names it in a string
            comments = [t.string for t in tokenize.tokenize(io.BytesIO(data).readline) if t.type == tokenize.COMMENT]
            assert not [c for c in comments if any(marker in c for marker in MARKERS)], name
        else:
            assert not [marker for marker in MARKERS if marker in data.decode("utf-8")], name
        assert not GRADER_IMPORT.search(text_of(name, data)), name


def test_no_reference_or_mistake_code_is_packed(members):
    texts = {name: re.sub(r"\s+", "", text_of(name, data)) for name, data in files(members).items()}
    bodies = function_bodies()
    assert len(bodies) > 50
    for function, body in bodies:
        assert not [name for name, text in texts.items() if body in text], function


def test_the_wheel_installs_and_works_without_the_repository(members, tmp_path):
    wheel = tmp_path / wheel_name(members)
    wheel.write_bytes(members[wheel.name])
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-I", "-c", WORKS_ALONE.format(target=str(target))],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.splitlines()[-1:] == ["works alone"], done.stdout + done.stderr


def planted_notebook(cell: str) -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])).encode()


def wheel_holding(name: str) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as wheel:
        wheel.writestr(name, "")
    return data.getvalue()


@pytest.mark.parametrize("name, data", [
    ("notebooks/01_gradient_descent/grader/reference.py", b""),
    ("solutions/01_gradient_descent/gradient_descent.ipynb", planted_notebook("x = 1")),
    ("notebooks/01_gradient_descent/gradient_descent.ipynb", planted_notebook("### BEGIN SOLUTION\nx = 1")),
    ("notebooks/01_gradient_descent/gradient_descent.ipynb", planted_notebook("    ### BEGIN HIDDEN TESTS")),
    ("notebooks/01_gradient_descent/gradient_descent.ipynb", planted_notebook("from grader import grade")),
    ("course.whl", wheel_holding("grader/__init__.py")),
    ("course.whl", wheel_holding("course_lib/grader/__init__.py")),
], ids=["grader folder", "solutions folder", "solution", "hidden tests", "grader import", "wheel", "wheel subfolder"])
def test_a_planted_leak_is_found(name, data):
    assert bundle_module.leaks(name, data)


def test_a_planted_leak_in_the_release_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    first = ASSIGNMENTS[0]
    release = tmp_path / "notebooks"
    shutil.copytree(RELEASE / first.name, release / first.name)
    (release / first.name / "answers.py").write_text("from grader.reference.gradient_descent import gd_step\n")
    monkeypatch.setattr(bundle_module, "RELEASE", release)
    with pytest.raises(bundle_module.BundleRefused, match=r"answers\.py, line 1: from grader"):
        bundle_module.build_bundle(tmp_path / "out", [first])
    assert not (tmp_path / "out").exists()
