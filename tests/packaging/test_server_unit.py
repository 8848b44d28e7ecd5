"""The server's systemd unit passes `systemd-analyze verify` (docs/deploy-server.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "packaging" / "server" / "cpserver.service"
INSTALLED_CPSERVER = "/opt/cpserver/venv/bin/cpserver"


@pytest.fixture
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing (packaging/linux/install-system-packages installs it)")
        pytest.skip("systemd-analyze is not installed (Debian package systemd); CI installs it")
    return found


def test_the_unit_file_verifies(systemd_analyze, tmp_path):
    # verify checks that each command exists: point the unit at this venv's cpserver (the unit's
    # /opt/cpserver/venv does not exist on a build machine) and at an empty environment file.
    cpserver = Path(sys.executable).with_name("cpserver")
    assert cpserver.exists()
    environment = tmp_path / "cpserver.env"
    environment.write_text("CPSERVER_DATABASE_URL=sqlite:///unused.sqlite3\n")
    text = UNIT.read_text()
    assert INSTALLED_CPSERVER in text
    unit = tmp_path / "cpserver.service"
    unit.write_text(
        text.replace(INSTALLED_CPSERVER, str(cpserver)).replace(
            "/etc/cpserver/cpserver.env", str(environment)
        )
    )
    done = subprocess.run(
        [systemd_analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120, check=False
    )
    # verify exits 0 on unknown keys and only warns: any output is a problem.
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_the_verification_catches_a_misspelt_setting(systemd_analyze, tmp_path):
    unit = tmp_path / "broken.service"
    unit.write_text("[Service]\nExecStart=/bin/true\nProtectSystm=strict\n")
    done = subprocess.run(
        [systemd_analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120, check=False
    )
    assert "ProtectSystm" in done.stdout + done.stderr


def test_the_service_listens_on_loopback_only_and_runs_migrations_first():
    text = UNIT.read_text()
    assert "--host 127.0.0.1" in text and "--production" in text
    assert text.index("ExecStartPre=") < text.index("ExecStart=/") and "migrate" in text
    assert "User=cpserver" in text and "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text
