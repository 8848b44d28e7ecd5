"""The PostgreSQL settings shipped for a national directory (packaging/server/postgresql-cpserver.conf,
docs/deploy-server.md) are settings PostgreSQL knows, with values it accepts: a cluster made here
includes the file and PostgreSQL reads each back (`postgres -C`, without starting the server)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import pg_cluster

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "packaging" / "server" / "postgresql-cpserver.conf"


def _settings() -> dict[str, str]:
    found: dict[str, str] = {}
    for written in SETTINGS.read_text().splitlines():
        line = written.split("#", 1)[0].strip()
        if line:
            name, value = (part.strip() for part in line.split("=", 1))
            found[name] = value
    return found


def test_the_shipped_settings_are_read_by_postgresql() -> None:
    clusters = pg_cluster.make_clusters()
    if clusters is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server binaries are missing (the CI machine has them)")
        pytest.skip("PostgreSQL's server binaries are not installed")
    try:
        data = clusters.root / "settings"
        subprocess.run(
            [*pg_cluster._as_owner(), str(clusters.bin / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        included = data / "cpserver.conf"
        shutil.copy(SETTINGS, included)
        if os.geteuid() == 0:
            shutil.chown(included, "postgres")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("include 'cpserver.conf'\n")
        settings = _settings()
        assert {"shared_buffers", "max_wal_size", "checkpoint_timeout"} <= set(settings)
        for name, value in settings.items():
            read = subprocess.run(
                [*pg_cluster._as_owner(), str(clusters.bin / "postgres"), "-D", str(data), "-C", name],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert read.returncode == 0, (name, read.stderr)
            # PostgreSQL shows sizes in its own unit (6GB as 786432 blocks of 8 kB): compare numbers
            # only where the file gave no unit.
            shown = read.stdout.strip()
            if re.fullmatch(r"[0-9.]+", value):
                assert float(shown) == float(value), (name, shown)
            elif value in ("on", "off"):
                assert shown == value, (name, shown)
            else:
                assert shown, name
        # A misspelt setting is refused the same way (the check can fail).
        with (data / "cpserver.conf").open("a") as conf:
            conf.write("shared_bufers = 6GB\n")
        postgres = str(clusters.bin / "postgres")
        wrong = subprocess.run(
            [*pg_cluster._as_owner(), postgres, "-D", str(data), "-C", "shared_buffers"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert wrong.returncode != 0 and "shared_bufers" in wrong.stderr
    finally:
        clusters.close()
