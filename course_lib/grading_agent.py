"""A grading kernel's end of the channel to `course grade`, imported when the kernel starts.

Under `course grade` every kernel runs in a sandbox and never holds a hidden check, a reference
or an expected value. For each test cell the grading process runs `serve(SOCKET)` in the
kernel: the agent connects to the grading process's Unix socket and answers its requests until
told it is done. A request names a function of the notebook and its arguments, as plain data
(`course_lib.wire`); the answer is the function's result, the arguments it changed, the state
of the generators it was given, NumPy's global random state if the call changed it, and what
the checks' recipes logged. The request carries the global state only when it changed since
the kernel last saw it. Whatever cannot travel as data (a student's cache object, say) stays here, sent as a
handle. Nothing here decides a score: the grading process judges every answer, and a kernel
that answers something else only misreports its own functions.
"""
import copy
import os
import socket
import sys

import numpy as np

from course_lib import wire

FRAME = 8                       # bytes of the length that precedes every message
_handles = {}


def start() -> None:
    """Import what every lesson uses, and keep files handed in next to the notebook from
    shadowing an installed module: the working directory leaves sys.path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (imported once here, before any student code)

    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", here)]


def serve(address: str) -> None:
    """Answer requests on the Unix socket at `address` until the grading process is done."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.connect(address)
        while True:
            message = _receive(channel)
            if message is None:
                return
            logs = []
            request = wire.decode(message, functions=True, handles=_handles, logs=logs)
            if request.get("op") == "done":
                return
            answer = _lookup(request) if request.get("op") == "lookup" else _call(request, logs)
            _send(channel, wire.encode(answer, unknown=_keep))


def _lookup(request) -> dict:
    return {"result": callable(_namespace().get(request.get("name")))}


def _call(request, logs) -> dict:
    fn = _namespace().get(request.get("name"))
    args, kwargs = request.get("args", []), request.get("kwargs", {})
    before_args, before_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    if "global_state" in request:
        np.random.set_state(request["global_state"])
    global_before = np.random.get_state()
    try:
        if not callable(fn):
            raise NameError(f"name {request.get('name')!r} is not defined")
        result = fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as error:      # the student's code may raise anything, SystemExit included
        return {"error": {"type": type(error).__name__, "message": str(error)[:2000]}}
    answer = {"result": result,
              "args": {str(i): a for i, (b, a) in enumerate(zip(before_args, args)) if _changed(b, a)},
              "kwargs": {k: a for k, a in kwargs.items() if _changed(before_kwargs[k], a)}, "logs": logs}
    if not wire.same_random_state(global_before, np.random.get_state()):
        answer["global_state"] = np.random.get_state()
    return answer



def _changed(before, after) -> bool:
    """Whether an argument was changed in place (a generator always travels back)."""
    if isinstance(after, np.random.Generator):
        return True
    if isinstance(before, np.ndarray):
        return not (before.shape == after.shape and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, (list, tuple, dict)):
        pairs = zip(before.values(), after.values()) if isinstance(before, dict) else zip(before, after)
        return len(before) != len(after) or any(_changed(b, a) for b, a in pairs)
    return False


def _keep(value) -> dict:
    number = len(_handles)
    _handles[number] = value
    return {"handle": [number, type(value).__name__]}


def _namespace() -> dict:
    from IPython import get_ipython

    return get_ipython().user_ns


def _receive(channel):
    head = _exactly(channel, FRAME)
    return None if head is None else _exactly(channel, int.from_bytes(head, "big"))


def _exactly(channel, size: int):
    chunks, left = [], size
    while left:
        chunk = channel.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _send(channel, message: bytes) -> None:
    channel.sendall(len(message).to_bytes(FRAME, "big") + message)
