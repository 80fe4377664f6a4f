"""Benchmark: `course grade` against nbgrader's own loop, `nbgrader autograde ASSIGNMENT`.

Builds a synthetic class (every assignment, a mix of complete, mistaken, blank and raising
submissions), copies it, grades one copy with `course grade` and the other as an instructor
would without it: `nbgrader autograde ASSIGNMENT`, once per assignment, nbgrader looping over
the class itself. Prints both wall times and their ratio, the wall time per notebook, the floor
(summed kernel starts, answer and test cells, hidden checks, and everything else), and whether
both gradebooks hold the same scores. A third copy is graded with `course grade --no-sandbox`,
whose kernels are started afresh rather than forked in a sandbox. A fourth is graded
through a `dask scheduler` with two `dask worker` processes started on this machine (as on lab
machines), against `course grade`'s own local cluster.

    python bench/grade_class.py [--students 10] [--workers N] [--dir .work/bench]
"""
import argparse
import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from nbgrader.api import Gradebook

from grader.pipeline.assignments import REPO, all_assignments
from grader.pipeline.classgrade import Ledger, release
from grader.pipeline.coursedir import COURSE_ID, CourseDir
from grader.authoring.sample_class import build_submissions, mistake_plans

sys.path.insert(0, str(REPO / "tests"))
from dask_cluster import dask_cluster  # noqa: E402  (the tests' real scheduler and workers)


def build_class(root: Path, students: int, timeout: int) -> CourseDir:
    """The class, released as `course grade` releases (and records it), so no run releases again."""
    course = CourseDir(root, timeout=timeout).create()
    for assignment in all_assignments():
        kinds = ["complete", "blank", "raises"] + [f"mistakes-{k + 1}" for k in range(len(mistake_plans(assignment.topic)))]
        roster = {f"s{i:03d}": kind for i, kind in zip(range(students), itertools.cycle(kinds))}
        release(course, [assignment], Ledger.of(course))
        build_submissions(course, assignment, roster)
    return course


def timed(command, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]))
    return time.perf_counter() - started


def scores(course: CourseDir) -> dict:
    with Gradebook(course.db_url, COURSE_ID) as gradebook:
        return {(a.name, s.student.id, g.name): g.auto_score for a in gradebook.assignments
                for s in gradebook.assignment_submissions(a.name) for n in s.notebooks for g in n.grades}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=10)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--timeout", type=int, default=60)
    p.add_argument("--dir", type=Path, default=REPO / ".work" / "bench")
    args = p.parse_args()
    if args.dir.exists():
        shutil.rmtree(args.dir)
    ours = build_class(args.dir / "course_grade", args.students, args.timeout)
    shutil.copytree(ours.root, args.dir / "baseline")
    baseline = CourseDir(args.dir / "baseline", timeout=args.timeout)
    notebooks = sum(1 for _ in ours.path("submitted").glob("*/*/*.ipynb"))
    print(f"{args.students} students x {len(all_assignments())} assignments: {notebooks} notebooks; "
          f"{os.cpu_count()} cores, {args.workers} workers", flush=True)

    shutil.copytree(ours.root, args.dir / "unsandboxed")
    unsandboxed = CourseDir(args.dir / "unsandboxed", timeout=args.timeout)
    shutil.copytree(ours.root, args.dir / "scheduler")
    through_scheduler = CourseDir(args.dir / "scheduler", timeout=args.timeout)
    course = [os.path.join(os.path.dirname(sys.executable), "course"), "grade", "--timeout", str(args.timeout)]
    local = course + ["--workers", str(args.workers)]
    ours_wall = timed(local + [str(ours.root)], REPO)
    print(f"course grade:               {ours_wall:8.1f} s", flush=True)
    unsandboxed_wall = timed(local + [str(unsandboxed.root), "--no-sandbox"], REPO)
    print(f"course grade --no-sandbox:  {unsandboxed_wall:8.1f} s", flush=True)
    no_profile = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}     # as the README starts lab workers
    with dask_cluster(args.dir / "cluster", workers=2, worker_env=no_profile) as cluster:
        scheduler_wall = timed(course + [str(through_scheduler.root), "--scheduler", cluster.address], REPO)
    print(f"course grade --scheduler (a scheduler and 2 workers started by hand): {scheduler_wall:8.1f} s", flush=True)
    baseline_wall = sum(timed([sys.executable, "-m", "nbgrader", "autograde", assignment.name], baseline.root)
                        for assignment in all_assignments())
    print(f"nbgrader autograde ASSIGNMENT, per assignment: {baseline_wall:8.1f} s", flush=True)

    entries = Ledger.of(ours).submissions.values()
    total = {key: sum(e.get(key, 0.0) for e in entries) for key in
             ("execute_seconds", "kernel_start_seconds", "graded_cell_seconds", "hidden_seconds", "calls")}
    execute_unsandboxed = sum(e["execute_seconds"] for e in Ledger.of(unsandboxed).submissions.values())
    core_seconds = ours_wall * args.workers
    floor = total["kernel_start_seconds"] + total["graded_cell_seconds"] + total["hidden_seconds"]
    print(f"\nspeed-up over nbgrader's loop: {baseline_wall / ours_wall:.2f}x")
    print(f"wall time per notebook: course grade {ours_wall / notebooks:.2f} s with {args.workers} workers, "
          f"nbgrader {baseline_wall / notebooks:.2f} s")
    print(f"course grade's {core_seconds:.1f} worker-seconds ({core_seconds / notebooks:.2f} per notebook), of which:")
    for label, seconds in (("kernel starts", total["kernel_start_seconds"]),
                           ("answer and test cells in the kernels", total["graded_cell_seconds"]),
                           ("hidden checks in the grading process", total["hidden_seconds"]),
                           ("the lessons' other cells", total["execute_seconds"] - floor),
                           ("everything else (nbgrader, Dask, idle workers)", core_seconds - total["execute_seconds"])):
        print(f"  {label:<52} {seconds:8.1f} s  {seconds / notebooks:5.2f} s per notebook")
    print(f"  the floor (the first three): {floor / notebooks:.2f} s per notebook; "
          f"{total['calls'] / notebooks:.0f} calls into the kernel per notebook")
    print(f"execution per notebook: {total['execute_seconds'] / notebooks:.2f} s in sandboxed kernels forked by the "
          f"fork server, {execute_unsandboxed / notebooks:.2f} s in unconfined kernels started afresh (--no-sandbox)")
    print(f"through a scheduler and 2 workers: {scheduler_wall / notebooks:.2f} s per notebook, "
          f"{scheduler_wall / ours_wall:.2f}x the local cluster's time")
    same = scores(ours) == scores(baseline) == scores(unsandboxed) == scores(through_scheduler)
    print(f"the four gradebooks hold the same automatic scores: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
