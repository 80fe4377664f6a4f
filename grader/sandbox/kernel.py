"""The kernel manager of a grading kernel: jupyter_client's, with the kernel in a sandbox.

The kernel talks over Unix sockets in its channel folder (TCP ports picked free by one process
and bound later by a kernel collide between parallel workers), starts with the grading agent
imported (`course_lib.grading_agent`), is interrupted by message (no signal crosses into the
sandbox's PID namespace), and writes its own stdout and stderr to a file of its job, which the
file-size limit bounds.
"""
import os
import sys

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from grader.sandbox import bwrap

AGENT = "import course_lib.grading_agent; course_lib.grading_agent.start()"
ENVIRONMENT = {"NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg", "PYTHONNOUSERSITE": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}


class GradingKernelManager(AsyncKernelManager):
    """Set `work`, `channel` (folders), `limits` (bwrap.Limits), `output` (an open file),
    `sandboxed` and `files` (bwrap's read-only files) before starting the kernel."""
    work = channel = limits = output = None
    files = {}
    sandboxed = True

    @property
    def kernel_spec(self):
        argv = [sys.executable, "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                f"--IPKernelApp.exec_lines={AGENT}"]
        return KernelSpec(argv=argv, display_name="grading kernel", language="python", interrupt_mode="message")

    def format_kernel_cmd(self, extra_arguments=None) -> list:
        argv = super().format_kernel_cmd(extra_arguments)
        os.chmod(self.connection_file, 0o644)           # the sandbox's user reads it
        if not self.sandboxed:
            return argv
        return bwrap.command(argv, work=self.work, channel=self.channel, limits=self.limits,
                             environment=ENVIRONMENT, files=self.files)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.update(stdout=self.output, stderr=self.output, cwd=str(self.work))
        if not self.sandboxed:
            kw["env"] = {**kw.get("env", os.environ), **ENVIRONMENT}
        return await super()._async_launch_kernel(kernel_cmd, **kw)
