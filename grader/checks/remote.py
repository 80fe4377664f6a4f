"""The trusted end of the channel to a grading kernel: the notebook's functions, called remotely.

`RemoteFunction` stands for a function of the notebook in the hidden checks, which run here in
the grading process: calling it sends its arguments to the kernel's agent
(`course_lib.grading_agent`) as plain data and reads the answer back, bounded in size and
time, never unpickled. What the function did to its arguments in place is written back into
the caller's arrays, and the generators it was given advance here as they did there, so the
checks see exactly what an in-process call would have shown them.
"""
import socket
import time

import numpy as np

from course_lib import wire
from course_lib.checking import CheckFailed

MAX_MESSAGE = 64 * 2**20        # bytes in one answer from a kernel


class ChannelFailed(BaseException):
    """The kernel did not answer as an agent does: it stopped, broke the channel, sent more than
    MAX_MESSAGE bytes or something that is not plain data. A BaseException, so that no check's
    `except Exception` takes it for the student's error: the whole check stops."""


class ChannelTimedOut(ChannelFailed):
    """The kernel did not answer before the test cell's time was up."""


class Channel:
    """A listening Unix socket in a folder that one sandboxed kernel sees; one agent at a time."""

    def __init__(self, path):
        self.path = str(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.connection, self.deadline, self.requests = None, 0.0, 0
        self.global_state = None        # NumPy's global random state as the kernel last had it

    def accept(self, deadline: float) -> None:
        """Wait until `deadline` (time.monotonic) for the kernel's agent to connect."""
        self.deadline = deadline
        self.listener.settimeout(self._left())
        try:
            self.connection, _ = self.listener.accept()
        except socket.timeout:
            raise ChannelTimedOut("the kernel never started answering") from None

    def ask(self, request: dict, recipes=None):
        """Send a request, return the decoded answer."""
        self.requests += 1
        try:
            message = wire.encode(request, recipes=recipes)
            self.connection.settimeout(self._left())
            self.connection.sendall(len(message).to_bytes(8, "big") + message)
            size = int.from_bytes(self._exactly(8), "big")
            if size > MAX_MESSAGE:
                raise ChannelFailed(f"the kernel sent an answer of {size:,} bytes (at most {MAX_MESSAGE:,})")
            return wire.decode(self._exactly(size))
        except socket.timeout:
            raise ChannelTimedOut("the function did not return before the cell's time was up") from None
        except wire.WireError as error:
            raise ChannelFailed(f"the kernel answered with something that is not plain data ({error})") from None
        except OSError as error:
            raise ChannelFailed(f"the kernel stopped answering ({type(error).__name__})") from None

    def close(self) -> None:
        """Tell the agent it is done (if it still listens) and close the socket."""
        if self.connection is not None:
            try:
                self.connection.settimeout(1.0)
                message = wire.encode({"op": "done"})
                self.connection.sendall(len(message).to_bytes(8, "big") + message)
            except OSError:
                pass
            self.connection.close()
        self.listener.close()

    def _left(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)

    def _exactly(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            self.connection.settimeout(self._left())
            chunk = self.connection.recv(min(left, 1 << 20))
            if not chunk:
                raise ChannelFailed("the kernel closed the channel")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class RemoteFunction:
    """The notebook's function `name`, called through `channel`."""

    def __init__(self, channel: Channel, name: str):
        self.channel, self.name = channel, name
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        recipes = []
        request = {"op": "call", "name": self.name, "args": list(args), "kwargs": kwargs}
        state = np.random.get_state()
        if self.channel.global_state is None or not wire.same_random_state(state, self.channel.global_state):
            request["global_state"] = self.channel.global_state = state
        answer = self.channel.ask(request, recipes)
        if not isinstance(answer, dict):
            raise ChannelFailed("the kernel's answer is not a record")
        if "error" in answer:
            raise _exception(answer["error"])
        try:
            if "global_state" in answer:
                np.random.set_state(answer["global_state"])
                self.channel.global_state = np.random.get_state()
            for recipe, log in zip(recipes, answer["logs"]):
                recipe.log.extend(log)
            for key, value in answer["args"].items():
                _write_back(args[int(key)], value)
            for key, value in answer["kwargs"].items():
                _write_back(kwargs[key], value)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            raise ChannelFailed(f"the kernel's answer is malformed ({type(error).__name__})") from None
        return answer["result"]

    def companion(self, name: str):
        """The notebook's function `name` (a forward pass next to its backward pass), or None."""
        return RemoteFunction(self.channel, name) if self.channel.ask({"op": "lookup", "name": name}) is True else None


def _write_back(target, value) -> None:
    """Make `target` (an argument the caller still holds) what the function left it as."""
    if isinstance(target, np.random.Generator):
        target.bit_generator.state = value.bit_generator.state
    elif isinstance(target, np.ndarray):
        if isinstance(value, np.ndarray) and value.shape == target.shape:
            np.copyto(target, value, casting="unsafe")
        else:                       # reshaped in place: it no longer holds what the caller gave
            target.fill(0 if np.issubdtype(target.dtype, np.integer) else np.nan)
    elif isinstance(target, list):
        if isinstance(value, list) and len(value) == len(target):
            for index, item in enumerate(value):
                if isinstance(target[index], (np.ndarray, list, dict, np.random.Generator)):
                    _write_back(target[index], item)
                else:
                    target[index] = item
        else:
            target[:] = value
    elif isinstance(target, tuple) and isinstance(value, tuple) and len(value) == len(target):
        for item, new in zip(target, value):
            _write_back(item, new)
    elif isinstance(target, dict) and isinstance(value, dict):
        target.clear()
        target.update(value)


def _exception(error) -> Exception:
    """The student's exception, rebuilt by name: NotImplementedError and CheckFailed as such."""
    name = str(error.get("type", "")) if isinstance(error, dict) else ""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    known = {"NotImplementedError": NotImplementedError, "CheckFailed": CheckFailed}
    if name in known:
        return known[name](message)
    name = name if name.isidentifier() and len(name) <= 60 else "Exception"
    return type(name, (Exception,), {})(message)
