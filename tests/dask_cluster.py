"""A real Dask cluster on loopback for the tests: `dask scheduler` and `dask worker` processes,
each worker in an empty working folder of its own, always stopped."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DASK = os.path.join(os.path.dirname(sys.executable), "dask")
STARTUP = 60        # seconds for the scheduler to write its address


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    workers: dict = field(default_factory=dict)     # {name: process}

    def kill_worker(self, name: str) -> None:
        """End the worker named `name` (its folder's name), its nanny and whatever they started, at once."""
        _kill(self.workers[name])

    def kill_scheduler(self) -> None:
        _kill(self.scheduler)


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _start(argv: list, folder: Path, env: dict) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "dask.log", "w")
    return subprocess.Popen(argv, cwd=folder, stdout=log, stderr=log, start_new_session=True,
                            env={**os.environ, **env})


def start_worker(cluster: Cluster, folder: Path, env: dict = None) -> subprocess.Popen:
    """Start one single-threaded `dask worker` in the empty folder `folder` (with `env` added)."""
    worker = _start([DASK, "worker", cluster.address, "--nthreads", "1", "--no-dashboard", "--name", folder.name,
                     "--local-directory", str(folder / "dask"), "--death-timeout", "60"], folder, env or {})
    cluster.workers[folder.name] = worker
    return worker


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2, worker_env: dict = None):
    """A scheduler on 127.0.0.1 and `workers` workers (with `worker_env` added to their
    environment), each in its own empty folder under `folder`."""
    scheduler_file = folder / "scheduler" / "scheduler.json"
    scheduler = _start([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(scheduler_file)], folder / "scheduler", {})
    cluster = Cluster("", scheduler)
    try:
        deadline = time.monotonic() + STARTUP
        while not cluster.address and time.monotonic() < deadline and scheduler.poll() is None:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                cluster.address = json.loads(scheduler_file.read_text())["address"]
            time.sleep(0.1)
        assert cluster.address, (folder / "scheduler" / "dask.log").read_text()[-2000:]
        for index in range(workers):
            start_worker(cluster, folder / f"worker{index}", worker_env)
        yield cluster
    finally:
        for process in [*cluster.workers.values(), scheduler]:
            _kill(process)
