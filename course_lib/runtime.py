"""Where the notebook is running: a student's kernel or nbgrader's grading run."""
import os


def is_grading() -> bool:
    """True while nbgrader executes the notebook (autograde or validate)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def budget(full, quick):
    """`full` in a student's session, `quick` while grading (experiments only teach)."""
    return quick if is_grading() else full


def use_headless_plots_when_grading() -> None:
    """Switch Matplotlib to the non-interactive Agg backend while grading."""
    if is_grading():
        import matplotlib

        matplotlib.use("Agg")
