"""Benchmark: `course grade` against grading one student at a time with `nbgrader autograde`.

Builds a synthetic class (every assignment, a mix of complete, mistaken, blank and raising
submissions), copies it, grades one copy with `course grade` and the other the way an
instructor would without it: `nbgrader autograde ASSIGNMENT --student ID`, one call after
another. Prints both wall times, their ratio, the seconds each notebook costs beyond its own
execution in its kernel, and whether both gradebooks hold the same scores. A third copy is
graded with `course grade --no-sandbox`: the difference in execution time per notebook is what
the sandbox costs; the hidden checks' time (judged in the grading process, every call into the
kernel included) is what the checks and their channel cost.

    python bench/grade_class.py [--students 30] [--workers N] [--dir .work/bench]
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
from grader.pipeline.classgrade import Ledger
from grader.pipeline.coursedir import COURSE_ID, CourseDir
from grader.authoring.sample_class import build_submissions, mistake_plans


def build_class(root: Path, students: int, timeout: int) -> CourseDir:
    course = CourseDir(root, timeout=timeout).create()
    for assignment in all_assignments():
        kinds = ["complete", "blank", "raises"] + [f"mistakes-{k + 1}" for k in range(len(mistake_plans(assignment.topic)))]
        roster = {f"s{i:03d}": kind for i, kind in zip(range(students), itertools.cycle(kinds))}
        course.generate(assignment)
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
    p.add_argument("--students", type=int, default=30)
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
    course = [os.path.join(os.path.dirname(sys.executable), "course"), "grade", "--workers", str(args.workers),
              "--timeout", str(args.timeout)]
    ours_wall = timed(course + [str(ours.root)], REPO)
    print(f"course grade:               {ours_wall:8.1f} s", flush=True)
    unsandboxed_wall = timed(course + [str(unsandboxed.root), "--no-sandbox"], REPO)
    print(f"course grade --no-sandbox:  {unsandboxed_wall:8.1f} s", flush=True)
    baseline_wall = sum(timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student],
                              baseline.root)
                        for assignment, student in sorted({(p.parent.name, p.parent.parent.name)
                                                           for p in baseline.path("submitted").glob("*/*/*.ipynb")}))
    print(f"nbgrader autograde --student, one by one: {baseline_wall:8.1f} s", flush=True)

    entries = Ledger.of(ours).submissions.values()
    execute = sum(e["execute_seconds"] for e in entries)
    hidden = sum(e["hidden_seconds"] for e in entries)
    calls = sum(e["calls"] for e in entries)
    execute_unsandboxed = sum(e["execute_seconds"] for e in Ledger.of(unsandboxed).submissions.values())
    in_worker = sum(e["seconds"] - e["execute_seconds"] for e in entries) / notebooks
    print(f"\nspeed-up: {baseline_wall / ours_wall:.2f}x")
    print(f"notebook execution in kernels (kernel start included), summed: {execute:.1f} s "
          f"({execute / notebooks:.2f} s per notebook)")
    print(f"course grade, grading work per notebook beyond execution, in the worker: {in_worker:.2f} s")
    print(f"course grade, all of its wall time x workers, minus execution, per notebook: "
          f"{(ours_wall * args.workers - execute) / notebooks:.2f} s")
    print(f"baseline, wall time minus the same execution, per notebook: {(baseline_wall - execute) / notebooks:.2f} s")
    print(f"the sandbox: execution per notebook {execute / notebooks:.2f} s sandboxed, "
          f"{execute_unsandboxed / notebooks:.2f} s without: {(execute - execute_unsandboxed) / notebooks:+.2f} s")
    print(f"the hidden checks in the grading process: {hidden / notebooks:.2f} s per notebook, "
          f"{calls / notebooks:.0f} calls into the kernel per notebook ({1000 * hidden / max(calls, 1):.2f} ms per call, "
          "checks included)")
    same = scores(ours) == scores(baseline) == scores(unsandboxed)
    print(f"the three gradebooks hold the same automatic scores: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
