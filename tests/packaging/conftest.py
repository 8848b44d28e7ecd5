"""Fixtures for the packaging tests: the built packages, a virtual screen, a training server, and a
private managed-policy folder for each run of a packaged client.

Tests marked `packaging` check what `make packaging-test` built (it sets CPCLIENT_DIST): the bundles,
the Debian packages and the test MSI. Without CPCLIENT_DIST they are skipped with that advice; CI
runs `make packaging-test` after `make test`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

POLICY_FOLDER = Path("/etc/cpclient")
SMOKE_TIMEOUT_SECONDS = 240

# Runs a command with its own /etc/cpclient (a tmpfs in a private mount namespace), holding the policy
# given in CP_POLICY_JSON, or none: the machine's real policy folder is never touched.
_WITH_POLICY = r"""
set -e
mount -t tmpfs -o mode=0755 cpclient-policy /etc/cpclient
if [ -n "${CP_POLICY_JSON:-}" ]; then
    printf '%s' "$CP_POLICY_JSON" > /etc/cpclient/policy.json
    chmod 644 /etc/cpclient/policy.json
fi
exec "$@"
"""


def _needed(what: str, advice: str) -> None:
    """Fail in CI (a missing tool there is a broken CI), skip elsewhere with the advice."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} ({advice})")
    pytest.skip(f"{what}: {advice}")


@pytest.fixture(scope="session")
def dist() -> Path:
    """The folder `make packaging-test` built the packages in."""
    folder = os.environ.get("CPCLIENT_DIST")
    if not folder:
        pytest.skip("packaging tests check built packages: run `make packaging-test`")
    return Path(folder)


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """A private Xvfb screen (so the packaged client uses the real xcb platform and system libraries)."""
    if shutil.which("Xvfb") is None:
        _needed("Xvfb is missing", "packaging/linux/install-system-packages installs it")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def training_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `cpserver serve --training` on loopback (from this venv), on a small fictitious seed."""
    folder = tmp_path_factory.mktemp("training-server")
    cpserver = str(Path(sys.executable).with_name("cpserver"))
    database = f"sqlite:///{folder / 'training.sqlite3'}"
    subprocess.run(
        [cpserver, "seed", "--training", "--children", "200", "--database", database],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = free_port()
    server = subprocess.Popen(
        [cpserver, "serve", "--training", "--database", database, "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(url + "/api/v1/meta", timeout=5).json()["training"] is True:
                break
        except (requests.RequestException, ValueError):
            pass
        assert server.poll() is None and time.monotonic() < deadline, "the training server did not start"
        time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="session")
def policy_folder() -> Iterator[Path]:
    """/etc/cpclient exists (as a mount point for the private policy folders); root only."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        _needed("running a packaged client with a managed policy needs root and unshare", "CI runs as root")
    created = not POLICY_FOLDER.exists()
    if created:
        POLICY_FOLDER.mkdir(mode=0o755)
    yield POLICY_FOLDER
    if created and POLICY_FOLDER.exists() and not any(POLICY_FOLDER.iterdir()):
        POLICY_FOLDER.rmdir()


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_client(display: str, policy_folder: Path):
    """`run_client(argv, policy=None)`: run a packaged client under Xvfb with its own managed policy."""

    def run(argv: Sequence[str], policy: dict[str, object] | None = None) -> Run:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("QT_", "PYTHON", "VIRTUAL_ENV"))
        }
        env.update(
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            XDG_CONFIG_HOME=str(Path(os.environ.get("TMPDIR", "/tmp"))),
            CP_POLICY_JSON=json.dumps(policy) if policy is not None else "",
        )
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _WITH_POLICY, "sh", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT_SECONDS,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


def archive_modules(executable: Path) -> set[str]:
    """The Python modules frozen into a PyInstaller executable (its PYZ archive)."""
    viewer = Path(sys.executable).with_name("pyi-archive_viewer")
    if not viewer.exists():
        _needed("pyi-archive_viewer is missing", "install the bundle extra: make bundle")
    listing = subprocess.run(
        [str(viewer), "--recursive", "--brief", str(executable)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return {line.strip() for line in listing.splitlines() if line.startswith(" ")}
