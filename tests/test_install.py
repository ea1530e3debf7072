"""Installs that stay working: every dependency bounded below its next major, constraints.txt pinning
what CI tests within those bounds, and the test run using exactly those pins."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
REQUIREMENTS = [Requirement(r) for r in PYPROJECT["dependencies"]] + [
    Requirement(r) for extra in PYPROJECT["optional-dependencies"].values() for r in extra
]
BASE = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["dependencies"]}
TOOLS = {
    canonicalize_name(Requirement(r).name)
    for extra in ("test", "bench")
    for r in PYPROJECT["optional-dependencies"][extra]
} - BASE
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def pins() -> dict[str, str]:
    """constraints.txt as {canonical name: version}; every line not a comment must be a pin."""
    found: dict[str, str] = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"constraints.txt: {line!r} is not a name==version pin (regenerate with scripts/lock)"
        found[canonicalize_name(match[1])] = match[2]
    return found


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_install_every_dependency_is_bounded_below_its_next_major(requirement: Requirement) -> None:
    uppers = [s for s in requirement.specifier if s.operator in ("<", "<=", "~=", "==")]
    assert uppers, (
        f"{requirement}: give it an upper bound (<N, the next major) so a new major cannot break installs"
    )


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_install_constraints_pin_every_dependency_within_its_bounds(requirement: Requirement) -> None:
    version = pins().get(canonicalize_name(requirement.name))
    assert version is not None, f"constraints.txt does not pin {requirement.name}: run scripts/lock"
    assert requirement.specifier.contains(version, prereleases=True), (
        f"constraints.txt pins {requirement.name}=={version}, outside pyproject.toml's {requirement}: "
        "run scripts/lock"
    )


@pytest.mark.skipif(
    os.environ.get("TRANSIT_SNAPSHOT_NEWEST") == "1",
    reason="scripts/test --newest runs on the newest versions, not on constraints.txt",
)
def test_install_this_run_uses_the_pinned_versions() -> None:
    """What CI tests is what constraints.txt says: scripts/setup reinstalls when the file changes."""
    differ = {}
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differ[name] = f"pinned {version}, installed {installed}"
    assert not differ, f"this venv is not what constraints.txt pins (run scripts/setup): {differ}"


@pytest.mark.slow
def test_install_demo_installs_the_project_alone(tmp_path: Path) -> None:
    """scripts/demo's install (scripts/setup --main) where there is no venv yet: a working command at
    the pinned versions, and none of the test or benchmark tools."""
    venv = tmp_path / "venv"
    done = subprocess.run(
        [str(REPO / "scripts" / "setup"), "--main"],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "TRANSIT_SNAPSHOT_VENV": str(venv)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    version = subprocess.run(
        [str(venv / "bin" / "transit-snapshot"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert version.returncode == 0 and "version" in version.stdout, version.stderr
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    installed = {canonicalize_name(d["name"]): d["version"] for d in json.loads(listed)}
    assert BASE <= installed.keys(), f"missing: {BASE - installed.keys()}"
    assert not TOOLS & installed.keys(), f"the main job does not need {sorted(TOOLS & installed.keys())}"
    differ = {n: v for n, v in installed.items() if n in pins() and pins()[n] != v}
    assert not differ, f"not at the versions constraints.txt pins: {differ}"
