"""environment.yml (conda, and pip for what conda-forge lacks) and pyproject.toml (pip) describe the same
environment."""
import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: the same parser, vendored by pip
    from pip._vendor import tomli as tomllib

import yaml

REPO = Path(__file__).resolve().parent.parent


def normalise(requirement: str):
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_side = dict(normalise(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    conda = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
    [pip_section] = [d["pip"] for d in conda if isinstance(d, dict)]
    conda_side = dict(normalise(d) for d in conda + pip_section
                      if isinstance(d, str) and not d.startswith(("python", "pip", "-e")))
    assert conda_side == pip_side
    python = next(d for d in conda if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "") == project["requires-python"]
    assert pip_section[-1] == "-e ."
