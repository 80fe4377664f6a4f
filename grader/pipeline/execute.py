"""How `course grade` runs a submission: nbgrader's Execute, with the kernel in a sandbox and
the hidden checks here, outside the student's process.

`GradingExecute` starts every kernel in its sandbox (`grader.sandbox`), on a private copy of the
submission's folder. A test cell's visible part runs in the kernel, as the student ran it; its
hidden part never does: the grading process judges the function it names (`grader.checks`),
calling it in the kernel through the grading channel, and writes the verdict into the cell as
two outputs of its own: the report (`REPORT_MIME`, with its text) and the score (an
execute_result, nbgrader's partial credit). Whatever the kernel displayed as a result or as a
report in a test cell is dropped, so nothing the submission prints can set a score.

Time is bounded twice: each cell (hidden checks included) by the cell timeout, the notebook by
its budget. A kernel that dies, that will not stop when a cell is interrupted, or that used up
the budget ends the run early: every later code cell gets a "not run" error output, so it
scores 0, and nbgrader goes on to save the grades of the cells that ran. Output is capped per
cell and per notebook. What one execution met is its `Run` (`GradingExecute.run`): a kernel
that did not start is recorded there, and that is never the submission's fault.
"""
import ast
import functools
import math
import queue
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer, Unicode

from grader.checks.judge import judge
from grader.checks.remote import Channel, ChannelFailed, ChannelTimedOut, RemoteFunction
from grader.sandbox import bwrap, forkserver
from grader.sandbox.kernel import GradingKernelManager

TIMEOUT_ERROR = "CellTimeoutError"     # nbgrader's error name for a cell that ran out of time
KERNEL_DIED_ERROR = "KernelDied"
NOT_RUN_ERROR = "NotRun"
HIDDEN_MARK = "### BEGIN HIDDEN TESTS"
REPORT_MIME = "application/x-course-grade-report+json"
SERVE = "import course_lib.grading_agent; course_lib.grading_agent.serve({!r})"
KERNEL_OUTPUT_KEPT = 20_000    # bytes of a kernel's own stdout and stderr copied into the worker's log
LESSON_SHARE_AFTER_TIMEOUT = 6  # after a timeout, lesson cells get the cell timeout divided by this
GRACE = 5.0                     # seconds an interrupted kernel has to stop before it is killed
DIED = "the kernel died"
WOULD_NOT_STOP = "a cell ran out of time and would not stop when interrupted, so the kernel was ended"


@dataclass
class Run:
    """What one execution of a notebook met."""
    seconds: float = 0.0            # kernel start, every cell, hidden checks
    kernel_start_seconds: float = 0.0   # of which starting the kernel (its scratch folder included)
    graded_cell_seconds: float = 0.0    # of which the answer and test cells in the kernel
    hidden_seconds: float = 0.0     # of which judging hidden checks, calls into the kernel included
    calls: int = 0                  # calls of the student's functions by the hidden checks
    timeouts: int = 0               # cells that ran out of time
    not_run: int = 0                # code cells not run because the run stopped early
    stopped: str = ""               # why the run stopped early: DIED, WOULD_NOT_STOP, the budget ("" if it did not)
    kernel_failed: str = ""         # why the kernel did not start ("" when it did)
    grader_failed: str = ""         # an error of the hidden checks themselves: ours, never the student's


