"""The visible checks' stored values are what the reference and the catalogue produce now."""
from grader.authoring.fixtures import FIXTURE_DIR, render


def test_fixture_is_current(assignment):
    committed = (FIXTURE_DIR / f"{assignment.topic}.json").read_text(encoding="utf-8")
    assert committed == render(assignment.topic), f"stale fixture: run `course fixtures {assignment.name}`"
