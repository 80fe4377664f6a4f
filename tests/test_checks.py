"""Unit tests of every check, visible and hidden, against the reference and every catalogued mistake."""
import contextlib
import importlib
import io
import re
import warnings

import numpy as np
import pytest

from course_lib.checking import CheckFailed
from grader import grade
from grader.checks.judge import topic_modules
from grader.checks.specs import ByReference
from submission import as_submission


def graded_functions(assignment):
    specs, _, _ = topic_modules(assignment.topic)
    return list(specs.SPECS)


def hidden(assignment, name, fn, points=2.0):
    """(points earned, printed report) of the hidden checks."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        earned = grade(assignment.topic, name, fn, points=points)
    return earned, out.getvalue()


def visible(assignment, name):
    return getattr(importlib.import_module(f"course_lib.checks.{assignment.topic}"), f"check_{name}")


def test_reference_passes_every_check(assignment):
    _, reference, _ = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        fn = as_submission(getattr(reference, name), topic=assignment.topic)
        with contextlib.redirect_stdout(io.StringIO()):
            visible(assignment, name)(fn)
        earned, report = hidden(assignment, name, fn)
        assert type(earned) is float and earned == 2.0, report


def test_every_mistake_loses_points_and_is_named(assignment):
    _, _, mistakes = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            earned, report = hidden(assignment, name, as_submission(mistake.implementation, name, assignment.topic))
            assert earned < 2.0, f"{name}: {mistake.key} kept full points"
            assert f"[{mistake.key}]" in report, f"{name}: {mistake.key} not named in\n{report}"


def test_visible_checks_name_the_mistakes_they_see(assignment):
    """A visible check judged by stored values names every catalogued mistake, and never prints numbers."""
    specs, _, mistakes = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    visible(assignment, name)(as_submission(mistake.implementation, name, assignment.topic))
            except CheckFailed as failure:
                message = str(failure)
                assert not re.search(r"\d\.\d{4,}", message), f"{name}: a message shows values:\n{message}"
                if isinstance(specs.SPECS[name], ByReference):
                    assert f"[{mistake.key}]" in message, f"visible {name} does not name {mistake.key}:\n{message}"
            else:
                assert not isinstance(specs.SPECS[name], ByReference), f"visible {name} accepts {mistake.key}"


def test_mistakes_are_far_from_the_reference_where_they_differ(assignment):
    """No mistake lands in the grey zone between the tolerance and an obvious difference."""
    specs, reference, mistakes = topic_modules(assignment.topic)
    for name, spec in specs.SPECS.items():
        if not isinstance(spec, ByReference):
            continue
        for case in spec.cases:
            want = spec.run(getattr(reference, name), case)
            for mistake in mistakes.MISTAKES[name]:
                try:
                    got = spec.run(mistake.implementation, case)
                except CheckFailed:
                    continue
                gaps = [_gap(g, w) for gs, ws in zip(got, want) for g, w in zip(gs, ws)]
                worst = max(gaps)
                assert worst <= case.rtol / 10 or worst > 1e-2, f"{name}/{mistake.key} on {case.label}: {worst:.1e}"


def _flat(x):
    if isinstance(x, (list, tuple)):
        return np.concatenate([_flat(e) for e in x]) if len(x) else np.zeros(0)
    return np.ravel(np.asarray(x, dtype=float))


def _gap(got, want):
    got, want = _flat(got), _flat(want)
    if got.shape != want.shape:
        return np.inf
    return np.max(np.abs(got - want), initial=0.0) / max(np.max(np.abs(want), initial=0.0), 1e-12)


def test_warnings_and_stderr_from_student_code_do_not_escape(assignment, capfd):
    _, reference, _ = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        correct = as_submission(getattr(reference, name), topic=assignment.topic)

        def noisy(*args, **kwargs):
            import sys
            warnings.warn("a warning from the student's own code")
            print("debug output on stderr", file=sys.stderr)
            return correct(*args, **kwargs)

        earned, report = hidden(assignment, name, noisy)
        assert earned == 2.0, report
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("points", [1, 2.5])
def test_partial_credit_is_a_plain_float_within_the_points(assignment, points):
    _, _, mistakes = topic_modules(assignment.topic)
    for name in graded_functions(assignment):
        for mistake in mistakes.MISTAKES[name]:
            earned, _ = hidden(assignment, name, as_submission(mistake.implementation, name, assignment.topic), points)
            assert type(earned) is float and 0.0 <= earned < points
