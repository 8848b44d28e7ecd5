"""National-scale benchmark: throughput and latency of the real server under concurrent load, in one run.

    python bench/scale.py [--database postgresql://postgres@127.0.0.1:5432/cpbench_scale]
                          [--children 200000] [--reuse] [--seconds 6] [--accounts 3000]

Against PostgreSQL, in one run and with the same load generator (threads of keep-alive HTTP
connections, each request signed by the next of many practitioner accounts, so that no account
goes beyond a normal practitioner's rate and no detection rule or rate limit fires):

1. for `cpserver serve --workers 1` and `--workers 2`, at 1, 8, 32 and 64 clients: requests/s of
   the bare endpoint (`GET /meta`), of the cheapest authenticated call (`GET /sessions/current`)
   and of a record view with its audit row; for views, the share of their time spent obtaining an
   audit chain (the server's `Server-Timing: chain`) and the SQL statements each sent
   (`Server-Timing: statements`), refusals (503 `server_busy`), other 5xx,
   and the slowest request;
2. p50/p95/p99 (ms) of bare, authenticated, search and view at 1 client on 2 workers;
3. `uvicorn --workers 2` as shipped (no TCP_NODELAY, uvicorn #3149) against ours, bare, 8 clients.

Then it checks that no alert was raised and that the audit trail verifies. Figures are ratios
against the bare endpoint measured in the same run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from cpserver.audit.verify import verify
from cpserver.domain.passwords import hash_password
from cpserver.domain.sessions import token_hash
from cpserver.seed import seed_database
from cpserver.store import models
from cpserver.store.database import make_engine, normalise_url
from cpserver.store.migrate import upgrade

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cpbench_scale"
CLIENTS = (1, 8, 32, 64)
WORKERS = (1, 2)
REASON = "who_else_involved"
ROOT = Path(__file__).resolve().parents[1]


# --- the database ---------------------------------------------------------------------------------


def prepare(url: str, children: int, reuse: bool) -> None:
    name = sa.make_url(normalise_url(url)).database or ""
    admin = sa.create_engine(
        sa.make_url(normalise_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists and reuse:
            admin.dispose()
            print(f"reusing {name}", file=sys.stderr)
            return
        if exists:
            if not name.startswith("cpbench"):
                raise SystemExit(f"refusing to drop {name}: only databases named cpbench* are recreated")
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    seed_database(engine, children=children, training=False)
    print(f"seeded {children:,} children in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    engine.dispose()


@dataclass(frozen=True)
class Account:
    token: str
    # Children of the account's own authority (no "outside authority" alerts), with search criteria.
    children: list[tuple[str, str, str]]


def make_accounts(url: str, count: int, rng: random.Random) -> list[Account]:
    """`count` accredited practitioners spread over the authorities, each with a live session."""
    engine = make_engine(url)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    run = secrets.token_hex(3)
    password_hash = hash_password(secrets.token_urlsafe(16))
    eighteen = today.replace(year=today.year - 17)
    with engine.begin() as db:
        organisations = db.execute(
            sa.select(models.Organisation.id, models.Organisation.local_authority_id).where(
                models.Organisation.accredited, models.Organisation.local_authority_id.is_not(None)
            )
        ).all()
        by_authority: dict[int, list[tuple[str, str, str]]] = {}
        for la_id, cp_id, family, born in db.execute(
            sa.select(
                models.Child.local_authority_id, models.Child.cp_id, models.Child.family_name,
                models.Child.date_of_birth,
            )
            .where(models.Child.date_of_birth > eighteen, ~models.Child.shielded)
            .order_by(sa.func.random())
            .limit(40 * len(organisations) + 2000)
        ):  # fmt: skip
            by_authority.setdefault(la_id, []).append((cp_id, family, born.isoformat()))
        usable = [(org, la) for org, la in organisations if len(by_authority.get(la, [])) >= 5]
        users = []
        for index in range(count):
            organisation_id, la_id = usable[index % len(usable)]
            users.append(
                {
                    "username": f"bench.{run}.{index:05d}", "password_hash": password_hash,
                    "totp_secret": "JBSWY3DPEHPK3PXP", "totp_last_step": 0, "role": "practitioner",
                    "given_name": "Bench", "family_name": "Benchmarkworker", "job_title": "Benchmark",
                    "telephone": "01632 960000", "email": "bench@bench.example", "home_postcode": "",
                    "organisation_id": organisation_id, "local_authority_id": la_id, "manager_name": "",
                    "manager_email": "", "crb_checked_on": today - dt.timedelta(days=100),
                    "training_completed": True, "procedures_received": True, "agreement_signed": True,
                    "suspended": False, "suspended_reason": "", "may_override_shield": False,
                    "created_at": now,
                }
            )  # fmt: skip
        ids = db.execute(
            sa.insert(models.User).returning(models.User.id, models.User.local_authority_id), users
        )
        accounts, sessions = [], []
        for user_id, la_id in ids.all():
            token = secrets.token_urlsafe(32)
            sessions.append(
                {
                    "token_hash": token_hash(token), "user_id": user_id, "workstation": f"BENCH-{user_id}",
                    "client_address": "127.0.0.1", "created_at": now, "last_seen_at": now,
                    "expires_at": now + dt.timedelta(hours=8),
                }
            )  # fmt: skip
            own = by_authority[la_id]
            accounts.append(Account(token, rng.sample(own, min(len(own), 20))))
        db.execute(sa.insert(models.Session), sessions)
    engine.dispose()
    rng.shuffle(accounts)
    return accounts


# --- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(process: subprocess.Popen[bytes], port: int, seconds: float = 300) -> None:
    """Until `GET /meta` answers 200 (workers start slowly on a loaded machine), or raise."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped during start-up ({process.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/meta")
            if connection.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.2)


