"""This worker's fork server of grading kernels (`grader.sandbox.zygote`): started on first use,
one per scratch root, ended with the worker process.

The server runs in a sandbox that sees what a kernel sees (`bwrap.command`) plus its `folder`,
where each kernel's scratch folder is made; each kernel it forks sees only its own.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.sandbox import bwrap
from grader.sandbox.kernel import ENVIRONMENT

ZYGOTE = Path(__file__).with_name("zygote.py")
ZYGOTE_INSIDE = "/opt/course-grade/zygote.py"
LIMITS = bwrap.Limits(memory_mib=4096, cpu_seconds=24 * 3600)     # of the server itself
START_SECONDS = 60
_servers = {}


class ForkServerFailed(RuntimeError):
    pass


class ForkServer:
    def __init__(self, scratch_root: str):
        self.folder = Path(tempfile.mkdtemp(prefix="course-kernels-", dir=scratch_root or None))
        bwrap.passable(self.folder)
        control = self.folder / "control"
        control.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(control, bwrap.NOBODY, bwrap.NOBODY)
        self.control = control / "server.sock"
        self.log = open(self.folder / "server.log", "w+b")
        argv = [sys.executable, "-P", ZYGOTE_INSIDE, "serve", str(self.control)]
        self.process = subprocess.Popen(
            bwrap.command(argv, work=None, channel=self.folder, limits=LIMITS, environment=ENVIRONMENT,
                          files={ZYGOTE_INSIDE: ZYGOTE, **matplotlib_font_cache()}, fork_server=True),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + START_SECONDS
        while "ready" not in self.output().split():
            if self.process.poll() is not None or time.monotonic() > deadline:
                status, said = self.process.poll(), self.output()
                self.close()
                why = f"exit status {status}" if status is not None else f"not ready after {START_SECONDS} s"
                raise ForkServerFailed(f"the fork server of grading kernels did not start ({why})"
                                       + (f": {said}" if said else ""))
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        """The end of what the server wrote (its errors), one line."""
        self.log.seek(0)
        return " | ".join(self.log.read().decode(errors="replace").strip().splitlines()[-3:])[-500:]

    def kernel_command(self, kernel_argv: list, *, work: Path, channel: Path, limits: bwrap.Limits) -> list:
        """The command that gets a kernel from the server: ipykernel_launcher's arguments
        `kernel_argv`, run on the job's folders `work` and `channel` (both in `folder`)."""
        request = {"argv": kernel_argv, "jobs": str(self.folder),
                   "work": str(work), "channel": str(channel), "home": bwrap.HOME,
                   "tmp_bytes": limits.tmp_mib * 2**20, "rlimits": bwrap.rlimits(limits),
                   "installed": bwrap.installed()}
        return [sys.executable, "-I", "-S", str(ZYGOTE), "launch", str(self.control), json.dumps(request)]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def shared(scratch_root: str) -> ForkServer:
    """This process's running fork server for kernels whose scratch folders go in `scratch_root`
    ("": the system's temporary folder), started or restarted if need be."""
    server = _servers.get(scratch_root)
    if server is None or not server.alive():
        if server is not None:
            server.close()
        server = _servers[scratch_root] = ForkServer(scratch_root)
    return server


@atexit.register
def _close_all() -> None:
    for server in _servers.values():
        server.close()


def matplotlib_font_cache() -> dict:
    """{path in the sandbox: file here} for Matplotlib's font list, so that the server does not
    rebuild it (a second) in its empty HOME."""
    import matplotlib
    from matplotlib import font_manager

    cache = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    return {f"{bwrap.HOME}/.cache/matplotlib/{cache.name}": cache} if cache.exists() else {}
