"""The sandbox of a grading kernel, tried directly: what a process in it can see and do."""
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import course_command

from grader.authoring.sample_class import build_submissions
from grader.pipeline.assignments import REPO, all_assignments
from grader.pipeline.classgrade import class_results
from grader.pipeline.coursedir import CourseDir
from grader.sandbox import bwrap

needs_bwrap = pytest.mark.skipif(bwrap.unavailable() is not None, reason=f"no sandbox here: {bwrap.unavailable()}")
PROBE = r"""
import json, os, socket, sys
seen = {"uid": os.getuid(), "cwd": os.getcwd(), "work": sorted(os.listdir(".")), "environment": sorted(os.environ),
        "repository": sorted(os.listdir(sys.argv[1])), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit())}
try:
    import grader
    seen["grader"] = grader.__file__
except ImportError:
    seen["grader"] = None
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2)
    seen["network"] = "connected"
except OSError as error:
    seen["network"] = type(error).__name__
open("written.txt", "w").write("kept in the private copy")
print(json.dumps(seen))
"""


def sandboxed(tmp_path, code, *args, limits=bwrap.Limits(1024, 20), **kwargs):
    work, channel = tmp_path / "work", tmp_path / "channel"
    for folder in (work, channel):
        folder.mkdir(exist_ok=True)
        bwrap.prepare(folder)
    argv = bwrap.command([sys.executable, "-P", "-c", code, *map(str, args)], work=work, channel=channel,
                         limits=limits, environment={"SEEN": "yes"})
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs), work


@needs_bwrap
def test_a_sandboxed_process_sees_only_its_folder_python_and_course_lib(tmp_path):
    import socket

    with socket.socket() as listener:                # a server on this machine it must not reach
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        done, work = sandboxed(tmp_path, PROBE, REPO, listener.getsockname()[1],
                               env=dict(os.environ, COURSE_SECRET="must-not-pass"))
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert set(seen["repository"]) <= {".venv", "course_lib"}, seen     # no grader/, no solutions/
    assert seen["grader"] is None
    assert seen["network"] in ("ConnectionRefusedError", "OSError"), seen
    assert "COURSE_SECRET" not in seen["environment"] and "SEEN" in seen["environment"]
    assert seen["cwd"] == f"{bwrap.HOME}/work" and seen["work"] == []
    assert len(seen["pids"]) <= 3, seen["pids"]     # its own PID namespace: bwrap's init and itself
    assert (work / "written.txt").read_text() == "kept in the private copy"
    if os.geteuid() == 0:
        assert seen["uid"] == bwrap.NOBODY


@needs_bwrap
def test_a_process_started_in_the_sandbox_ends_with_it(tmp_path):
    marker = tmp_path / "work" / "daemon-was-here"
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(3)\n        open('daemon-was-here', 'w').write('x')\n    os._exit(0)\n")
    done, _ = sandboxed(tmp_path, code)
    assert done.returncode == 0, done.stderr
    time.sleep(5)
    assert not marker.exists()


@needs_bwrap
@pytest.mark.parametrize("code, why", [
    ("bytearray(3 * 2**30)", "memory"),
    ("open('big', 'wb').write(b'x' * 300 * 2**20)", "file size"),
    ("while True: pass", "CPU time"),
])
def test_limits_end_what_exceeds_them(tmp_path, code, why):
    started = time.perf_counter()
    done, work = sandboxed(tmp_path, code, limits=bwrap.Limits(1024, 3))
    assert done.returncode != 0, why
    assert time.perf_counter() - started < 30
    assert not (work / "big").exists() or (work / "big").stat().st_size <= 256 * 2**20


def test_course_grade_stops_and_names_no_sandbox_where_bwrap_is_missing(tmp_path):
    (tmp_path / "submitted").mkdir()
    bin_folder = os.path.dirname(sys.executable)
    printed = course_command("grade", tmp_path, env={"PATH": bin_folder}, exit_code=1)
    assert "--no-sandbox" in printed and "bubblewrap" in printed


def test_without_a_sandbox_grades_the_same_and_says_it_is_unprotected(tmp_path):
    assignment = all_assignments()[0]
    course = CourseDir(tmp_path / "class", timeout=20).create()
    course.generate(assignment)
    build_submissions(course, assignment, {"ada": "complete", "ben": "mistakes-1"})
    printed = course_command("grade", course.root, "--no-sandbox", "--workers", 1)
    assert "not protected against hostile code" in printed
    results = {r.student: r for r in class_results(course, [assignment])}
    assert results["ada"].total == 9.0 and results["ben"].total < results["ada"].total
