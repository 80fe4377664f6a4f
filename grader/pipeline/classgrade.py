"""`course grade`: every (student, assignment) of a class folder, graded in parallel.

Worker processes grade submissions into their own shard gradebooks (`grader.pipeline.jobs`); this
process alone writes the course's gradebook, the ledger and the feedback, one finished
submission at a time, so the gradebook is the same whatever the number of workers. The
ledger (`course_grade/ledger.json`) remembers what each submission and its checks were
when graded, and under which limits: a re-run grades only what changed (and, for a changed
limit, only the submissions a limit stopped), unless forced, and says why.
"""
import functools
import hashlib
import json
import multiprocessing
import os
import re
import sys
import shutil
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path

from nbgrader.api import Gradebook

from grader.reports import feedback
from grader.pipeline import gradebook
from grader.pipeline.assignments import REPO
from grader.pipeline.coursedir import COURSE_ID
from grader.pipeline.jobs import GradingLimits, Job, Outcome, Worker, grade_job, running_folder, submitted_files
from grader.pipeline.status import Status
from grader.pipeline.progress import Progress
from grader.reports.scores import read_submission

CHECK_FILES = ("grader/hidden/{}.py", "grader/reference/{}.py", "grader/mistakes/{}.py",
               "course_lib/checks/{}.py", "course_lib/fixtures/{}.json", "course_lib/checking.py",
               "course_lib/grading_agent.py", "course_lib/wire.py", "grader/checks/specs.py",
               "grader/checks/remote.py", "grader/pipeline/execute.py")
PATTERN = re.compile(r"[*?\[\]]")      # what glob reads as a pattern


class Ledger:
    """What was graded: {"submissions": {"student/assignment": entry}, "releases": {assignment: fingerprint}}.

    An entry holds the job's fingerprint, its status and detail, the limits it was graded
    under, and its times; the file is rewritten (atomically) after every change, so an
    interrupted run loses nothing.
    """

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {"submissions": {}, "releases": {}}
        self.submissions, self.releases = self.data["submissions"], self.data["releases"]

    @classmethod
    def of(cls, course) -> "Ledger":
        return cls(course.root / "course_grade" / "ledger.json")

    def get(self, student: str, assignment: str) -> dict:
        return self.submissions.get(f"{student}/{assignment}", {})

    def record(self, outcome, limits: GradingLimits) -> None:
        self.submissions[outcome.job.key] = {
            "fingerprint": outcome.job.fingerprint, "status": outcome.status, "detail": outcome.detail,
            "limits": asdict(limits),
            "seconds": round(outcome.seconds, 2), "execute_seconds": round(outcome.run.seconds, 2),
            "kernel_start_seconds": round(outcome.run.kernel_start_seconds, 2),
            "graded_cell_seconds": round(outcome.run.graded_cell_seconds, 2),
            "hidden_seconds": round(outcome.run.hidden_seconds, 2), "calls": outcome.run.calls}
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(partial, self.path)


def student_folders(course) -> list:
    """The name of every folder in the class folder's submitted/, sorted."""
    return sorted(p.name for p in course.path("submitted").iterdir() if p.is_dir())


def roster(course) -> list:
    """Every student with a folder in submitted/, but those `unusable_ids` names."""
    return [s for s in student_folders(course) if not PATTERN.search(s)]


def unusable_ids(course) -> list:
    """Student folders named with glob characters: nbgrader globs student ids, so it cannot
    grade them; they are left out, and `course grade` asks for them to be renamed."""
    return [s for s in student_folders(course) if PATTERN.search(s)]


def release(course, assignments, ledger: Ledger) -> None:
    """Generate each assignment into the course (release/ and the gradebook) when its source changed."""
    for assignment in assignments:
        fingerprint = hashlib.sha256(assignment.source.read_bytes()).hexdigest()
        if ledger.releases.get(assignment.name) != fingerprint or not course.path("release", assignment.name).exists():
            course.generate(assignment)
            ledger.releases[assignment.name] = fingerprint
            ledger.save()


