"""A throwaway PostgreSQL server for the tests: Debian's binaries, run as an unprivileged user,
reachable only through a Unix socket in a temporary folder, always stopped and removed.

initdb refuses to run as root (tests and CI run as root), so under root the server runs as
`nobody`, in a folder of its own under /tmp (pytest's tmp_path is private to root); the socket
sits in the same short folder, within the length a Unix socket path allows.
"""
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

SERVER_USER = "nobody"          # who runs the server when the tests run as root
SUPERUSER = "grader"            # the database role the tests connect as (trust authentication)
PROGRAMS = ("initdb", "pg_ctl", "postgres", "createdb")
SETTINGS = """
listen_addresses = ''
unix_socket_directories = '{folder}'
fsync = off
synchronous_commit = off
full_page_writes = off
"""


def postgres_bindir() -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl); fails the test when they are missing."""
    candidates = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                         check=True).stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    candidates += [os.path.dirname(found) for found in [shutil.which("initdb")] if found]
    for folder in candidates:
        if all(os.access(Path(folder, program), os.X_OK) for program in PROGRAMS):
            return Path(folder)
    pytest.fail(f"PostgreSQL's programs ({', '.join(PROGRAMS)}) were not found in `pg_config --bindir`, "
                "/usr/lib/postgresql/*/bin or on PATH: install Debian's postgresql package "
                "(`apt-get install postgresql`; .ci/run does it).", pytrace=False)


def _version(bindir: str) -> list:
    """[15] for /usr/lib/postgresql/15/bin, [9, 6] for .../9.6/bin: the newest first when sorted in reverse."""
    return [int(part) for part in re.findall(r"\d+", Path(bindir).parent.name)]


@contextlib.contextmanager
def postgres_server():
    """Start a PostgreSQL server; yield `new_database`, which creates an empty database and
    returns its SQLAlchemy URL (postgresql://grader@/NAME?host=FOLDER). The server
    is stopped and its folder removed on exit, whatever happened."""
    bindir = postgres_bindir()
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    data, log = folder / "data", folder / "server.log"
    as_server_user = []
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_server_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]

    def run(program, *args):
        done = subprocess.run([*as_server_user, str(bindir / program), *args], cwd=folder, capture_output=True,
                              text=True, env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"})
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}{server_log}", pytrace=False)

    def new_database(name: str) -> str:
        run("createdb", "-h", str(folder), "-U", SUPERUSER, name)
        return f"postgresql://{SUPERUSER}@/{name}?host={folder}"

    try:
        run("initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-locale",
            "--no-sync")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS.format(folder=folder))
        run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "start")
        yield new_database
    finally:
        _stop(bindir, data, as_server_user)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(bindir: Path, data: Path, as_server_user: list) -> None:
    """Stop the server of `data` at once (nothing in it is worth keeping); kill it if pg_ctl cannot."""
    pidfile = data / "postmaster.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().split()[0])
    stopped = subprocess.run([*as_server_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                              "stop"], cwd=data.parent, capture_output=True)
    if stopped.returncode != 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
