"""Benchmark: `course grade` against grading one student at a time with `nbgrader autograde`.

Builds a synthetic class (every assignment, a mix of complete, mistaken, blank and raising
submissions), copies it, grades one copy with `course grade` and the other the way an
instructor would without it: `nbgrader autograde ASSIGNMENT --student ID`, one call after
another. Prints both wall times, their ratio, the seconds each notebook costs beyond its own
execution in its kernel, and whether both gradebooks hold the same scores.

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

    ours_wall = timed([os.path.join(os.path.dirname(sys.executable), "course"), "grade", str(ours.root), "--workers", str(args.workers),
                       "--timeout", str(args.timeout)], REPO)
    print(f"course grade:               {ours_wall:8.1f} s", flush=True)
    baseline_wall = sum(timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student],
                              baseline.root)
                        for assignment, student in sorted({(p.parent.name, p.parent.parent.name)
                                                           for p in baseline.path("submitted").glob("*/*/*.ipynb")}))
    print(f"nbgrader autograde --student, one by one: {baseline_wall:8.1f} s", flush=True)

    entries = Ledger.of(ours).submissions.values()
    execute = sum(e["execute_seconds"] for e in entries)
    in_worker = sum(e["seconds"] - e["execute_seconds"] for e in entries) / notebooks
    print(f"\nspeed-up: {baseline_wall / ours_wall:.2f}x")
    print(f"notebook execution in kernels (kernel start included), summed: {execute:.1f} s "
          f"({execute / notebooks:.2f} s per notebook)")
    print(f"course grade, grading work per notebook beyond execution, in the worker: {in_worker:.2f} s")
    print(f"course grade, all of its wall time x workers, minus execution, per notebook: "
          f"{(ours_wall * args.workers - execute) / notebooks:.2f} s")
    print(f"baseline, wall time minus the same execution, per notebook: {(baseline_wall - execute) / notebooks:.2f} s")
    same = scores(ours) == scores(baseline)
    print(f"gradebooks hold the same automatic scores: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