def checks_fingerprint(assignment) -> str:
    """What grading an assignment depends on besides the submission and the limits: its source
    and its checks."""
    digest = hashlib.sha256()
    for path in [assignment.source] + [REPO / f.format(assignment.topic) for f in CHECK_FILES]:
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def job_fingerprint(folder: Path, base: str) -> str:
    """`base` (what the checks were), ":", then a digest of the submission folder's files: the
    bytes of regular files, the name of anything else (a link is never followed)."""
    digest = hashlib.sha256()
    for path in sorted(submitted_files(folder)):
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else b"not a regular file"
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + content)
    return f"{base}:{digest.hexdigest()}"



def same_submission(fingerprint: str, earlier: str) -> bool:
    """Whether two job fingerprints saw the same submitted files (the checks may differ)."""
    return ":" in earlier and fingerprint.split(":")[1] == earlier.split(":")[1]


def regrade_reason(job: Job, entry: dict, limits: GradingLimits) -> str:
    """Why a submission with this ledger entry is graded again now ("" when it is not)."""
    if not entry:
        return "new"
    if entry["status"] == Status.FAILED:
        return "grading failed last time"
    if not same_submission(job.fingerprint, entry["fingerprint"]):
        return "submission changed"
    if job.fingerprint != entry["fingerprint"]:
        return "assignment or checks changed"
    earlier = entry.get("limits", {})
    if limits.sandboxed and not earlier.get("sandboxed", False):
        return "graded without the sandbox last time"
    changed = [f"{name} {earlier.get(name)} -> {value}" for name, value in asdict(limits).items()
               if name != "sandboxed" and earlier.get(name) != value]
    if changed and Status(entry["status"]).limited:
        return f"{entry['status']} under other limits ({', '.join(changed)})"
    return ""


def plan(course, assignments, students, ledger: Ledger, force: bool, limits: GradingLimits) -> tuple:
    """(jobs to run, {job: why it runs}, submissions already graded) for the class folder's submissions."""
    jobs, reasons, done = [], {}, []
    for assignment in assignments:
        base = checks_fingerprint(assignment)
        for student in students:
            folder = course.path("submitted", student, assignment.name)
            if not folder.is_dir():
                continue
            job = Job(student, assignment.name, assignment.notebook, job_fingerprint(folder, base))
            reason = "--force" if force else regrade_reason(job, ledger.get(student, assignment.name), limits)
            if reason:
                jobs.append(job)
                reasons[job] = reason
            else:
                done.append(job)
    return jobs, reasons, done


