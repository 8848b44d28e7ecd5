"""`cpserver serve --workers N`: worker processes on one socket whose connections get TCP_NODELAY."""

from __future__ import annotations

import asyncio
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
import uvicorn

from cpserver.serving import bind_listener
from tests.server import world
from tests.server.conftest import login_body
from tests.server.test_crash_safety import LIMITS_LIFTED


def _nodelay_of_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY on a connection asyncio accepts from `listener` (what uvicorn's workers do)."""
    seen: list[int] = []

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        port = listener.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not seen:
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    # A fresh thread: the client tests' qasync loop stays marked as running on the main thread for the
    # whole pytest session, and asyncio.run refuses to start inside it.
    worker = threading.Thread(target=asyncio.run, args=(run(),))
    worker.start()
    worker.join(timeout=30)
    return seen[0]


def test_the_workers_listener_gives_connections_tcp_nodelay():
    assert _nodelay_of_accepted(bind_listener("127.0.0.1", 0)) != 0


def test_uvicorns_own_listener_still_loses_tcp_nodelay():
    """The upstream bug our listener works around (https://github.com/Kludex/uvicorn/issues/3149).

    When this fails, uvicorn has fixed it and `bind_listener` can go.
    """
    config = uvicorn.Config("cpserver.api.app:app_from_environment", host="127.0.0.1", port=0)
    assert _nodelay_of_accepted(config.bind_socket()) == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_two_workers_serve_views_and_each_is_audited(database_url, db, tmp_path: Path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    server = subprocess.Popen(
        [sys.executable, "-m", "cpserver.cli", "serve", "--database", database_url, "--port", str(port),
         "--workers", "2", "--checkpoints", str(tmp_path / "cps"), "--audit-key", str(tmp_path / "key.pem")],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **LIMITS_LIFTED, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/meta", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        token = requests.post(f"{base}/sessions", json=login_body(db, world.PRACTITIONER), timeout=10).json()
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token['token']}"
            views = [
                http.post(
                    f"{base}/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, timeout=10
                )
                for _ in range(12)
            ]
        assert [v.status_code for v in views] == [200] * 12
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    from cpserver.audit.checkpoints import PUBLIC_KEY_NAME, load_public_key
    from cpserver.audit.verify import verify
    from cpserver.store.database import make_engine

    engine = make_engine(database_url, sqlite_immediate=False)
    report = verify(engine, tmp_path / "cps", load_public_key(tmp_path / "cps" / PUBLIC_KEY_NAME))
    engine.dispose()
    assert report.ok, report.summary()
    assert report.checkpoints >= 1, "the parent signs the heads at shut-down"
