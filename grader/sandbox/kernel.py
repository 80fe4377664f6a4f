"""The kernel manager of a grading kernel: jupyter_client's, with the kernel forked in a sandbox
by this worker's fork server (`grader.sandbox.forkserver`), or started unconfined.

The kernel talks over Unix sockets in its channel folder (TCP ports picked free by one process
and bound later by a kernel collide between parallel workers), starts with the grading agent
imported (`course_lib.grading_agent`), is interrupted by message (no signal crosses into the
sandbox's PID namespace), and writes its own stdout and stderr to a file of its job, which the
file-size limit bounds.
"""
import os
import queue
import sys
import time

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

AGENT = "import course_lib.grading_agent; course_lib.grading_agent.start()"
END_POLL_SECONDS = 0.005        # between looks at a kernel that was told to end
ENVIRONMENT = {"NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg", "PYTHONNOUSERSITE": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}


class GradingKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel has answered kernel_info on the shell
    channel and published on IOPub: it does not then wait for 0.2 s of silence on IOPub, as nbclient
    keeps only the messages of each cell's own request."""

    async def wait_for_ready(self, timeout=None) -> None:
        deadline = time.monotonic() + (60 if timeout is None else timeout)
        while time.monotonic() < deadline:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
                if reply["msg_type"] == "kernel_info_reply":
                    await self.iopub_channel.get_msg(timeout=0.2)      # IOPub is connected
                    self._handle_kernel_info_reply(reply)
                    return
            except queue.Empty:
                pass
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


class GradingKernelManager(AsyncKernelManager):
    """Set `work`, `channel` (folders), `limits` (bwrap.Limits), `output` (an open file) and
    `fork_server` (a ForkServer, or None: the kernel runs unconfined) before starting the kernel."""
    work = channel = limits = output = fork_server = None
    client_factory = Type(GradingKernelClient)

    @property
    def kernel_spec(self):
        argv = [sys.executable, "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                f"--IPKernelApp.exec_lines={AGENT}", "--HistoryManager.enabled=False", "--InteractiveShell.xmode=Plain"]
        return KernelSpec(argv=argv, display_name="grading kernel", language="python", interrupt_mode="message")

    def format_kernel_cmd(self, extra_arguments=None) -> list:
        argv = super().format_kernel_cmd(extra_arguments)
        os.chmod(self.connection_file, 0o644)           # the sandbox's user reads it
        if self.fork_server is None:
            return argv
        # parent_handle=1: no parent to poll (the kernel ends with its launcher), and no console banner in its log
        return self.fork_server.kernel_command(argv[argv.index("ipykernel_launcher") + 1:]
                                               + ["--IPKernelApp.parent_handle=1"], work=self.work,
                                               channel=self.channel, limits=self.limits)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """Wait for the kernel's process to end, looking every few milliseconds: jupyter_client looks
        every 0.1 s, and a killed kernel is gone long before, while its worker sits idle."""
        await super()._async_wait(pollinterval=END_POLL_SECONDS)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.update(stdout=self.output, stderr=self.output, cwd=str(self.work))
        if self.fork_server is None:
            kw["env"] = {**kw.get("env", os.environ), **ENVIRONMENT}
        return await super()._async_launch_kernel(kernel_cmd, **kw)
