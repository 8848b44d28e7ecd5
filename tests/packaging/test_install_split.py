"""`make run` installs only what the client needs; the dev tools come with `make test`."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = ("pytest", "pytest-qt", "mypy", "ruff", "schemathesis", "hypothesis")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_client_and_server_extras_hold_no_dev_tools():
    project = _project()
    for requirements in (project["dependencies"], project["optional-dependencies"]["server"]):
        assert not _names(requirements) & set(DEV_TOOLS)
    assert set(DEV_TOOLS) <= _names(project["optional-dependencies"]["dev"])


def test_every_requirement_is_pinned_exactly():
    project = _project()
    groups = [project["dependencies"], *project["optional-dependencies"].values()]
    for requirement in (item for group in groups for item in group):
        assert "==" in requirement or requirement.startswith("contactpoint["), requirement


def test_make_run_installs_the_server_extra_not_dev(tmp_path):
    # A dry run against a venv path that does not exist: make prints what a fresh clone would run.
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["make", "-n", "run", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    installs = [line for line in done.stdout.splitlines() if "pip install" in line and " -e " in line]
    assert installs == [f"{venv}/bin/python -m pip install --quiet -e '.[server]'"], done.stdout
    dry_test = subprocess.run(
        ["make", "-n", "test", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "-e '.[dev]'" in dry_test.stdout


def test_the_readme_names_every_system_library_qt_needs():
    listed = [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "packaging" / "linux" / "qt-runtime-packages.txt").read_text().splitlines()
    ]
    packages = [name for name in listed if name]
    assert {"libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1"} <= set(packages)
    readme = (ROOT / "README.md").read_text()
    assert [name for name in packages if name not in readme] == []
