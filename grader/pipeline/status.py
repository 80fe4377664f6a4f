"""How grading one submission ended: the one status the worker returns, the ledger stores, and
the reports count."""
from enum import StrEnum


class Status(StrEnum):
    """Listed in the order reports show them; the value is what users read."""
    GRADED = "graded"
    MISSING = "missing notebook"
    UNREADABLE = "unreadable notebook"
    REFUSED = "refused"
    TIMED_OUT = "timed out"
    KERNEL_DIED = "kernel died"
    NOT_SUBMITTED = "not submitted"
    FAILED = "grading failed"       # our own error: nothing is recorded, the next run retries

    @property
    def ran(self) -> bool:
        """The notebook ran: its scores are the student's work."""
        return self in (Status.GRADED, Status.TIMED_OUT, Status.KERNEL_DIED)

    @property
    def not_run(self) -> bool:
        """Handed in, but nothing could run: every exercise scores 0."""
        return self in (Status.MISSING, Status.UNREADABLE, Status.REFUSED)

    @property
    def limited(self) -> bool:
        """Cut short by a limit (time, memory): other limits could change the result."""
        return self in (Status.TIMED_OUT, Status.KERNEL_DIED)
