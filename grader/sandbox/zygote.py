"""A worker's fork server of grading kernels, and the command that asks it for one.

Starting a kernel costs more than most notebooks' graded cells: Python, ipykernel, NumPy,
Matplotlib and course_lib are imported again for every submission. The fork server imports
them once, in a sandbox of its own (`grader.sandbox.forkserver` starts it), and forks a fresh
kernel per request. A forked kernel shares nothing with the server but memory pages it cannot
write (copy on write): before any student code runs it gets new user, mount, PID, network, IPC
and UTS namespaces; private tmpfs /tmp, HOME and /dev/shm; its own /proc; its submission's
working folder as HOME/work and its channel folder at the path its connection file names,
while every other job's folder is covered; the job's resource limits; and no capabilities.
It is PID 1 of its namespace: when it ends, every process it started ends with it.

Two commands, standard library only:

    python -P zygote.py serve CONTROL_SOCKET            # in the server's sandbox
    python -I -S zygote.py launch CONTROL_SOCKET REQUEST_JSON   # jupyter_client's kernel command

`launch` hands the server its request and its own stdout (the job's kernel log), then lives as
long as the kernel does and exits with its status; killing it kills the kernel.
"""
import ctypes
import gc
import json
import os
import select
import signal
import socket
import sys

NOBODY = 65534
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
LINUX_CAPABILITY_VERSION_3 = 0x20080522
MAX_REQUEST = 1 << 16           # bytes of one request
LIBC = ctypes.CDLL(None, use_errno=True)
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.debugger", "psutil", "pdb", "pydoc", "faulthandler",
                  "matplotlib.pyplot")
SPARE_FIGURES = 12              # made for each kernel's plotting.figure: more than any lesson draws


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, kind=None, flags=0, options=None) -> None:
    _check(LIBC.mount(*(None if v is None else v.encode() for v in (source, target, kind)), ctypes.c_ulong(flags),
                      None if options is None else options.encode()), f"mount {kind or source} on {target}")


def _prctl(option: int, value: int) -> None:
    _check(LIBC.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


# ---------------------------------------------------------------- the server, in its sandbox

def serve(control: str) -> None:
    """Mount /proc (as root, then become nobody), import what every kernel imports, and fork a
    kernel for each connection to `control`."""
    if os.getuid() == 0:        # bwrap ran as root: the server drops to nobody itself
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)      # nothing of the server is readable through /proc
    _preload()
    gc.freeze()     # the kernels' collections then leave the server's objects, and their shared pages, alone
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control)
    listener.listen(8)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # the kernels' supervisors reap themselves
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _supervise(connection)
        connection.close()


def _preload() -> None:
    """Import what a kernel, as it starts, and every lesson import, and make the lessons' blank
    figures, before any fork."""
    import importlib
    import pkgutil

    import course_lib
    import matplotlib

    matplotlib.use("Agg")
    for name in KERNEL_MODULES + tuple(f"course_lib.{m.name}" for m in pkgutil.iter_modules(course_lib.__path__)):
        importlib.import_module(name)
    from course_lib import plotting

    plotting.make_spares(SPARE_FIGURES)


def _supervise(connection: socket.socket) -> None:
    """In the server's child: read the request, confine, fork the kernel, and wait for either
    the kernel to end (its status goes back) or the launcher to go (the kernel is killed)."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        message, (log, *_), _, _ = socket.recv_fds(connection, MAX_REQUEST, 1)
        request = json.loads(message)
        try:
            _confine(request)
            kernel = os.fork()
        except OSError as error:
            os.write(log, f"the fork server could not start the kernel: {error}\n".encode())
            connection.sendall(b"1\n")
            return
        if kernel == 0:
            connection.close()
            _run_kernel(request, log)
        os.close(log)
        ready, _, _ = select.select([connection, os.pidfd_open(kernel)], [], [])
        if connection in ready:
            os.kill(kernel, signal.SIGKILL)
        connection.sendall(f"{os.waitstatus_to_exitcode(os.waitpid(kernel, 0)[1])}\n".encode())
    finally:
        os._exit(0)


def _confine(request: dict) -> None:
    """New namespaces and a file system that shows the kernel its own job's folders only."""
    uid, gid = os.getuid(), os.getgid()
    _prctl(PR_SET_DUMPABLE, 1)      # to write its own maps below
    _check(LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
           "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    _mount(None, "/", flags=MS_REC | MS_PRIVATE)
    home, jobs = request["home"], request["jobs"]
    covered = (jobs, "/tmp", home, "/dev/shm")
    # the job's folders, and Python and course_lib where they lie below a covered place (a clone in /tmp, say)
    shown = [(request["work"], f"{home}/work"), (request["channel"], request["channel"])]
    shown += [(path, path) for path in request["installed"] if any(os.path.commonpath([path, place]) == place
                                                                   for place in covered)]
    folders = [(os.open(source, os.O_PATH | os.O_DIRECTORY), place) for source, place in shown]
    size = f"size={request['tmp_bytes']}"
    for place in covered:
        _mount("tmpfs", place, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" if place == jobs else f"{size},mode=0777")
    for folder, place in folders:       # read-only mounts stay read-only
        os.makedirs(place, exist_ok=True)
        _mount(f"/proc/self/fd/{folder}", place, flags=MS_BIND | MS_REC)
        os.close(folder)


def _run_kernel(request: dict, log: int) -> None:
    """In the kernel's process, PID 1 of its namespace: its own /proc, the job's limits, no
    capabilities, the job's log as stdout and stderr; then ipykernel, as ipykernel_launcher."""
    import resource

    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for name, value in request["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        _drop_capabilities()
        _prctl(PR_SET_DUMPABLE, 1)
        null = os.open("/dev/null", os.O_RDONLY)
        for source, target in ((null, 0), (log, 1), (log, 2)):
            os.dup2(source, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.chdir(f"{request['home']}/work")
        import numpy

        numpy.random.seed()         # the global generator a fresh process would have, not the server's
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as error:
        os.write(2, f"the kernel failed: {type(error).__name__}: {error}\n".encode())
        code = 1
    os._exit(code)


def _drop_capabilities() -> None:
    """Leave the bounding set empty and clear every capability this user namespace gave."""
    with open("/proc/sys/kernel/cap_last_cap") as file:
        last = int(file.read())
    for capability in range(last + 1):
        _prctl(PR_CAPBSET_DROP, capability)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(LIBC.capset(header, data), "capset")


# ---------------------------------------------------------------- the launcher, outside

def launch(control: str, request: str) -> int:
    """Ask the server at `control` for a kernel; return its exit status once it ends."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(control)
    socket.send_fds(connection, [request.encode()], [sys.stdout.fileno()])
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = connection.recv(64)
        if not chunk:
            return 1
        reply += chunk
    status = int(reply)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "serve":
        serve(*arguments)
    else:
        sys.exit(launch(*arguments))
