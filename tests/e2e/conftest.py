"""End-to-end fixtures: a real `cpserver serve --training` process on a freshly seeded database.

Each test module gets its own server (module scope), so one module's sign-ins (a one-time code works
once) never meet another's.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpserver_command(*args: str) -> list[str]:
    """The `cpserver` command of this environment (or the same through the interpreter)."""
    cli = Path(sys.executable).with_name("cpserver")
    if cli.exists():
        return [str(cli), *args]
    return [sys.executable, "-c", "from cpserver.cli import main; main()", *args]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e")
    database = f"sqlite:///{folder / 'training.sqlite3'}"
    subprocess.run(
        cpserver_command("seed", "--training", "--children", "200", "--database", database),
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    process = subprocess.Popen(
        cpserver_command("serve", "--training", "--database", database, "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url + "/api/v1/meta", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("cpserver serve did not start")
        time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