def hidden_calls(source_notebook: Path) -> dict:
    """{test cell grade_id: (topic, function name, points)} from the `grade(...)` call in the
    hidden part of each test cell of a source notebook (the instructor's, never a submission)."""
    return _hidden_calls(str(source_notebook), source_notebook.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _hidden_calls(source_notebook: str, modified: int) -> dict:
    """hidden_calls of the notebook as it was when last modified at `modified` (one read per version)."""
    import nbformat

    calls = {}
    for cell in nbformat.read(source_notebook, as_version=4).cells:
        if cell.cell_type == "code" and HIDDEN_MARK in cell.source and utils.is_grade(cell):
            for node in ast.walk(ast.parse(cell.source.split(HIDDEN_MARK, 1)[1])):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "grade":
                    topic, name = (ast.literal_eval(a) for a in node.args[:2])
                    calls[cell.metadata.nbgrader["grade_id"]] = [topic, name, float(cell.metadata.nbgrader["points"])]
    return calls


class GradingExecute(Execute):
    max_output_bytes = Integer(2_000_000, help="Output kept per cell; the rest is dropped.").tag(config=True)
    max_notebook_output_bytes = Integer(20_000_000, help="Output kept per notebook; the rest is dropped.").tag(config=True)
    sandboxed = Bool(True, help="Run the kernel in a bubblewrap sandbox.").tag(config=True)
    memory_mib = Integer(2048, help="Memory limit of the kernel's processes.").tag(config=True)
    notebook_timeout = Integer(300, help="Seconds the whole notebook may run, hidden checks included.").tag(config=True)
    checks = Dict(help="grade_id -> [topic, name, points] of the test cells judged here.").tag(config=True)
    scratch_root = Unicode("", help="Where each kernel's private scratch folder is made (the system's "
                           "temporary folder when empty).").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("shutdown_kernel", "immediate")     # the notebook is done: no graceful wait
        kwargs["kernel_manager_class"] = GradingKernelManager
        super().__init__(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._printed, self._kernel_ready, self._log, self._scratch = {}, False, None, None
        run = self.run = Run()
        started = self._started = time.perf_counter()
        self._deadline = time.monotonic() + self.notebook_timeout
        try:
            return super().preprocess(nb, resources, km)
        except Exception as error:
            if not self._kernel_ready:
                run.kernel_failed = f"{type(error).__name__}: {error}"
            raise
        finally:
            run.seconds = time.perf_counter() - started
            if self._log is not None:
                self._log.close()
                self._report_kernel_output()
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)

    def _report_kernel_output(self) -> None:
        """Copy the start of what the kernel wrote to its stdout and stderr into this worker's log."""
        with open(self._scratch / "kernel.log", "rb") as written:
            text = written.read(KERNEL_OUTPUT_KEPT).decode(errors="replace")
        if text.strip():
            self.log.info("the kernel's own output (the first %d bytes at most):\n%s", KERNEL_OUTPUT_KEPT,
                          "".join(c if c.isprintable() or c == "\n" else "?" for c in text))

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        server = forkserver.shared(self.scratch_root) if self.sandboxed else None
        self._scratch = Path(tempfile.mkdtemp(prefix="course-kernel-", dir=server.folder if server
                                              else self.scratch_root or None))
        bwrap.passable(self._scratch)      # the fork server reaches the job's folders inside
        work, channel = self._scratch / "work", self._scratch / "channel"
        shutil.copytree(self.resources["metadata"]["path"], work, symlinks=True)
        channel.mkdir()
        for folder in (work, channel):
            bwrap.prepare(folder)
        km.transport, km.ip = "ipc", str(channel / "kernel")
        km.connection_file = str(channel / "connection.json")
        km.work, km.channel, km.fork_server = work, channel, server
        km.limits = bwrap.Limits(memory_mib=self.memory_mib, cpu_seconds=10 * self.timeout)
        km.output = self._log = open(self._scratch / "kernel.log", "w")
        self._channel = channel
        return km

    def preprocess_cell(self, cell, resources, index):
        if not self._kernel_ready:
            self.run.kernel_start_seconds = time.perf_counter() - self._started
        self._kernel_ready = True
        if cell.cell_type != "code":
            return cell, resources
        if not self.run.stopped and self._remaining() <= 0:
            self.run.stopped = f"the notebook used up its time budget ({self.notebook_timeout} s)"
        if self.run.stopped:
            self.run.not_run += 1
            cell.outputs = [_error(NOT_RUN_ERROR, f"not run: {self.run.stopped}.")]
            return cell, resources
        check = self.checks.get(cell.metadata.get("nbgrader", {}).get("grade_id")) if utils.is_grade(cell) else None
        source = cell.source
        if check is not None:
            cell.source = source.split(HIDDEN_MARK, 1)[0].rstrip()
        cell_started = time.perf_counter()
        try:
            super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.run.stopped = DIED
            cell.outputs.append(_error(KERNEL_DIED_ERROR, "the kernel died while running this cell (the process "
                                       "exited, crashed, or went over its memory or CPU limit)."))
        except CellTimeoutError:    # interrupted, the kernel did not answer: it swallows interrupts
            run_sync(self.km.shutdown_kernel)(now=True)
            self.run.stopped = WOULD_NOT_STOP
            cell.outputs.append(_error(TIMEOUT_ERROR, "this cell ran out of time and would not stop when "
                                       "interrupted, so the kernel was ended."))
        finally:
            cell.source = source
            if utils.is_solution(cell) or utils.is_grade(cell):
                self.run.graded_cell_seconds += time.perf_counter() - cell_started
        if check is not None and not self.run.stopped:
            cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result" and REPORT_MIME not in o.get("data", {})]
            if not any(o.output_type == "error" for o in cell.outputs):
                cell.outputs += self._judge_hidden(*check, index)
        self.run.timeouts += any(o.get("ename") == TIMEOUT_ERROR for o in cell.outputs)
        return cell, resources

    def _remaining(self) -> float:
        """Seconds left of the notebook's time budget."""
        return self._deadline - time.monotonic()

    def _get_timeout(self, cell):
        """A cell's timeout: the cell timeout, or what is left of the budget if that is less.

        Once a cell has run out of time, the lesson's own cells (neither answer nor test) get a
        sixth of it: shortened under grading, they finish in seconds unless they call the function
        that hangs, and then they must not spend the time the graded cells after them need."""
        timeout = self.timeout
        if self.run.timeouts and cell is not None and not (utils.is_solution(cell) or utils.is_grade(cell)):
            timeout = max(1, timeout // LESSON_SHARE_AFTER_TIMEOUT)
        return max(1, min(timeout, math.ceil(self._remaining())))

    def _judge_hidden(self, topic, name, points, index) -> list:
        """Outputs of the hidden checks of `name`, judged here on the function in the kernel."""
        started = time.perf_counter()
        address = self._channel / f"grading-{index}.sock"
        channel = Channel(address)
        address.chmod(0o777)
        deadline = time.monotonic() + self._get_timeout(None)
        request = self.kc.execute(SERVE.format(str(address)), silent=True, store_history=False, allow_stdin=False)
        try:
            channel.accept(deadline)
            function = RemoteFunction(channel, name)
            verdict = judge(topic, name, function, points)
            outputs = [new_output("display_data", data={"text/plain": verdict.report(), REPORT_MIME: {
                "name": name, "earned": verdict.earned, "points": points, "report": verdict.report(),
                "named": [[m.title, m.key] for m in verdict.named]}}),
                new_output("execute_result", data={"text/plain": repr(verdict.earned)}, execution_count=None)]
        except ChannelTimedOut as stop:
            outputs = [_error(TIMEOUT_ERROR, f"the hidden checks of {name} ran out of time: {stop}")]
        except ChannelFailed as failure:
            outputs = [_error("GradingChannelFailed", f"the hidden checks of {name} could not run: {failure}")]
        except Exception as error:
            self.run.grader_failed = f"the hidden checks of {name} failed: {type(error).__name__}: {error}"
            raise
        finally:
            channel.close()
            self.run.calls += channel.requests
            self.run.hidden_seconds += time.perf_counter() - started
        stopped = run_sync(self._finished)(request, max(deadline - time.monotonic(), 0) + GRACE)
        if stopped:
            self.run.stopped = stopped
            outputs.append(_error(TIMEOUT_ERROR if stopped == WOULD_NOT_STOP else KERNEL_DIED_ERROR,
                                  f"after its hidden checks, {stopped}."))
        return outputs

    async def _finished(self, request: str, seconds: float) -> str:
        """Wait for the kernel to end a request, interrupting it when time is up: "" when it
        did, else DIED or WOULD_NOT_STOP (it is then shut down)."""
        for wait, interrupt in ((seconds, True), (GRACE, False)):
            end = time.monotonic() + wait
            while time.monotonic() < end:
                try:
                    reply = await self.kc.get_shell_msg(timeout=max(end - time.monotonic(), 0.01))
                except queue.Empty:
                    break
                if reply["parent_header"].get("msg_id") == request:
                    return ""
            if not await self.km.is_alive():
                return DIED
            if interrupt:
                await self.km.interrupt_kernel()
        await self.km.shutdown_kernel(now=True)
        return WOULD_NOT_STOP

    def output(self, outs, msg, display_id, cell_index):
        size = len(repr(msg.get("content", {})))
        for key, limit, what in ((cell_index, self.max_output_bytes, "this cell"),
                                 ("notebook", self.max_notebook_output_bytes, "this notebook")):
            printed = self._printed[key] = self._printed.get(key, 0) + size
            if printed > limit:
                if printed - size <= limit:
                    outs.append(new_output("stream", name="stdout", text=(
                        f"\n[output cut: {what} printed more than {limit:,} bytes]\n")))
                return None
        return super().output(outs, msg, display_id, cell_index)


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