def server_environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CPSERVER_DATABASE_URL": url,
        "CPSERVER_SERVER_TIMING": "true",
        # The run is not at a practitioner's desk: every hour counts as working time, and sessions
        # are not ended for idling between phases. No other rule is changed.
        "CPSERVER_WORKING_HOURS_START": "0",
        "CPSERVER_WORKING_HOURS_END": "24",
        "CPSERVER_WORKING_DAYS": "0,1,2,3,4,5,6",
        "CPSERVER_SESSION_IDLE_MINUTES": "240",
    }


@contextmanager
def running(command: list[str], url: str, port: int, workdir: Path) -> Iterator[None]:
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=server_environment(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(process, port)
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpserver(url: str, port: int, workers: int, workdir: Path) -> list[str]:
    return [
        sys.executable, "-m", "cpserver.cli", "serve", "--database", url, "--port", str(port),
        "--workers", str(workers), "--audit-key", str(workdir / "key.pem"),
        "--checkpoints", str(workdir / "cps"),
    ]  # fmt: skip


def plain_uvicorn(port: int, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "cpserver.api.app:app_from_environment", "--factory",
        "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


# --- the load -------------------------------------------------------------------------------------

Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    chain_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    busy_with_retry_after: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def lock_share(self) -> float:
        total = sum(self.latencies) * 1000
        return sum(self.chain_ms) / total if total else 0.0

    @property
    def statements_each(self) -> float:
        """SQL statements per answered request (the server's `Server-Timing: statements`)."""
        return sum(self.statements) / len(self.statements) if self.statements else float("nan")

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500) - self.busy_with_retry_after


def drive(
    port: int, clients: int, seconds: float, make: Callable[[int, int], Request], limit: int | None = None
) -> Result:
    """`clients` threads, each on its own keep-alive connection, for `seconds` (or `limit` requests each)."""
    result = Result()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = Result()
        start.wait()
        count = 0
        while time.monotonic() < deadline[0] and (limit is None or count < limit):
            method, path, body, headers = make(index, count)
            count += 1
            began = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                mine.errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            mine.latencies.append(time.perf_counter() - began)
            mine.statuses[response.status] += 1
            if response.status == 503 and response.getheader("retry-after"):
                mine.busy_with_retry_after += 1
            for metric in (response.getheader("server-timing") or "").split(","):
                name, _, value = metric.strip().partition(";")
                if name == "chain" and value.startswith("dur="):
                    mine.chain_ms.append(float(value.removeprefix("dur=")))
                elif name == "statements" and value.startswith("desc="):
                    mine.statements.append(int(value.removeprefix("desc=")))
        connection.close()
        with lock:
            result.latencies += mine.latencies
            result.chain_ms += mine.chain_ms
            result.statements += mine.statements
            result.statuses.update(mine.statuses)
            result.busy_with_retry_after += mine.busy_with_retry_after
            result.errors += mine.errors

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - began
    return result


class Calls:
    """The requests, each view and search signed by the next account (round robin over all of them)."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = accounts
        self.next = 0
        self.lock = threading.Lock()

    def account(self) -> Account:
        with self.lock:
            self.next += 1
            return self.accounts[self.next % len(self.accounts)]

    @staticmethod
    def bare(_index: int, _count: int) -> Request:
        return "GET", "/api/v1/meta", None, {}

    def authenticated(self, _index: int, _count: int) -> Request:
        account = self.account()
        return "GET", "/api/v1/sessions/current", None, {"Authorization": f"Bearer {account.token}"}

    def view(self, _index: int, count: int) -> Request:
        account = self.account()
        cp_id = account.children[count % len(account.children)][0]
        body = json.dumps({"reason": REASON}).encode()
        headers = {"Authorization": f"Bearer {account.token}", "Content-Type": "application/json"}
        return "POST", f"/api/v1/children/{cp_id}/views", body, headers

    def search(self, _index: int, count: int) -> Request:
        account = self.account()
        _cp_id, family, born = account.children[count % len(account.children)]
        body = json.dumps({"family": family, "date_of_birth": born}).encode()
        headers = {"Authorization": f"Bearer {account.token}", "Content-Type": "application/json"}
        return "POST", "/api/v1/searches", body, headers


# --- the run --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--children", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each measured phase")
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=300, help="requests per latency figure")
    args = parser.parse_args(argv)

    prepare(args.database, args.children, args.reuse)
    rng = random.Random(2009)
    accounts = make_accounts(args.database, args.accounts, rng)
    calls = Calls(accounts)
    engine = make_engine(args.database)
    with engine.connect() as db:
        children = db.execute(sa.text("SELECT count(*) FROM children")).scalar_one()
        alerts_before = db.execute(sa.text("SELECT count(*) FROM alerts")).scalar_one()
    print(f"\nnational-scale benchmark: {children:,} children, {len(accounts):,} practitioner accounts, "
          f"{args.seconds:.0f} s per phase, {os.cpu_count()} cores (shared)\n")  # fmt: skip
    header = (
        f"{'workers':>7} {'clients':>7} {'bare/s':>8} {'auth/s':>8} {'views/s':>8} {'views÷bare':>10} "
        f"{'lock share':>10} {'SQL/view':>8} {'view p95':>9} {'slowest':>8} {'503+RA':>7} {'5xx':>4} "
        f"{'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    summary: dict[str, object] = {"children": children, "levels": []}
    with tempfile.TemporaryDirectory(prefix="cpbench-") as temporary:
        workdir = Path(temporary)
        for workers in WORKERS:
            port = free_port()
            with running(cpserver(args.database, port, workers, workdir), args.database, port, workdir):
                drive(port, 8, 1.5, calls.view)  # warm up: connections, caches, plans
                for clients in CLIENTS:
                    bare = drive(port, clients, args.seconds, calls.bare)
                    auth = drive(port, clients, args.seconds, calls.authenticated)
                    view = drive(port, clients, args.seconds, calls.view)
                    slowest = max(max(r.latencies, default=0) for r in (bare, auth, view))
                    refused = sum(r.busy_with_retry_after for r in (bare, auth, view))
                    failed = sum(r.server_errors for r in (bare, auth, view))
                    errors = sum(r.errors for r in (bare, auth, view))
                    print(
                        f"{workers:>7} {clients:>7} {bare.rate:>8.0f} {auth.rate:>8.0f} {view.rate:>8.0f} "
                        f"{view.rate / bare.rate:>9.0%} {view.lock_share:>10.2%} "
                        f"{view.statements_each:>8.1f} {view.percentile(95):>7.1f}ms "
                        f"{slowest:>7.2f}s {refused:>7} {failed:>4} {errors:>6}",
                        flush=True,
                    )
                    others = {
                        s: n for r in (auth, view) for s, n in r.statuses.items() if s not in (200, 503)
                    }
                    if others:
                        print(f"        unexpected statuses: {others}")
                    summary["levels"].append(  # type: ignore[attr-defined]
                        {
                            "workers": workers, "clients": clients, "bare_rps": bare.rate,
                            "auth_rps": auth.rate,
                            "view_rps": view.rate, "lock_share": view.lock_share, "slowest_s": slowest,
                            "statements_per_view": view.statements_each,
                            "refused_503": refused, "other_5xx": failed, "errors": errors,
                        }
                    )  # fmt: skip
                if workers == 2:
                    print("\nlatency at 1 client, 2 workers (ms):")
                    print(f"{'call':>14} {'p50':>7} {'p95':>7} {'p99':>7} {'p95÷bare':>9}")
                    figures = {}
                    for name, make in (
                        ("bare", calls.bare), ("authenticated", calls.authenticated),
                        ("search", calls.search), ("view", calls.view),
                    ):  # fmt: skip
                        figures[name] = drive(port, 1, 600, make, limit=args.samples)
                    for name, result in figures.items():
                        ratio = result.percentile(95) / figures["bare"].percentile(95)
                        print(
                            f"{name:>14} {result.percentile(50):>7.2f} {result.percentile(95):>7.2f} "
                            f"{result.percentile(99):>7.2f} {ratio:>8.1f}×"
                        )
                    ours = drive(port, 8, args.seconds, calls.bare)
        port = free_port()
        with running(plain_uvicorn(port, 2), args.database, port, workdir):
            drive(port, 8, 1.0, calls.bare)
            shipped = drive(port, 8, args.seconds, calls.bare)
        print(
            f"\nbare, 8 clients, 2 workers: cpserver serve {ours.rate:.0f}/s "
            f"(p50 {ours.percentile(50):.1f} ms), "
            f"plain uvicorn --workers 2 {shipped.rate:.0f}/s (p50 {shipped.percentile(50):.1f} ms)"
        )
    with engine.connect() as db:
        alerts = db.execute(sa.text("SELECT count(*) FROM alerts")).scalar_one() - alerts_before
        views = db.execute(sa.text("SELECT count(*) FROM audit_events WHERE action = 'view'")).scalar_one()
    engine.dispose()
    report = verify(make_engine(args.database))
    print(
        f"\nalerts raised during the run: {alerts}; audit rows of views: {views:,}; trail: {report.summary()}"
    )
    print(json.dumps(summary))
    return 0 if report.ok and alerts == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
