"""Scores a submission cannot forge or inflate by patching, when graded by `course grade`.

The grading kernel (`grader.kernel`) arms the seal before any student code runs: it takes
the job's secret key out of the environment, imports the checks and fingerprints them,
NumPy and the builtins. From then on:
- `grade` refuses to score (0 points, with the reason) once any fingerprinted function or
  table was replaced, e.g. `np.allclose = lambda *a, **k: True` or a patched check;
- each score is published as a display output signed with the key, and the grading process
  keeps a test cell's score only if it carries exactly one valid signature
  (`grader.execute.VerifyScores`): a replaced `grade` earns nothing.

Outside `course grade` (a student's session, plain `nbgrader autograde`) the seal is not
armed and `grade` behaves as before. The guarantee is against patching, not against a
student who studies this module and works around it from inside the same process.
"""
import builtins
import hashlib
import hmac
import importlib
import json
import os
import pkgutil
import sys
import types

KEY_VARIABLE = "COURSE_GRADE_KEY"
SCORE_MIME = "application/x-course-grade-score+json"
CHECK_PACKAGES = ("grader.hidden", "grader.reference", "grader.mistakes")
WATCHED_PREFIXES = ("grader.hidden", "grader.reference", "grader.mistakes", "course_lib")
WATCHED_MODULES = ("grader", "grader.checking", "grader.seal", "numpy", "numpy.linalg", "numpy.testing",
                   "numpy.random", "math", "functools", "importlib", "IPython.display")
WATCHED_SYS = ("setprofile", "getprofile", "settrace", "gettrace", "_getframe", "modules")
WATCHED_BUILTINS = ("__import__", "abs", "all", "any", "callable", "enumerate", "float", "getattr", "hasattr",
                    "int", "isinstance", "len", "max", "min", "range", "repr", "round", "sorted", "sum", "type", "zip")

_key = None
_fingerprints = {}


def arm() -> None:
    """Take the key out of the environment and fingerprint what the checks rely on."""
    global _key
    _key = os.environ.pop(KEY_VARIABLE, None)
    if _key is None:
        return
    for package in CHECK_PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            importlib.import_module(info.name)
    watched = [n for n in sys.modules if n.startswith(WATCHED_PREFIXES)] + list(WATCHED_MODULES)
    for name in sorted(set(watched)):
        _fingerprints[name] = _module_fingerprint(importlib.import_module(name))
    _fingerprints["sys"] = _named_ids(sys, WATCHED_SYS)
    _fingerprints["builtins"] = _named_ids(builtins, WATCHED_BUILTINS)


def armed() -> bool:
    return _key is not None


def tampered() -> list:
    """Names of fingerprinted objects that were replaced or changed since the seal was armed.

    Attributes added since (a submodule imported later, say) do not count.
    """
    if not armed():
        return []
    changed = []
    for name, before in _fingerprints.items():
        module = sys.modules.get(name)
        if module is None:
            changed.append(name)
            continue
        now = _named_ids(module, before) if name in ("sys", "builtins") else _module_fingerprint(module)
        changed += [f"{name}.{attr}" for attr in before if now.get(attr) != before[attr]]
    return changed


def publish(topic: str, name: str, score: float) -> float:
    """Publish the signed score of `name` (when armed); return the score."""
    if armed():
        from IPython.display import publish_display_data

        publish_display_data({SCORE_MIME: {"topic": topic, "name": name, "score": score,
                                           "signature": signature(_key, topic, name, score)}})
    return score


def signature(key: str, topic: str, name: str, score: float) -> str:
    message = json.dumps([topic, name, float(score)]).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def verified_scores(key: str, topic: str, name: str, outputs) -> list:
    """The validly signed scores of `name` among a cell's outputs."""
    found = []
    for output in outputs:
        record = output.get("data", {}).get(SCORE_MIME) if output.get("output_type") == "display_data" else None
        if not isinstance(record, dict) or (record.get("topic"), record.get("name")) != (topic, name):
            continue
        score = record.get("score")
        if isinstance(score, (int, float)) and hmac.compare_digest(
                str(record.get("signature")), signature(key, topic, name, score)):
            found.append(float(score))
    return found


def _named_ids(module, names) -> dict:
    return {name: id(getattr(module, name, None)) for name in names}


def _module_fingerprint(module) -> dict:
    own_state = ("_key", "_fingerprints") if module.__name__ == __name__ else ()
    return {attr: _fingerprint(value, 4) for attr, value in vars(module).items()
            if not (attr.startswith("__") and attr.endswith("__")) and attr not in own_state}


def _fingerprint(value, depth: int):
    """Identity of a value and, a few levels deep, of what it holds (code, items, fields)."""
    if isinstance(value, types.ModuleType):
        return id(value)
    if isinstance(value, types.FunctionType):
        cells = tuple(id(c.cell_contents) for c in value.__closure__ or () if _filled(c))
        return id(value), id(value.__code__), id(value.__defaults__), id(value.__kwdefaults__), cells
    if depth == 0:
        return id(value)
    if isinstance(value, dict):
        return id(value), tuple((k, _fingerprint(v, depth - 1)) for k, v in list(value.items()))
    if isinstance(value, (list, tuple)):
        return id(value), tuple(_fingerprint(v, depth - 1) for v in value)
    if isinstance(value, type) and str(getattr(value, "__module__", "")).startswith(("grader", "course_lib")):
        return id(value), tuple((k, _fingerprint(v, depth - 1)) for k, v in list(vars(value).items()))
    if hasattr(value, "__dataclass_fields__"):
        return id(value), tuple((k, _fingerprint(getattr(value, k), depth - 1)) for k in value.__dataclass_fields__)
    return id(value)


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True
