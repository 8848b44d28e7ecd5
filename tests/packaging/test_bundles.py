"""The one-folder bundles: what they hold, and that they start and sign in to a training server.

The live bundle (dist/cpclient) carries no server code, no printing module, no tests and no dev
tools, and starts training mode only when the managed policy allows it. The training kit
(dist/cpclient-training) is the client plus its embedded training server, always in training mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.packaging.conftest import archive_modules

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

NEVER_IN_ANY_BUNDLE = (
    "PySide6.QtPrintSupport",
    "tests",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "schemathesis",
    "mypy",
    "ruff",
    "pip",
    "unittest",
    "tkinter",
    "psycopg",
)
SERVER_CODE = ("sqlalchemy", "alembic", "uvicorn", "fastapi", "starlette", "argon2", "pydantic_settings")
# The one module of cpserver the client imports: the demo accounts and scenarios (standard library only).
CLIENT_SIDE_OF_CPSERVER = {"cpserver", "cpserver.seed", "cpserver.seed.training_contract"}
ALLOWS_TRAINING = {"training_allowed": True}


def _holds(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(package + ".") for name in modules)


def _files(folder: Path) -> list[str]:
    return [str(path.relative_to(folder)).lower() for path in folder.rglob("*")]


def _check_common(folder: Path, executable: Path, flavour: str) -> set[str]:
    assert executable.is_file()
    marker = json.loads((folder / "_internal" / "distribution.json").read_text())
    assert marker["flavour"] == flavour
    files = _files(folder)
    assert not [name for name in files if "printsupport" in name]
    assert not [name for name in files if "/tests/" in name or "pytest" in name or "mypy" in name]
    modules = archive_modules(executable)
    assert _holds(modules, "cpclient.app") and _holds(modules, "cpclient.ui.main_window")
    assert not [package for package in NEVER_IN_ANY_BUNDLE if _holds(modules, package)]
    return modules


def test_the_live_bundle_holds_the_client_only(dist):
    folder = dist / "cpclient"
    modules = _check_common(folder, folder / "cpclient", "live")
    assert not [package for package in SERVER_CODE if _holds(modules, package)]
    assert {name for name in modules if _holds({name}, "cpserver")} == CLIENT_SIDE_OF_CPSERVER
    assert not (folder / "_internal" / "cpserver").exists()  # no seed data, no migrations


def test_the_training_kit_holds_the_embedded_server(dist):
    folder = dist / "cpclient-training"
    modules = _check_common(folder, folder / "cpclient-training", "training-kit")
    assert _holds(modules, "cpserver.seed") and _holds(modules, "sqlalchemy.dialects.sqlite")
    assert list((folder / "_internal" / "cpserver" / "store" / "migrations").rglob("*.py"))


def test_the_live_bundle_signs_in_to_a_training_server(dist, run_client, training_server):
    done = run_client(
        [str(dist / "cpclient" / "cpclient"), "--smoke-test", "--training", "--server", training_server],
        policy=ALLOWS_TRAINING,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "window shown: 'cpclient — TRAINING' visible=True" in done.stdout
    assert "platform=xcb" in done.stdout
    assert "signed in as demo.practitioner" in done.stdout


def test_the_live_bundle_refuses_training_unless_the_policy_allows_it(dist, run_client, training_server):
    done = run_client(
        [str(dist / "cpclient" / "cpclient"), "--smoke-test", "--training", "--server", training_server]
    )
    assert done.returncode == 2
    assert "Training mode is not switched on for this computer" in done.stderr
    assert "signed in" not in done.stdout


def test_the_live_bundle_cannot_start_an_embedded_server(dist, run_client):
    done = run_client(
        [str(dist / "cpclient" / "cpclient"), "--smoke-test", "--training"], policy=ALLOWS_TRAINING
    )
    assert done.returncode == 2
    assert "no training server of its own" in done.stderr


def test_the_training_kit_starts_its_own_server_and_signs_in(dist, run_client):
    done = run_client([str(dist / "cpclient-training" / "cpclient-training"), "--smoke-test"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "window shown: 'cpclient — TRAINING' visible=True" in done.stdout
    assert "signed in as demo.practitioner" in done.stdout


def test_the_policy_can_switch_the_training_kit_off(dist, run_client):
    done = run_client(
        [str(dist / "cpclient-training" / "cpclient-training"), "--smoke-test"],
        policy={"training_allowed": False},
    )
    assert done.returncode == 2
    assert "switched off on this computer by its managed policy" in done.stderr
