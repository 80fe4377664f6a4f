"""`course`: the instructor's command line, a thin layer over grader's pipeline steps.

Each command imports the steps it runs when it runs: `course check` need not wait for nbgrader,
Dask and Matplotlib to load, nor a local cluster's workers, which import this module as they
start, for what only the grading process uses."""
import argparse
import gc
import os
import shutil
import sys
import zipfile
from pathlib import Path

from grader.pipeline.assignments import REPO, select
from grader.pipeline.status import Status
from grader.reports.export import FORMATS as EXPORT_FORMATS

DEMO_DIR = REPO / ".work" / "demo"
BUNDLE_DIR = REPO / ".work" / "bundle"
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
    from grader.pipeline.coursedir import CourseDir

    repo = CourseDir(REPO)
    for assignment in select(args.assignments):
        repo.generate(assignment)
        print(f"released {assignment.name} -> notebooks/{assignment.name}/")


def fixtures(args) -> None:
    """Regenerate the visible checks' stored values from the reference and the mistakes."""
    from grader.authoring.fixtures import write_fixtures

    for path in write_fixtures(sorted({a.topic for a in select(args.assignments)})):
        print(f"wrote {path.relative_to(REPO)}")


def bundle(args) -> None:
    """Write the archive to hand to students: release notebooks, a wheel of course_lib, a README."""
    from grader.authoring.bundle import BundleRefused, build_bundle

    try:
        archive = build_bundle(args.out, select(args.assignments))
    except BundleRefused as refusal:
        sys.exit(str(refusal))
    with zipfile.ZipFile(archive) as written:
        print(f"wrote {archive}:\n  " + "\n  ".join(written.namelist()))


def class_folder(path: Path, timeout: int = 60):
    """The course directory at `path`, which must hold submitted/<student>/<assignment>/."""
    from grader.pipeline.coursedir import CourseDir

    course = CourseDir(path, timeout=timeout)
    if not course.path("submitted").is_dir():
        raise SystemExit(f"{course.root} has no submitted/ folder (expected submitted/<student>/<assignment>/).")
    if not (course.root / "nbgrader_config.py").exists():
        course.create()
    elif course.secure():
        print(f"Added to {course.root / 'nbgrader_config.py'} the settings that make formgrader sanitise "
              "students' HTML and keep hidden tests out of its feedback.", file=sys.stderr)
    return course


def submitted_assignments(course, names) -> list:
    """The assignments named, or else every assignment someone submitted."""
    if names:
        return select(names)
    handed_in = {p.name for p in course.path("submitted").glob("*/*") if p.is_dir()}
    return [a for a in select([]) if a.name in handed_in]


def grade(args) -> None:
    """Grade a class folder in parallel: gradebook, feedback, report (only what changed)."""
    from grader.pipeline import gradebook
    from grader.pipeline.classgrade import grade_class, unusable_ids
    from grader.reports.scores import printable

    course = class_folder(args.course_dir, args.timeout)
    if args.db and args.db != course.db_url:
        moved = ""
        if course.has_gradebook():
            gradebook.move(course.db_url, args.db)
            moved = f" (copied whole from {printable_url(course.db_url)})"
        course.use_database(args.db)
        print(f"The gradebook is now {printable_url(args.db)}{moved}: {course.root / 'nbgrader_config.py'} names it, "
              "for formgrader and nbgrader's commands too.", file=sys.stderr)
    results = grade_class(course, submitted_assignments(course, args.assignments), args.student,
                          args.workers or os.cpu_count(), args.force, limits(args), args.scheduler)
    print_report(course, results)
    failed = [f"{r.student} {r.assignment}" for r in results if r.status == Status.FAILED]
    problems = [f"{len(failed)} submission(s) could not be graded ({Status.FAILED}: an error of the grader, not of "
                f"the students; nothing was recorded for them): {', '.join(failed)}. The grading log is "
                f"{course.root / 'course_grade' / 'logs' / 'grading.log'}; run the same command again to retry them."] if failed else []
    unusable = unusable_ids(course)
    if unusable:
        problems.append(f"Not graded: student folder(s) named with * ? [ or ], which nbgrader reads as patterns: "
                        f"{', '.join(map(printable, unusable))}. Rename them (nothing was recorded for them).")
    if problems:
        sys.exit("\n" + "\n".join(problems))


def limits(args):
    """The grading limits the options ask for (the notebook's budget defaults to 5 cell timeouts)."""
    from grader.pipeline.jobs import GradingLimits

    return GradingLimits(args.timeout, args.notebook_timeout or 5 * args.timeout, args.memory, sandboxed(args))


def sandboxed(args) -> bool:
    """Whether to grade in sandboxes: stop when they cannot be made, warn when refused."""
    from grader.sandbox import bwrap

    if args.no_sandbox:
        print("WARNING: --no-sandbox: student code runs unconfined, as you. These results are not protected "
              "against hostile code (see the README, \"What grading protects against\").", file=sys.stderr)
        return False
    why = bwrap.unavailable()
    if why:
        sys.exit(f"course grade runs every student's kernel in a sandbox, and {why}. Install bubblewrap, "
                 "or grade with --no-sandbox where you trust every submission.")
    return True


