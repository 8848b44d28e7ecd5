"""Crash safety: SIGKILL the real server mid-load, restart it, and lose no acknowledged audit row."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from cpserver.audit.verify import verify
from cpserver.store.models import AuditEvent
from tests.server import world
from tests.server.conftest import HARVESTING_LIMITS_LIFTED, login_body

KILL_CYCLES = 4
WORKERS = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(database_url: str, port: int, cwd: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cpserver.cli", "serve", "--database", database_url, "--port", str(port)],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # Four accounts open records as fast as they can: the harvesting limits are lifted.
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            **{f"CPSERVER_{name.upper()}": str(value) for name, value in HARVESTING_LIMITS_LIFTED.items()},
        },
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/meta", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


@pytest.mark.slow
def test_sigkill_mid_load_loses_no_acknowledged_view(database_url, db, engine, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    server = _start(database_url, port, tmp_path)
    tokens = []
    for username in (world.PRACTITIONER, world.PRACTITIONER_2, world.CMT, world.NATIONAL):
        response = requests.post(f"{base}/sessions", json=login_body(db, username), timeout=10)
        assert response.status_code == 201
        tokens.append(response.json()["token"])
    acknowledged: list[int] = []
    lock = threading.Lock()

    def load(token: str, stop: threading.Event) -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            while not stop.is_set():
                try:
                    response = http.post(
                        f"{base}/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, timeout=5
                    )
                except requests.RequestException:
                    continue
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(response.json()["view_id"])

    try:
        for _cycle in range(KILL_CYCLES):
            stop = threading.Event()
            workers = [threading.Thread(target=load, args=(t, stop)) for t in tokens]
            for worker in workers:
                worker.start()
            before = len(acknowledged)
            deadline = time.monotonic() + 20
            while len(acknowledged) < before + 25 and time.monotonic() < deadline:
                time.sleep(0.02)
            server.send_signal(signal.SIGKILL)
            server.wait()
            stop.set()
            for worker in workers:
                worker.join()
            server = _start(database_url, port, tmp_path)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

    found = set(db.scalars(sa.select(AuditEvent.id).where(AuditEvent.id.in_(acknowledged))).all())
    missing = set(acknowledged) - found
    report = verify(engine)
    print(
        f"\ncrash safety [{engine.dialect.name}]: {KILL_CYCLES} SIGKILL cycles, {len(acknowledged)} views "
        f"acknowledged, {len(found)} audit rows found, {len(missing)} lost; chain: {report.summary()}"
    )
    assert len(acknowledged) >= KILL_CYCLES * 25
    assert not missing
    assert report.ok, report.summary()
