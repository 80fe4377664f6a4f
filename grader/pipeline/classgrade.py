"""`course grade`: every (student, assignment) of a class folder, graded on a Dask cluster.

The cluster (`grader.pipeline.cluster`) grades; this process alone writes down what comes back,
one finished submission at a time: the gradebook (SQLite in the class folder, or the database
its nbgrader_config.py names), the autograded folders, the feedback, the log and the ledger. The
ledger (`course_grade/ledger.json`) remembers what each submission and its checks were when
graded, and under which limits: a re-run grades only what changed (and, for a changed limit,
only the submissions a limit stopped), unless forced, and says why; a run that stopped (the
scheduler went away) resumes where it was.
"""
import hashlib
import json
import os
import re
import sys
import shutil
import tempfile
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

from grader.reports import feedback
from grader.pipeline import cluster, gradebook
from grader.pipeline.assignments import REPO
from grader.pipeline.jobs import (GradingLimits, Job, Outcome, Settings, course_fingerprint, payload, refused,
                                  submitted_files)
from grader.pipeline.status import Status
from grader.pipeline.progress import Progress
from grader.reports.scores import read_submission

CHECK_FILES = ("grader/hidden/{}.py", "grader/reference/{}.py", "grader/mistakes/{}.py",
               "course_lib/checks/{}.py", "course_lib/fixtures/{}.json", "course_lib/checking.py",
               "course_lib/grading_agent.py", "course_lib/wire.py", "grader/checks/specs.py",
               "grader/checks/remote.py", "grader/pipeline/execute.py", "grader/pipeline/jobs.py")
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


def grade_class(course, assignments, students=None, workers: int = 1, force: bool = False,
                limits: GradingLimits = GradingLimits(), scheduler: str = None, progress=None) -> list:
    """Grade the class folder's submissions (of `students` only, if given) on a Dask cluster: the
    scheduler at `scheduler`, else a local one of `workers` processes. Returns the
    SubmissionResult of every student, graded now or before. `limits.sandboxed=False` runs
    student code unprotected (see the README). Raises ClusterProblem when the cluster cannot grade."""
    ledger = Ledger.of(course)
    release(course, assignments, ledger)
    chosen = [s for s in roster(course) if not students or s in students]
    jobs, reasons, done = plan(course, assignments, chosen, ledger, force, limits)
    by_name = {a.name: a for a in assignments}
    why = ", ".join(f"{count} {reason}" for reason, count in Counter(reasons.values()).most_common())
    where = f"the Dask scheduler at {scheduler}" if scheduler else f"{workers} local worker(s)"
    print(f"{len(jobs)} submission(s) to grade{f' ({why})' if why else ''}, {len(done)} unchanged since graded"
          f"{' (--force regrades them)' if done else ''}; on {where}.", file=sys.stderr)
    tell = progress or Progress(len(jobs))
    logs = course.root / "course_grade" / "logs" / "grading.log"
    logs.parent.mkdir(parents=True, exist_ok=True)

    read = {}       # "student/assignment": the SubmissionResult of each submission graded now
    with course.gradebook() as book, logs.open("a") as log, tempfile.TemporaryDirectory(prefix="course-grade-") as scratch:
        def finished(outcome) -> None:
            if outcome.log:
                log.write(f"== {outcome.job.key}: {outcome.status}\n{outcome.log}\n")
            record(course, book, outcome, ledger.get(outcome.job.student, outcome.job.assignment))
            ledger.record(outcome, limits)
            if outcome.status != Status.FAILED:
                assignment = by_name[outcome.job.assignment]
                result = read[outcome.job.key] = read_submission(course, assignment, outcome.job.student,
                                                                 outcome.status, outcome.detail, book)
                feedback.write(course, assignment, result)
            tell(outcome)

        shipped = []
        for job in jobs:
            refusal = refused(submission_folder(course, job), job)
            if refusal:
                finished(refusal)
            else:
                shipped.append(replace(job, extension_seconds=gradebook.extension_seconds(book, job.assignment,
                                                                                          job.student)))
        if shipped:
            settings = Settings(limits, (course.root / "nbgrader_config.py").read_text(), course_fingerprint(),
                                "" if scheduler else scratch)
            with cluster.connect(scheduler, workers, local_directory=scratch) as client:
                address = cluster.dashboard(client)
                if address:
                    print(f"Dask dashboard: {address}", file=sys.stderr)
                cluster.run(client, shipped, lambda job: payload(submission_folder(course, job)),
                            gradebook.template(course.db_url), settings, finished)
    return class_results(course, assignments, ledger=ledger, read=read)


def submission_folder(course, job: Job) -> Path:
    return course.path("submitted", job.student, job.assignment)


def record(course, book, outcome: Outcome, earlier: dict) -> None:
    """Write one outcome down (nothing for our own failures): its autograded folder, and its
    grades in the gradebook `book`, or zeros where nothing ran. `earlier` is the ledger's entry
    from before: manual grades are flagged for review only if the submitted files changed since."""
    job = outcome.job
    if outcome.status == Status.FAILED:
        return
    folder = course.path("autograded", job.student, job.assignment)
    shutil.rmtree(folder, ignore_errors=True)
    for name, content in outcome.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    if outcome.grades is None:
        gradebook.record_zero(book, job.assignment, job.student, f"{outcome.status}: {outcome.detail}")
    else:
        review = not same_submission(job.fingerprint, earlier.get("fingerprint", ""))
        gradebook.record(book, outcome.grades, job.assignment, job.student, review)


def class_results(course, assignments, students=None, ledger=None, read=None) -> list:
    """A SubmissionResult for every student (default: the whole class) and assignment, as the
    ledger (default: the course's) says it was graded; "not submitted" where nothing came in.
    `read`: {"student/assignment": SubmissionResult} of submissions read from the gradebook already."""
    students = roster(course) if students is None else students
    ledger = ledger or Ledger.of(course)
    results = []
    with course.gradebook() as book:
        for assignment in assignments:
            for student in students:
                entry = ledger.get(student, assignment.name)
                if f"{student}/{assignment.name}" in (read or {}):
                    results.append(read[f"{student}/{assignment.name}"])
                elif entry or not course.path("submitted", student, assignment.name).is_dir():
                    results.append(read_submission(course, assignment, student,
                                                   Status(entry.get("status", Status.NOT_SUBMITTED)),
                                                   entry.get("detail", ""), book))
    return results
