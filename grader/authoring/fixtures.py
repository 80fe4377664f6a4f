"""Write the visible checks' fixtures: stored inputs, the reference's outputs, mistake fingerprints.

`course_lib/fixtures/<topic>.json` is generated from `grader` by `course fixtures`; a test
proves the committed files are current. They hold values for one input per function,
never code. A spec module may add stored values for functions judged by properties
(`VISIBLE`, for example a forward pass whose cache is the student's own business).
"""
import json
from pathlib import Path

import numpy as np

from course_lib.checking import invoke, outputs_of
from grader.checks.judge import topic_modules
from grader.checks.specs import ByReference

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "course_lib" / "fixtures"


def _plain(value):
    """JSON-ready numbers: nested lists for arrays; integers stay integers."""
    return np.asarray(value).tolist()


def fixture(topic: str) -> dict:
    """The fixture of every graded function of `topic`."""
    specs, reference, mistakes = topic_modules(topic)
    result = {}
    for name, spec in specs.SPECS.items():
        entry = {"mistakes": [{"key": m.key, "title": m.title, "hint": m.hint} for m in mistakes.MISTAKES[name]]}
        if isinstance(spec, ByReference):
            entry["inputs"] = {k: _plain(v) if isinstance(v, np.ndarray) else v for k, v in spec.visible.items()}
            entry["output_names"] = list(spec.outputs)
            entry["expected"] = [_plain(o) for o in
                                 outputs_of(getattr(reference, name)(**spec.visible), spec.outputs, name)]
            for mistake, described in zip(mistakes.MISTAKES[name], entry["mistakes"]):
                outcome = invoke(mistake.implementation, spec.visible)
                if outcome.error is None:
                    described["outputs"] = [_plain(o) for o in outputs_of(outcome.result, spec.outputs, name)]
            entry["mistakes"] = [m for m in entry["mistakes"] if "outputs" in m]
        result[name] = entry
    for name, visible in getattr(specs, "VISIBLE", {}).items():
        result[name].update(_visible_values(visible, getattr(reference, name), mistakes.MISTAKES[name]))
    return result


def _visible_values(visible, reference, mistakes) -> dict:
    """Stored values of a visible check that a spec's own kind does not cover (specs.VISIBLE[name]):
    the input, the reference's outputs when `visible.expected`, each mistake's outputs, all
    computed by `visible.run(function, inputs)`."""
    entry = {"inputs": {k: _plain(v) for k, v in visible.inputs.items()}, "output_names": list(visible.outputs)}
    if visible.expected:
        entry["expected"] = [_plain(o) for o in visible.run(reference, visible.inputs)]
    entry["mistakes"] = [{"key": m.key, "title": m.title, "hint": m.hint,
                          "outputs": [_plain(o) for o in visible.run(m.implementation, visible.inputs)]}
                         for m in mistakes]
    return entry


def render(topic: str) -> str:
    return json.dumps(fixture(topic), indent=1, ensure_ascii=False) + "\n"


def write_fixtures(topics) -> list:
    """Regenerate the fixture file of each topic; returns the paths written."""
    paths = []
    for topic in topics:
        path = FIXTURE_DIR / f"{topic}.json"
        path.write_text(render(topic), encoding="utf-8")
        paths.append(path)
    return paths
