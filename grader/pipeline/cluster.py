"""Where `course grade` runs its jobs: a Dask cluster, started here or reached at a scheduler.

One code path for one machine and many: without a scheduler's address, a local cluster of
worker processes is started for the run. Jobs travel with their submissions' files and come
back as `Outcome`s (`grader.pipeline.jobs`); workers share no file system with this process.
Before anything is graded, every worker's installed course is compared with this one's
(`course_fingerprint`), and a run with a worker that differs stops.

At most one job per worker thread is handed to the scheduler at a time, so a worker that dies
takes down only the job it was running: Dask grades that one again on another worker, and a
job that took down `ALLOWED_DEATHS + 1` workers comes back as a `KilledWorker`, which the
caller records as "kernel died".
"""
import contextlib
import gc
import importlib.util
import logging
import time

import dask
from distributed import Client, KilledWorker, LocalCluster, as_completed
from distributed.client import FutureCancelledError

from grader.pipeline.jobs import Outcome, course_fingerprint, grade_job
from grader.pipeline.status import Status

ALLOWED_DEATHS = 1          # a job whose worker died once is tried again; twice, it is the culprit
CONNECT_SECONDS = 30        # to reach a scheduler
WORKERS_SECONDS = 120       # for a scheduler's first worker to connect


class ClusterProblem(RuntimeError):
    """The cluster cannot grade: no scheduler, no worker, a worker with another course, a lost scheduler."""


@contextlib.contextmanager
def connect(scheduler: str = None, workers: int = 1, local_directory: str = None):
    """A Dask client: of the scheduler at `scheduler`, or of a local cluster of `workers`
    single-threaded processes (their files in `local_directory`), closed at the end."""
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("distributed")] + ["distributed"]:
        logging.getLogger(name).setLevel(logging.CRITICAL)      # Dask's complaints are ours to word
    settings = {"distributed.scheduler.allowed-failures": ALLOWED_DEATHS,
                "distributed.scheduler.worker-saturation": 1.0, "temporary-directory": local_directory,
                # Dask samples its workers' stacks every 10 ms for the dashboard's profile: about 15%
                # of a grading worker's CPU time, spent on nothing a grader reads
                "distributed.worker.profile.enabled": False}
    with dask.config.set(settings), contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout=CONNECT_SECONDS))
            except OSError as error:
                raise ClusterProblem(f"could not reach the Dask scheduler at {scheduler}: {error}") from None
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       memory_limit=0, dashboard_address=":0",
                                                       silence_logs=logging.CRITICAL))
            client = stack.enter_context(Client(cluster))
            # a Python process's last collection walks every object it holds: in a worker that has
            # graded, 0.65 s of the cluster's close, spared by freezing them first
            stack.callback(client.run, gc.freeze, on_error="ignore")
        yield client


def check_workers(client) -> None:
    """Wait for a worker; refuse workers whose installed course differs from this one's."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_SECONDS)
    except TimeoutError:
        raise ClusterProblem(f"no Dask worker connected to the scheduler in {WORKERS_SECONDS} s") from None
    ours = course_fingerprint()
    differ = sorted(address for address, theirs in client.run(course_fingerprint).items() if theirs != ours)
    if differ:
        raise ClusterProblem(f"{len(differ)} Dask worker(s) have another version of the course installed than this "
                             f"machine (fingerprint {ours[:12]}): {', '.join(differ)}. Install the same version "
                             "on every worker, then run again; nothing was graded.")


def dashboard(client) -> str:
    """The address of the scheduler's dashboard ("" when it has none: it needs Bokeh)."""
    services = client.scheduler_info().get("services", {})
    return client.dashboard_link if "dashboard" in services and importlib.util.find_spec("bokeh") else ""


def run(client, jobs, payload, template: bytes, settings, on_done) -> None:
    """Grade `jobs` on the cluster (`payload(job)`: the job's files); call `on_done(outcome)`
    here as each one finishes. Raises ClusterProblem when the scheduler goes away (what
    finished was reported)."""
    check_workers(client)
    deaths = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) + 1
    waiting, running = list(reversed(jobs)), {}
    finished = as_completed()

    def submit() -> None:
        threads = sum(client.nthreads().values()) if waiting else 0
        while waiting and len(running) < threads:
            job = waiting.pop()
            future = client.submit(grade_job, job, payload(job), template, settings, pure=False,
                                   key=f"grade-{job.key}-{time.monotonic_ns()}")
            running[future.key] = job
            finished.add(future)

    submit()
    for future in finished:
        job = running.pop(future.key)
        try:
            outcome = future.result()
        except (FutureCancelledError, OSError) as lost:
            raise ClusterProblem(f"lost the Dask scheduler ({getattr(lost, 'reason', lost)}). What finished is "
                                 "recorded; run the same command again to grade the rest.") from None
        except KilledWorker:
            outcome = Outcome(job, Status.KERNEL_DIED, f"its grading process died {deaths} times while running it")
        except Exception as error:      # the task itself failed: ours, retried next run
            outcome = Outcome(job, Status.FAILED, f"the cluster could not run it: {type(error).__name__}: {error}")
        submit()
        on_done(outcome)
