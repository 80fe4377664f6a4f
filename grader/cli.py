"""`course`: the instructor's command line, a thin layer over grader's pipeline steps."""
import argparse
import shutil
import sys
import time
from pathlib import Path

from grader.assignments import REPO, select
from grader.coursedir import CourseDir, NbgraderFailed
from grader.fixtures import write_fixtures
from grader.sample_class import build_submissions
from grader.scores import read_submission, table

DEMO_DIR = REPO / ".work" / "demo"
DEMO_CLASS = {
    "ada": "complete",
    "ben": "mistakes-1",
    "chloe": "mistakes-2",
    "dmitri": "raises",
    "emma": "loops",
    "farid": "missing",
    "grace": "blank",
}
DEMO_LEGEND = ("ada: every answer right · ben, chloe: catalogued mistakes, one per function (where the "
               "functions it builds on are right) · dmitri: one function raises · emma: one function "
               "loops forever · farid: notebook missing · grace: the blank release")


def release(args) -> None:
    """Generate the student release in notebooks/ from solutions/ with nbgrader."""
    repo = CourseDir(REPO)
    for assignment in select(args.assignments):
        repo.generate(assignment)
        print(f"released {assignment.name} -> notebooks/{assignment.name}/")


def fixtures(args) -> None:
    """Regenerate the visible checks' stored values from the reference and the mistakes."""
    for path in write_fixtures(sorted({a.topic for a in select(args.assignments)})):
        print(f"wrote {path.relative_to(REPO)}")


def students_of(course) -> list:
    folder = course.path("submitted")
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


def grade_class(course, assignments, feedback: bool) -> None:
    """Autograde every student's submission of each assignment; print the score tables."""
    for assignment in assignments:
        started = time.perf_counter()
        course.generate(assignment)
        course.autograde(assignment)
        if feedback:
            course.feedback(assignment)
        students = [s for s in students_of(course) if course.path("submitted", s, assignment.name).exists()]
        print(f"\n== {assignment.name}: {len(students)} submissions graded in "
              f"{time.perf_counter() - started:.0f} s\n")
        print(table([read_submission(course, assignment, s) for s in students]))


def autograde(args) -> None:
    """Autograde a course directory holding submitted/<student>/<assignment>/."""
    course = CourseDir(args.course_dir, timeout=args.timeout)
    if not course.path("submitted").is_dir():
        raise SystemExit(f"{course.root} has no submitted/ folder (expected submitted/<student>/<assignment>/).")
    if not (course.root / "nbgrader_config.py").exists():
        course.create()
    grade_class(course, select(args.assignments), feedback=args.feedback)


def feedback(args) -> None:
    """Write nbgrader's HTML feedback for every graded submission."""
    course = CourseDir(args.course_dir)
    for assignment in select(args.assignments):
        course.feedback(assignment)
        print(f"feedback for {assignment.name} in {course.path('feedback')}")


def demo(args) -> None:
    """Release, build a sample class, autograde it, write feedback and print the scores."""
    if args.dir.exists():
        shutil.rmtree(args.dir)
    course = CourseDir(args.dir, timeout=args.timeout).create()
    assignments = select(args.assignments)
    print(f"Sample class in {course.root}\n{DEMO_LEGEND}")
    for assignment in assignments:
        course.generate(assignment)
        build_submissions(course, assignment, DEMO_CLASS)
    grade_class(course, assignments, feedback=True)
    print(f"\nFeedback: {course.path('feedback')}/<student>/<assignment>/\n"
          f"Gradebook: {course.root / 'gradebook.db'} (nbgrader's own tools read it: "
          f"cd {course.root} && nbgrader export)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="Instructor commands of the course.")
    sub = p.add_subparsers(dest="command", required=True)
    names = dict(nargs="*", metavar="ASSIGNMENT", help="assignment names (default: all), e.g. 01_gradient_descent")

    s = sub.add_parser("release", help=release.__doc__)
    s.add_argument("assignments", **names)
    s.set_defaults(run=release)

    s = sub.add_parser("fixtures", help=fixtures.__doc__)
    s.add_argument("assignments", **names)
    s.set_defaults(run=fixtures)

    s = sub.add_parser("autograde", help=autograde.__doc__)
    s.add_argument("course_dir", type=Path, help="folder holding submitted/<student>/<assignment>/")
    s.add_argument("assignments", **names)
    s.add_argument("--timeout", type=int, default=60, help="seconds each cell may run (default 60)")
    s.add_argument("--feedback", action="store_true", help="also write feedback")
    s.set_defaults(run=autograde)

    s = sub.add_parser("feedback", help=feedback.__doc__)
    s.add_argument("course_dir", type=Path)
    s.add_argument("assignments", **names)
    s.set_defaults(run=feedback)

    s = sub.add_parser("demo", help=demo.__doc__)
    s.add_argument("assignments", **names)
    s.add_argument("--dir", type=Path, default=DEMO_DIR, help=f"working folder (default {DEMO_DIR.relative_to(REPO)})")
    s.add_argument("--timeout", type=int, default=15, help="seconds each cell may run (default 15)")
    s.set_defaults(run=demo)
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except NbgraderFailed as failure:
        sys.exit(str(failure))
