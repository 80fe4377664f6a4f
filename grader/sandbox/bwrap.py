"""The sandbox of a grading kernel: bubblewrap, resource limits and a clean environment.

What the kernel sees: the system's /usr (read-only), a few files of /etc, this Python and its
environment (read-only), course_lib's folder (read-only), its own working folder (a private
copy of one submission), its channel folder (the connection file, its sockets, the grading
socket), and private tmpfs /tmp and HOME. Nothing else: not the class folder, not the
repository's grader/ or solutions/, not another kernel's files. It has no network, its own PID
namespace (every process it starts ends with it), a new session (no terminal to inject into),
no environment variable of the grading process, and limits on memory, CPU time, processes and
file size. Run by root, the kernel drops to user `nobody` inside the sandbox.

Grading kernels are forked in such a sandbox by a fork server (`grader.sandbox.zygote`), which
sees a whole worker's kernel folders and gives each kernel its own namespaces and file system.
"""
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import course_lib

HOME = "/home/student"
NOBODY = 65534
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "mime.types")
PRLIMIT_OPTIONS = {"RLIMIT_AS": "as", "RLIMIT_CPU": "cpu", "RLIMIT_NPROC": "nproc", "RLIMIT_FSIZE": "fsize",
                   "RLIMIT_CORE": "core"}
KEPT_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")     # how this machine's BLAS must run


@dataclass(frozen=True)
class Limits:
    memory_mib: int             # address space of each process
    cpu_seconds: int            # CPU time of each process
    processes: int = 256        # processes and threads of the kernel's user, beyond those it has
    file_mib: int = 256         # largest file it may write
    tmp_mib: int = 512          # size of /tmp and of HOME, each


def unavailable():
    """Why a sandbox cannot be made on this machine, or None when it can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed (Debian and Ubuntu: apt-get install bubblewrap)"
    probe = subprocess.run(command(["/bin/true"], work=None, channel=None, limits=Limits(256, 5)),
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bwrap cannot make a sandbox here: {probe.stderr.strip()[:300]}"
    nested = ["unshare", "--user", "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "/bin/true"]
    probe = subprocess.run(command(nested, work=None, channel=None, limits=Limits(256, 5)), capture_output=True, text=True)
    if probe.returncode != 0:
        return ("a process in the sandbox cannot make namespaces of its own, which each grading kernel gets "
                f"(unprivileged user namespaces may be off or restricted): {probe.stderr.strip()[:300]}")
    return None


def command(argv, *, work, channel, limits: Limits, environment=None, files=None, fork_server=False) -> list:
    """`argv` wrapped to run in a sandbox. `work`: the folder it runs in (read-write, seen as
    HOME/work); `channel`: a folder it sees read-write at the same path; `environment`: its
    variables besides HOME, PATH and LANG; `files`: {path inside: file outside}, read-only.
    `fork_server`: `argv` is `grader.sandbox.zygote`'s server, which, run by root, mounts /proc
    and becomes nobody itself (it must keep /proc whole to give each kernel its own)."""
    root = os.geteuid() == 0
    options = ["bwrap", "--die-with-parent", "--new-session", "--clearenv"]
    options += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    options += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if root else ["--unshare-user"]
    options += ["--cap-add", "CAP_SYS_ADMIN", "--dir", "/proc"] if root and fork_server else ["--proc", "/proc"]
    options += ["--ro-bind", "/usr", "/usr", "--dev", "/dev"]
    binds = [(f"/etc/{name}", "--ro-bind") for name in ETC if os.path.exists(f"/etc/{name}")]
    binds += [(folder, "--ro-bind") for folder in installed() if not folder.startswith("/usr/")]
    binds += [(str(channel), "--bind")] if channel is not None else []
    size = str(limits.tmp_mib * 2**20)
    options += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp", "--perms", "0777", "--size", size, "--tmpfs", HOME]
    options += _folders_above([path for path, _ in binds] + list(files or {}))
    for top in ("bin", "sbin", "lib", "lib32", "lib64"):
        if os.path.islink(f"/{top}"):
            options += ["--symlink", os.readlink(f"/{top}"), f"/{top}"]
        elif os.path.isdir(f"/{top}"):
            options += ["--ro-bind", f"/{top}", f"/{top}"]
    options += [arg for path, how in binds for arg in (how, path, path)]
    options += [arg for inside, outside in (files or {}).items() for arg in ("--ro-bind", str(outside), inside)]
    if work is not None:
        options += ["--bind", str(work), f"{HOME}/work", "--chdir", f"{HOME}/work"]
    variables = {"HOME": HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
                 **{k: os.environ[k] for k in KEPT_VARIABLES if k in os.environ}, **(environment or {})}
    options += [arg for name, value in variables.items() for arg in ("--setenv", name, value)]
    prlimit = ["prlimit", *(f"--{PRLIMIT_OPTIONS[name]}={value}" for name, value in rlimits(limits).items()), "--"]
    nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
              "--bounding-set=-all", "--no-new-privs", "--"] if root and not fork_server else []
    return options + ["--", *prlimit, *nobody, *argv]


def installed() -> list:
    """The folders of this Python and of course_lib, which a sandbox shows read-only."""
    return sorted({sys.base_prefix, sys.prefix, course_lib.__path__[0]})


def rlimits(limits: Limits) -> dict:
    """{name in `resource`: value} of the resource limits of a sandboxed process."""
    processes = limits.processes if os.geteuid() == 0 else _processes_of_user() + limits.processes
    return {"RLIMIT_AS": limits.memory_mib * 2**20, "RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_NPROC": processes,
            "RLIMIT_FSIZE": limits.file_mib * 2**20, "RLIMIT_CORE": 0}


def _folders_above(paths) -> list:
    """Options that make every folder above `paths` readable, and writable in HOME (bwrap would
    make them private to root)."""
    above = sorted({str(parent) for path in paths for parent in Path(path).parents if str(parent) not in ("/", HOME)})
    return [arg for folder in above for arg in ("--perms", "0777" if folder.startswith(HOME) else "0755", "--dir", folder)]


def prepare(folder: Path) -> None:
    """Let the sandbox's user write in a folder the grading process made."""
    if os.geteuid() == 0:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    folder.chmod(0o777)


def passable(folder: Path) -> None:
    """Let the sandbox's user pass through a folder the grading process made (to the folders
    inside it that `prepare` opened), and no other user of this machine."""
    if os.geteuid() == 0:
        os.chown(folder, 0, NOBODY)
        folder.chmod(0o710)
    else:
        folder.chmod(0o700)


def _processes_of_user() -> int:
    uid = os.getuid()
    return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid)


def _owner(path: Path):
    try:
        return path.stat().st_uid
    except OSError:
        return None