def print_report(course, results) -> None:
    from grader.reports import report

    paths = report.write_report(results, course.root / "course_grade", course.db_url, course.path("feedback"))
    print(report.summary(results))
    print(f"\nReport: {paths['html']}\nScores: {paths['csv']}\nFeedback: {course.path('feedback')}/<student>/"
          f"<assignment>/\nGradebook: {printable_url(course.db_url)} (formgrader and `nbgrader export` read it)")


def printable_url(url: str) -> str:
    """A gradebook's URL fit to print: an SQLite file's path, a server's URL without its password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "sqlite" else parsed.render_as_string(hide_password=True)


def feedback(args) -> None:
    """Rewrite every feedback page and the class report from the gradebook (after manual grading, say)."""
    from grader.pipeline.classgrade import class_results
    from grader.reports import feedback as feedback_page

    course = class_folder(args.course_dir)
    assignments = submitted_assignments(course, args.assignments)
    by_name = {a.name: a for a in assignments}
    results = class_results(course, assignments)
    written = 0
    for result in results:
        if result.status != Status.NOT_SUBMITTED:
            feedback_page.write(course, by_name[result.assignment], result)
            written += 1
    print(f"wrote {written} feedback page(s) in {course.path('feedback')}\n")
    print_report(course, results)


def similarity(args) -> None:
    """Rank pairs of students by the answers they share beyond the release: a reason to look, not evidence."""
    from grader.reports import similarity as answer_similarity
    from grader.reports.scores import printable

    course = class_folder(args.course_dir)
    assignment = select([args.assignment])[0]
    release = course.path("release", assignment.name, assignment.notebook)
    if not release.exists():
        course.generate(assignment)
    answers, skipped = answer_similarity.class_answers(course, assignment)
    for name, why in skipped:
        print(f"skipped {printable(name)}: {printable(why)}", file=sys.stderr)
    pairs = answer_similarity.rank_pairs(answer_similarity.read_answers(release), answers)
    page = answer_similarity.write_html(course.root / "course_grade" / f"similarity_{assignment.name}.html",
                                        assignment.name, pairs[:args.top], len(answers), skipped)
    print(f"{assignment.name}: {len(answers)} submissions, the {min(args.top, len(pairs))} most similar of "
          f"{len(pairs)} pairs sharing text beyond the release (score: the fraction of their answers they share)\n")
    print(answer_similarity.summary(pairs, args.top))
    print(f"\nSide by side: {page}\nSimilar answers to a short exercise are expected: a high score is a reason "
          "to look at the pair and talk to the students, not evidence of copying.")


def export(args) -> None:
    """Write the class's grades from its gradebook as a CSV: Canvas's gradebook import, or nbgrader's columns."""
    from grader.pipeline.classgrade import class_results
    from grader.reports import export as grades_export, report

    course = class_folder(args.course_dir)
    if not course.has_gradebook():
        sys.exit(f"{course.root} has no gradebook ({printable_url(course.db_url)}): grade the class first "
                 f"(course grade {course.root}).")
    results = class_results(course, submitted_assignments(course, args.assignments))
    path = args.out or course.root / "course_grade" / f"{args.format}.csv"
    grades_export.write(results, path, args.format, report.read_gradebook_columns(course.db_url))
    print(f"wrote {path}: {len({r.student for r in results})} students, "
          f"{len({r.assignment for r in results})} assignment(s), format {args.format}")


def check(args) -> None:
    """Run a notebook's visible checks (no hidden tests) and print each exercise's status."""
    from course_lib.selfcheck import check_path

    sys.exit(check_path(args.path))


def demo(args) -> None:
    """Release, build a sample class, grade it, write feedback and the report."""
    from grader.authoring.sample_class import build_submissions
    from grader.pipeline.classgrade import Ledger, grade_class, release as release_assignments
    from grader.pipeline.coursedir import CourseDir
    from grader.reports.scores import table

    if args.dir.exists():
        shutil.rmtree(args.dir)
    course = CourseDir(args.dir, timeout=args.timeout).create()
    assignments = select(args.assignments)
    print(f"Sample class in {course.root}\n{DEMO_LEGEND}", flush=True)
    ledger = Ledger.of(course)
    for assignment in assignments:
        print(f"releasing {assignment.name} and writing the sample class's submissions", flush=True)
        release_assignments(course, [assignment], ledger)
        build_submissions(course, assignment, DEMO_CLASS)
    results = grade_class(course, assignments, workers=args.workers or os.cpu_count(), limits=limits(args))
    for assignment in assignments:
        print(f"\n== {assignment.name}\n")
        print(table([r for r in results if r.assignment == assignment.name]))
    print()
    print_report(course, results)


def at_least(low: int):
    """An argparse type: a whole number >= low."""
    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {low}, got {value}")
        return value
    return whole_number


