"""A real Jupyter server on loopback for the tests: started in a folder, queried over HTTP, always stopped."""
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Server:
    url: str
    token: str

    def get(self, path: str, method: str = "GET", body=None) -> str:
        """The body of a request to the server, authenticated with its token."""
        request = urllib.request.Request(self.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode()

    def api(self, path: str, method: str = "GET", body=None):
        """The JSON answer of one of the server's HTTP APIs."""
        return json.loads(self.get(path, method, body))


@contextlib.contextmanager
def jupyter(app: str, root: Path, state: Path, startup: float = 90):
    """Run `python -m jupyter APP` (lab or server) on `root`, from `root`, with the course's environment.

    Kernels, extensions and the programs nbgrader runs by name come from this Python's
    environment, with JUPYTER_DATA_DIR inside it and its bin/ first on PATH, as the Makefile
    sets them; user configuration, runtime files and JupyterLab settings live in `state`, so
    nothing from the machine's own ~/.jupyter leaks in. The server and every
    kernel it started are stopped on exit, whatever happened.
    """
    for folder in ("runtime", "config", "settings", "workspaces"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, JUPYTER_DATA_DIR=str(Path(sys.prefix) / "share" / "jupyter"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
               JUPYTER_RUNTIME_DIR=str(state / "runtime"), JUPYTER_CONFIG_DIR=str(state / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(state / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"))
    env.pop("NBGRADER_EXECUTION", None)
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", app, "--no-browser", f"--ServerApp.token={token}",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True"]
    log = state / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token)
    try:
        _wait_until_up(server, process, log, startup)
        yield server
    finally:
        _stop(process, state / "runtime")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(server: Server, process, log: Path, startup: float) -> None:
    """Poll /api/status until the server answers; fail with the end of its log if it never does."""
    deadline = time.monotonic() + startup
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter exited with status {process.returncode}:\n{_tail(log)}")
        try:
            server.api("/api/status")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"jupyter did not answer /api/status within {startup:.0f} s:\n{_tail(log)}")


def _stop(process, runtime: Path) -> None:
    """SIGTERM (the server shuts its kernels down), SIGKILL after 20 s; then any kernel left over."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    for pid in _kernels_of(runtime):  # each kernel runs in its own session, with its connection file in runtime
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _kernels_of(runtime: Path) -> list:
    """Processes whose command line names a connection file in `runtime`: kernels this server started."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if str(runtime) in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
    return found


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
