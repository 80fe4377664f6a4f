"""Writing results into nbgrader's gradebook from one process only.

Grading workers each write to a private copy of the gradebook (a shard); the grading process
copies every finished submission from its shard into the course's gradebook with nbgrader's
own API. The same copy merges course directories graded on several machines.
Automatic fields are copied; manual grades and comments already in the target are kept.
"""
import warnings

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

# nbgrader's add_submission builds its rows before adding them to the session, which SQLAlchemy warns about.
warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")


def copy_submission(source: Gradebook, target: Gradebook, assignment: str, student: str, review: bool) -> None:
    """Copy one student's automatic grades, comments and timestamp from `source` to `target`.

    A manual grade in `target` is kept; with `review` (the submission changed) it is flagged
    for review, as nbgrader's autograde flags it, else it stays as graded.
    """
    submitted = source.find_submission(assignment, student)
    person = submitted.student
    target.update_or_create_student(student, first_name=person.first_name, last_name=person.last_name,
                                    email=person.email, lms_user_id=person.lms_user_id)
    extra = {"timestamp": submitted.timestamp} if submitted.timestamp else {}
    target.update_or_create_submission(assignment, student, **extra)
    for notebook in submitted.notebooks:
        copy = target.find_submission_notebook(notebook.name, assignment, student)
        copy.late_submission_penalty = notebook.late_submission_penalty
        for grade in notebook.grades:
            kept = target.find_grade(grade.name, notebook.name, assignment, student)
            kept.auto_score = grade.auto_score
            kept.needs_manual_grade = review if kept.manual_score is not None else grade.needs_manual_grade
        for comment in notebook.comments:
            target.find_comment(comment.name, notebook.name, assignment, student).auto_comment = comment.auto_comment
    target.db.commit()


def record_zero(target: Gradebook, assignment: str, student: str, reason: str) -> None:
    """A submission that could not be run: every cell scores 0, with `reason` as the comment."""
    target.update_or_create_student(student)
    submission = target.update_or_create_submission(assignment, student)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            grade.auto_score = 0.0
            grade.needs_manual_grade = grade.manual_score is not None
        for comment in notebook.comments:
            comment.auto_comment = reason
    target.db.commit()