class CommandParser(argparse.ArgumentParser):
    """A command's parser that takes its positional arguments between options too, as in
    `course grade CLASS --force 07_deep_networks` (argparse alone stops at the first option)."""
    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        if self._intermixing:       # parse_known_intermixed_args calls back here for its two passes
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="Instructor commands of the course.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    names = dict(nargs="*", default=[], metavar="ASSIGNMENT", help="assignment names (default: all), e.g. 01_gradient_descent")
    workers = dict(type=at_least(1), help="processes of the local cluster (default: the cores)")
    no_sandbox = dict(action="store_true",
                      help="run student code without the bubblewrap sandbox (unprotected: trusted submissions only)")
    notebook_timeout = dict(type=at_least(1), metavar="SECONDS",
                            help="seconds a whole notebook may run, hidden checks included (default: 5 x --timeout)")
    memory = dict(type=at_least(64), default=2048, help="MiB of memory each kernel may use (default 2048)")

    s = sub.add_parser("release", help=release.__doc__)
    s.add_argument("assignments", **names)
    s.set_defaults(run=release)

    s = sub.add_parser("fixtures", help=fixtures.__doc__)
    s.add_argument("assignments", **names)
    s.set_defaults(run=fixtures)

    s = sub.add_parser("bundle", help=bundle.__doc__)
    s.add_argument("assignments", **names)
    s.add_argument("--out", type=Path, default=BUNDLE_DIR,
                   help=f"folder to write the archive in (default {BUNDLE_DIR.relative_to(REPO)})")
    s.set_defaults(run=bundle)

    s = sub.add_parser("grade", help=grade.__doc__)
    s.add_argument("course_dir", type=Path, help="folder holding submitted/<student>/<assignment>/")
    s.add_argument("assignments", **names)
    s.add_argument("--student", action="append", help="grade only this student (repeatable)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--workers", **workers)
    where.add_argument("--scheduler", metavar="ADDRESS", help="grade on the Dask cluster whose scheduler is at "
                       "ADDRESS, e.g. tcp://10.0.0.5:8786 (default: a local cluster of --workers processes)")
    s.add_argument("--force", action="store_true", help="regrade submissions already graded and unchanged")
    s.add_argument("--timeout", type=at_least(1), default=60, help="seconds each cell may run (default 60)")
    s.add_argument("--notebook-timeout", **notebook_timeout)
    s.add_argument("--memory", **memory)
    s.add_argument("--no-sandbox", **no_sandbox)
    s.add_argument("--db", metavar="URL", help="keep the gradebook in this database (nbgrader's db_url, e.g. "
                   "postgresql://user@host/gradebook) from now on, instead of CLASS/gradebook.db")
    s.set_defaults(run=grade)

    s = sub.add_parser("feedback", help=feedback.__doc__)
    s.add_argument("course_dir", type=Path)
    s.add_argument("assignments", **names)
    s.set_defaults(run=feedback)

    s = sub.add_parser("similarity", help=similarity.__doc__)
    s.add_argument("course_dir", type=Path, help="folder holding submitted/<student>/<assignment>/")
    s.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment to compare, e.g. 01_gradient_descent")
    s.add_argument("--top", type=at_least(1), default=20, help="pairs to print and show on the page (default 20)")
    s.set_defaults(run=similarity)

    s = sub.add_parser("export", help=export.__doc__)
    s.add_argument("course_dir", type=Path, help="a class folder graded by `course grade`")
    s.add_argument("assignments", **names)
    s.add_argument("--format", choices=EXPORT_FORMATS, default="canvas",
                   help="canvas: Canvas's gradebook import; nbgrader: the class report's scores.csv (default canvas)")
    s.add_argument("--out", type=Path, help="the CSV to write (default CLASS/course_grade/FORMAT.csv)")
    s.set_defaults(run=export)

    s = sub.add_parser("check", help=check.__doc__)
    s.add_argument("path", type=Path, help="a notebook, or a folder of notebooks")
    s.set_defaults(run=check)

    s = sub.add_parser("demo", help=demo.__doc__)
    s.add_argument("assignments", **names)
    s.add_argument("--dir", type=Path, default=DEMO_DIR, help=f"working folder (default {DEMO_DIR.relative_to(REPO)})")
    s.add_argument("--timeout", type=at_least(1), default=15, help="seconds each cell may run (default 15)")
    s.add_argument("--notebook-timeout", **notebook_timeout)
    s.add_argument("--memory", **memory)
    s.add_argument("--workers", **workers)
    s.add_argument("--no-sandbox", **no_sandbox)
    s.set_defaults(run=demo)
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    # nbgrader runs `alembic` by name when it creates a gradebook: this environment's bin/ first.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    try:
        args.run(args)
    except Exception as failure:
        from grader.pipeline.cluster import ClusterProblem
        from grader.pipeline.coursedir import NbgraderFailed
        from grader.pipeline.gradebook import DatabaseInUse

        if isinstance(failure, (NbgraderFailed, ClusterProblem, DatabaseInUse)):
            sys.exit(str(failure))
        raise
    gc.freeze()     # Python's last collection at exit would walk everything loaded: 0.6 s after `course grade`
