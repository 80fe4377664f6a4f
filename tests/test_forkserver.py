"""The fork server of grading kernels, tried directly: what a kernel it forks can see and do.

Each kernel here runs a probe as its start-up lines (`exec_lines`), writes what it saw into its
working folder and exits; `launch` returns with it.
"""
import json
import subprocess
import time

import pytest
from jupyter_client.connect import write_connection_file
from test_sandbox import needs_bwrap

from grader.sandbox import bwrap, forkserver, zygote

PROBE = r"""
import gc, json, os, resource, subprocess, numpy
from course_lib import plotting
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
jobs = os.environ["JOBS"]
seen = {"uid": os.getuid(), "pid": os.getpid(), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()),
        "capabilities": [status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd")],
        "work": sorted(os.listdir(".")), "jobs": sorted(os.listdir(jobs)) if os.path.isdir(jobs) else None,
        "tmp": sorted(os.listdir("/tmp")), "shm": sorted(os.listdir("/dev/shm")),
        "memory": resource.getrlimit(resource.RLIMIT_AS)[0], "random": numpy.random.random(),
        "frozen": gc.get_freeze_count(), "spare figures": len(plotting._spares)}
try:
    open(os.path.join(os.path.dirname(plotting.__file__), "planted.py"), "w").close()
    seen["course_lib"] = "written"
except OSError as refused:
    seen["course_lib"] = type(refused).__name__
for folder in ("/tmp", "/dev/shm"):
    open(f"{folder}/left-by-the-first", "w").close()
subprocess.Popen(["sleep", "600"], start_new_session=True)
json.dump(seen, open("seen.json", "w"))
os._exit(0)
"""


@pytest.fixture
def server():
    server = forkserver.ForkServer("")
    yield server
    server.close()


def kernel(server, name: str, code: str) -> tuple:
    """(the command of a kernel forked for job `name` that runs `code` as it starts, its working folder)."""
    scratch = server.folder / name
    work, channel = scratch / "work", scratch / "channel"
    for folder in (work, channel):
        folder.mkdir(parents=True)
        bwrap.prepare(folder)
    bwrap.passable(scratch)
    (work / "submission.ipynb").write_text("{}")
    write_connection_file(str(channel / "connection.json"), transport="ipc", ip=str(channel / "kernel"))
    (channel / "connection.json").chmod(0o644)
    return server.kernel_command(["-f", str(channel / "connection.json"), f"--IPKernelApp.exec_lines={code}"],
                                 work=work, channel=channel, limits=bwrap.Limits(memory_mib=1536, cpu_seconds=30)), work


def probe(server, name: str) -> dict:
    """What PROBE saw in a kernel forked for job `name`."""
    command, work = kernel(server, name, f"import os; os.environ['JOBS'] = {str(server.folder)!r}; exec({PROBE!r})")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((work / "seen.json").read_text())


def running(command_line: str) -> bool:
    return command_line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


@needs_bwrap
def test_a_forked_kernel_sees_its_own_job_only_and_keeps_nothing(server):
    (server.folder / "classmate").mkdir()
    first, second = probe(server, "first"), probe(server, "second")
    for name, seen in (("first", first), ("second", second)):
        assert seen["uid"] == bwrap.NOBODY and seen["capabilities"] == ["0000000000000000"] * 3
        assert seen["pid"] == 1 and seen["pids"] == ["1"], seen["pids"]    # neither the server nor a classmate
        assert seen["work"] == ["submission.ipynb"]
        assert seen["jobs"] == [name]       # no classmate, no control socket
        assert "left-by-the-first" not in seen["tmp"] + seen["shm"]      # private /tmp and /dev/shm
        assert seen["memory"] == 1536 * 2**20
        assert seen["course_lib"] in ("PermissionError", "OSError")     # read-only, wherever it is installed
        assert seen["frozen"] > 0 and seen["spare figures"] == zygote.SPARE_FIGURES     # made once, by the server
    assert first["random"] != second["random"]      # NumPy's global generator is seeded afresh
    assert all(folder.stat().st_mode & 0o007 == 0 for folder in (server.folder, server.folder / "first"))  # no other user
    assert not running("sleep 600")


@needs_bwrap
def test_killing_the_launcher_ends_the_kernel_and_what_it_started(server):
    command, _ = kernel(server, "job", "import subprocess; subprocess.Popen(['sleep', '700'], start_new_session=True)")
    launcher = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 30
        while not running("sleep 700"):
            assert launcher.poll() is None and time.monotonic() < deadline, "the kernel did not start its child"
            time.sleep(0.1)
    finally:
        launcher.kill()
        launcher.wait()
    deadline = time.monotonic() + 5
    while running("sleep 700"):
        assert time.monotonic() < deadline, "the kernel's child outlived the kernel"
        time.sleep(0.1)
