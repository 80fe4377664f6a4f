"""How `course grade` runs a submission: nbgrader's Execute made robust, and verified scores.

`GradingExecute` starts each kernel with `grader.kernel` imported first (resource limits,
the seal), caps what a cell may print, and survives a kernel that dies: the cell that killed
it and every later code cell get an error output, so they score 0 and nbgrader goes on to
save the grades of the cells that ran. `VerifyScores` keeps a test cell's score only when
the kernel's `grade` published exactly one validly signed score for it.

Kernels talk over Unix sockets in a folder of their own: TCP ports, picked free by one
process and bound later by a kernel, collide between parallel workers (the kernel then dies
before it answers). A kernel that does not start is recorded as such in LAST_RUN: that is
never the submission's fault.
"""
import os
import shutil
import tempfile
import time

from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, Unicode

from grader import seal

KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.exec_lines=import grader.kernel"]
KERNEL_DIED = "KernelDied"
TIMED_OUT = "CellTimeoutError"

# What the last execution in this process met; a grading worker runs one notebook at a time
# and resets it before each (grader.jobs.grade_job). "kernel_failed": why the kernel did not start.
LAST_RUN = {"seconds": 0.0, "timeouts": 0, "kernel_died": False, "kernel_failed": ""}


class GradingExecute(Execute):
    max_output_bytes = Integer(2_000_000, help="Output kept per cell; the rest is dropped.").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("extra_arguments", KERNEL_ARGUMENTS)
        kwargs.setdefault("shutdown_kernel", "immediate")     # the notebook is done: no graceful wait
        super().__init__(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._printed, self._kernel_ready = {}, False
        self._sockets = tempfile.mkdtemp(prefix="course-kernel-")
        started = time.perf_counter()
        try:
            return super().preprocess(nb, resources, km)
        except Exception as error:
            if not self._kernel_ready:
                LAST_RUN["kernel_failed"] = f"{type(error).__name__}: {error}"
            raise
        finally:
            LAST_RUN["seconds"] = time.perf_counter() - started
            shutil.rmtree(self._sockets, ignore_errors=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.transport, km.ip = "ipc", os.path.join(self._sockets, "kernel")
        return km

    def preprocess_cell(self, cell, resources, index):
        self._kernel_ready = True
        if cell.cell_type != "code":
            return cell, resources
        if LAST_RUN["kernel_died"]:
            cell.outputs = [_error(KERNEL_DIED, "not run: the kernel died in an earlier cell.")]
            return cell, resources
        try:
            super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            LAST_RUN["kernel_died"] = True
            cell.outputs.append(_error(KERNEL_DIED, "the kernel died while running this cell (the process "
                                       "exited, crashed, or went over its memory or CPU limit)."))
        LAST_RUN["timeouts"] += any(o.get("ename") == TIMED_OUT for o in cell.outputs)
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if seal.SCORE_MIME not in content.get("data", {}):
            printed = self._printed.get(cell_index, 0) + len(repr(content))
            self._printed[cell_index] = printed
            if printed > self.max_output_bytes:
                if printed - len(repr(content)) <= self.max_output_bytes:
                    outs.append(new_output("stream", name="stdout", text=(
                        f"\n[output cut: this cell printed more than {self.max_output_bytes:,} bytes]\n")))
                return None
        return super().output(outs, msg, display_id, cell_index)


class VerifyScores(NbGraderPreprocessor):
    key = Unicode(help="The job's signing key, also given to the kernel.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if not (utils.is_grade(cell) and cell.cell_type == "code" and not utils.is_solution(cell)):
            return cell, resources
        name = cell.metadata.nbgrader["grade_id"].removeprefix("test_")
        scores = seal.verified_scores(self.key, resources["nbgrader"]["notebook"], name, cell.outputs)
        cell.outputs = [o for o in cell.outputs
                        if o.output_type != "execute_result" and seal.SCORE_MIME not in o.get("data", {})]
        if any(o.output_type == "error" for o in cell.outputs):
            return cell, resources
        if len(scores) == 1:
            cell.outputs.append(new_output("execute_result", data={"text/plain": repr(scores[0])},
                                           execution_count=cell.get("execution_count")))
        else:
            cell.outputs.append(_error("ScoreNotVerified", (
                f"the grading code reported {len(scores)} signed scores for {name} instead of one "
                "(was the grader modified by the submission?).")))
        return cell, resources


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
