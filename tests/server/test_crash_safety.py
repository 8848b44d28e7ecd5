"""Crash safety: SIGKILL the real server mid-load, restart it, and lose no acknowledged audit row.

Three shapes, each on SQLite and PostgreSQL where it applies: the whole single-process server
killed and started again; 25 kills of a worker of `serve --workers 2` under concurrent views (the
supervisor starts a new one, with no manual step); and a PostgreSQL restart during load, on a
throwaway cluster of our own. After each: every acknowledged view has its audit row, and the
trail verifies.
"""

from __future__ import annotations

import contextlib
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
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.migrate import upgrade
from cpserver.store.models import AuditEvent
from tests.pg_cluster import make_clusters
from tests.server import world
from tests.server.conftest import HARVESTING_LIMITS_LIFTED, login_body

# Four users open records as fast as they can: the harvesting limits would refuse that (429).
LIMITS_LIFTED = {f"CPSERVER_{name.upper()}": str(value) for name, value in HARVESTING_LIMITS_LIFTED.items()}
KILL_CYCLES = 4
WORKERS = 4
WORKER_KILLS = 25
# Workers of the server whose workers are killed: the others serve while one restarts.
KILLED_WORKERS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(database_url: str, port: int, cwd: Path, *options: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cpserver.cli", "serve", "--database", database_url, "--port", str(port),
         *options],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **LIMITS_LIFTED, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    # Generous: on a loaded shared machine, spawning workers that import the app takes long.
    deadline = time.monotonic() + 180
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


class ViewLoad:
    """Threads opening records as different users until stopped; remembers every acknowledged view."""

    def __init__(self, base: str, tokens: list[str]) -> None:
        self.base = base
        self.tokens = tokens
        self.acknowledged: list[int] = []
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t,)) for t in tokens]

    def _run(self, token: str) -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            while not self.stop.is_set():
                try:
                    response = http.post(
                        f"{self.base}/children/{world.ORDINARY}/views",
                        json={"reason": "safeguarding"},
                        timeout=10,
                    )
                except requests.RequestException:
                    continue
                with self.lock:
                    self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
                    if response.status_code == 200:
                        self.acknowledged.append(response.json()["view_id"])

    def __enter__(self) -> ViewLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def wait_for(self, more: int, timeout: float = 120) -> None:
        target = len(self.acknowledged) + more
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < target:
            assert time.monotonic() < deadline, f"views stopped being acknowledged: {self.statuses}"
            time.sleep(0.01)


def _tokens(base: str, db, usernames: tuple[str, ...]) -> list[str]:
    tokens = []
    for username in usernames:
        response = requests.post(f"{base}/sessions", json=login_body(db, username), timeout=10)
        assert response.status_code == 201, response.text
        tokens.append(response.json()["token"])
    return tokens


def _workers_of(parent: int) -> list[int]:
    """The uvicorn worker processes of a `serve --workers` parent (not multiprocessing's helpers)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    found = []
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"resource_tracker" not in command:
            found.append(int(child))
    return found


def _started_at(pid: int) -> int | None:
    """When a process started (clock ticks since boot: field 22 of /proc/PID/stat); None if it is
    gone or dead and not yet reaped (a zombie: state Z)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return None if fields[0] == "Z" else int(fields[19])


def _kill_oldest_worker(parent: int, timeout: float = 60) -> None:
    """SIGKILL the oldest live worker of `parent`. A worker listed but gone by the time it is read
    or signalled (the one killed before, reaped meanwhile) is passed over, and the workers are
    listed again: once, a vanished worker sorted first (start time read as 0) and the kill failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = {pid: at for pid in _workers_of(parent) if (at := _started_at(pid)) is not None}
        if started:
            try:
                os.kill(min(started, key=started.__getitem__), signal.SIGKILL)
                return
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"no live worker to kill within {timeout} s")


def _assert_every_acknowledged_view_is_audited(db, engine, acknowledged: list[int], what: str) -> None:
    db.rollback()
    found = set(db.scalars(sa.select(AuditEvent.id).where(AuditEvent.id.in_(acknowledged))).all())
    missing = set(acknowledged) - found
    report = verify(engine)
    print(
        f"\n{what} [{engine.dialect.name}]: {len(acknowledged)} views acknowledged, {len(found)} audit rows "
        f"found, {len(missing)} lost; chain: {report.summary()}"
    )
    assert not missing
    assert report.ok, report.summary()


@pytest.mark.slow
@pytest.mark.timeout(900)  # 25 worker start-ups: about a minute alone, far more on a loaded machine
def test_25_worker_kills_under_concurrent_views_lose_no_acknowledged_view(database_url, db, engine, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    server = _start(database_url, port, tmp_path, "--workers", str(KILLED_WORKERS))
    users = (world.PRACTITIONER, world.PRACTITIONER_2, world.CMT, world.NATIONAL)
    killed = 0
    try:
        with ViewLoad(base, _tokens(base, db, users)) as load:
            load.wait_for(10)
            for _cycle in range(WORKER_KILLS):
                # The oldest worker is the one most surely serving; the others carry the views
                # while the supervisor starts its replacement.
                _kill_oldest_worker(server.pid)
                killed += 1
                load.wait_for(2)
                print(f"  kill {killed}: {len(load.acknowledged)} acknowledged", flush=True)
            load.wait_for(10)
            acknowledged = list(load.acknowledged)
            assert server.poll() is None, "the supervisor itself survives"
    finally:
        _kill_all(server)
    assert killed == WORKER_KILLS
    _assert_every_acknowledged_view_is_audited(db, engine, acknowledged, f"{killed} worker SIGKILLs")


def _kill_all(server: subprocess.Popen[bytes]) -> None:
    """Kill a `serve --workers` parent and its workers (orphaned workers would go on serving)."""
    for worker in _workers_of(server.pid) if server.poll() is None else []:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
    server.send_signal(signal.SIGKILL)
    server.wait()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_postgresql_restart_during_load_loses_no_acknowledged_view_and_recovers(tmp_path):
    clusters = make_clusters()
    if clusters is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    try:
        primary = clusters.primary()
        engine = make_engine(primary.url)
        upgrade(engine)
        with make_session_factory(engine).begin() as session:
            world.build_world(session)
        port = _free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        server = _start(primary.url, port, tmp_path, "--workers", "2")
        try:
            with (
                make_session_factory(engine)() as db,
                ViewLoad(base, _tokens(base, db, (world.PRACTITIONER, world.CMT))) as load,
            ):
                load.wait_for(20)
                primary.restart("immediate")  # a crash of the database: recovery from its WAL
                load.wait_for(20)  # the server recovers by itself
                primary.restart("fast")
                load.wait_for(20)
                acknowledged = list(load.acknowledged)
                statuses = dict(load.statuses)
            assert set(statuses) <= {200, 503}, statuses
            with make_session_factory(engine)() as db:
                _assert_every_acknowledged_view_is_audited(db, engine, acknowledged, "PostgreSQL restarts")
        finally:
            _kill_all(server)
            engine.dispose()
    finally:
        clusters.close()