def run(course, jobs, workers: int, limits: GradingLimits, on_done) -> None:
    """Grade `jobs` on `workers` processes; call on_done(outcome) here as each one finishes.

    A worker that dies (its kernel took it down) breaks the pool. The jobs that had not started
    run again in a new pool; those that were running are suspects, graded again afterwards one
    at a time, so that only the culprit is "kernel died" when its worker dies a second time.
    """
    shards = course.root / "course_grade" / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    base = shards / "base.db"       # workers copy this, never the gradebook being written
    shutil.copyfile(course.root / "gradebook.db", base)
    # the kernels' scratch folders, removed here even when a worker is killed before it cleans up
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    grade_pool = functools.partial(_pool, course, (course.root, base, limits, scratch), on_done=on_done)
    try:
        suspects = []
        while jobs:
            unfinished, running = grade_pool(jobs, workers)
            if unfinished and not running:      # a worker died between jobs: nothing to blame or retry
                for job in unfinished:
                    on_done(Outcome(job, Status.FAILED, "a grading process died; run again to retry"))
                break
            jobs = [job for job in unfinished if job.key not in running]
            suspects += [job for job in unfinished if job.key in running]
        for job in suspects:
            if grade_pool([job], 1)[0]:
                on_done(Outcome(job, Status.KERNEL_DIED, "its grading process died twice while running it"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(shards)
    shutil.rmtree(running_folder(course.root), ignore_errors=True)


def _pool(course, worker_args: tuple, jobs, workers: int, on_done) -> tuple:
    """Grade `jobs` in one process pool: (the jobs it did not finish because a worker died,
    the keys of the jobs that were running then)."""
    running = running_folder(course.root)
    shutil.rmtree(running, ignore_errors=True)
    unfinished = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=Worker.start,
                             initargs=worker_args) as pool:
        futures = {pool.submit(grade_job, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool:
                unfinished.append(futures[future])
                continue
            on_done(outcome)
    return unfinished, {p.read_text() for p in running.iterdir()} if running.is_dir() else set()


def merge(course, outcome, earlier: dict) -> None:
    """Write one outcome into the course's gradebook (nothing for our own failures): the grades
    in its shard, or zeros where none ran. `earlier` is the ledger's entry from before: manual
    grades are flagged for review only if the submitted files changed since."""
    job = outcome.job
    if outcome.status == Status.FAILED:
        return
    with course.gradebook() as target:
        if outcome.status.not_run or not outcome.shard:
            gradebook.record_zero(target, job.assignment, job.student, f"{outcome.status}: {outcome.detail}")
        else:
            review = not same_submission(job.fingerprint, earlier.get("fingerprint", ""))
            with Gradebook(outcome.shard, COURSE_ID) as source:
                gradebook.copy_submission(source, target, job.assignment, job.student, review)


def grade_class(course, assignments, students=None, workers: int = 1, force: bool = False,
                limits: GradingLimits = GradingLimits(), shard=(1, 1), progress=None) -> list:
    """Grade the class folder's submissions (of `students` only, if given; of the `shard` = (i, n)
    i-th of every n students); return the SubmissionResult of every student of the shard,
    graded now or before. `limits.sandboxed=False` runs student code unprotected (see the README)."""
    ledger = Ledger.of(course)
    release(course, assignments, ledger)
    in_shard = [s for i, s in enumerate(roster(course)) if i % shard[1] == shard[0] - 1]
    chosen = [s for s in in_shard if not students or s in students]
    jobs, reasons, done = plan(course, assignments, chosen, ledger, force, limits)
    by_name = {a.name: a for a in assignments}
    why = ", ".join(f"{count} {reason}" for reason, count in Counter(reasons.values()).most_common())
    print(f"{len(jobs)} submission(s) to grade{f' ({why})' if why else ''}, {len(done)} unchanged since graded"
          f"{' (--force regrades them)' if done else ''}; {workers} worker(s).", file=sys.stderr)
    tell = progress or Progress(len(jobs))

    def finished(outcome) -> None:
        merge(course, outcome, ledger.get(outcome.job.student, outcome.job.assignment))
        ledger.record(outcome, limits)
        if outcome.status != Status.FAILED:
            assignment = by_name[outcome.job.assignment]
            feedback.write(course, assignment, read_submission(course, assignment, outcome.job.student,
                                                               outcome.status, outcome.detail))
        tell(outcome)

    run(course, jobs, workers, limits, finished)
    return class_results(course, assignments, in_shard, ledger)


def class_results(course, assignments, students=None, ledger=None) -> list:
    """A SubmissionResult for every student (default: the whole class) and assignment, as the
    ledger (default: the course's) says it was graded; "not submitted" where nothing came in."""
    students = roster(course) if students is None else students
    ledger = ledger or Ledger.of(course)
    results = []
    for assignment in assignments:
        for student in students:
            entry = ledger.get(student, assignment.name)
            if entry or not course.path("submitted", student, assignment.name).is_dir():
                results.append(read_submission(course, assignment, student,
                                               Status(entry.get("status", Status.NOT_SUBMITTED)),
                                               entry.get("detail", "")))
    return results


def merge_courses(target, shards, assignments) -> int:
    """Merge course directories graded elsewhere (`--shard i/n`) into `target`; return how many
    submissions came in. Grades go through nbgrader's API; graded notebooks, feedback and
    ledger entries are copied; the target's manual grades are kept."""
    ledger = Ledger.of(target)
    release(target, assignments, ledger)
    names = {a.name for a in assignments}
    merged = 0
    for shard in shards:
        theirs = Ledger.of(shard)
        for key, entry in theirs.submissions.items():
            student, assignment = key.split("/")
            if assignment not in names or entry["status"] == Status.FAILED:
                continue
            job = Job(student, assignment, "", entry["fingerprint"])
            merge(target, Outcome(job, Status(entry["status"]), entry["detail"], shard.db_url),
                  ledger.get(student, assignment))
            for kind in ("submitted", "autograded", "feedback"):
                source = shard.path(kind, student, assignment)
                if source.is_dir() and source.resolve() != target.path(kind, student, assignment).resolve():
                    shutil.copytree(source, target.path(kind, student, assignment), dirs_exist_ok=True)
            ledger.submissions[key] = entry
            merged += 1
    ledger.save()
    return merged
