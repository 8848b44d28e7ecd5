"""The multi-node shape on one machine: a PostgreSQL primary, a streaming replica, two API servers.

    .venv/bin/python bench/multinode.py        (or `make multinode`; about 1-3 minutes)

Builds two throwaway clusters on free local ports (`initdb`, then `pg_basebackup -R` for a hot
standby), seeds the primary, starts two `cpserver serve` processes on it (stateless API servers
behind a load balancer: here the script alternates between them), and shows:

1. searches and views through both servers are correct: a record opened on one is audited once,
   users signed in on one are served by the other, and the one trail verifies;
2. the replica holds every acknowledged view's audit row once it has caught up, and the trail
   verifies on the replica itself (audit review, reports and `cpserver audit verify` can run there);
3. the replica stops: the API servers carry on (asynchronous replication); it restarts and catches up;
4. the replica lags (`recovery_min_apply_delay`): what was just committed on the primary is not yet on
   the replica, which is why searches and views stay on the primary (a shielding must hide a child
   from the very next search, and a view must see the audit trail's latest head);
5. with synchronous replication (`synchronous_standby_names`), a stopped replica stops every audited
   request: each commit waits for it. Then the busy limit answers 503 rather than queueing forever.

Exits 0 when every check holds. Not part of `make test` (it takes minutes on a shared machine).
"""

from __future__ import annotations

import http.client
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import Account, free_port, make_accounts, server_environment

from cpserver.audit.verify import verify
from cpserver.seed import seed_database
from cpserver.store.database import make_engine
from cpserver.store.migrate import upgrade
from tests.pg_cluster import Cluster, make_clusters, wait_until

CHILDREN = 3000
FAILURES: list[str] = []


def check(condition: bool, what: str) -> None:
    print(f"  [{'ok' if condition else 'FAILED'}] {what}", flush=True)
    if not condition:
        FAILURES.append(what)


@contextmanager
def api_server(url: str, workdir: Path, name: str) -> Iterator[int]:
    port = free_port()
    command = [
        sys.executable, "-m", "cpserver.cli", "serve", "--database", url, "--port", str(port),
        "--audit-key", str(workdir / "key.pem"), "--checkpoints", str(workdir / "cps"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=server_environment(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: call(port, "GET", "/api/v1/meta")[0] == 200, 90), f"{name} did not start"
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call(
    port: int, method: str, path: str, body: object = None, token: str | None = None, timeout: float = 15
) -> tuple[int, dict[str, object]]:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(
            method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers
        )
        response = connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else {})
    except (OSError, http.client.HTTPException):
        return 0, {}


def view(port: int, account: Account, index: int, timeout: float = 15) -> tuple[int, dict[str, object]]:
    cp_id = account.children[index % len(account.children)][0]
    return call(
        port,
        "POST",
        f"/api/v1/children/{cp_id}/views",
        {"reason": "who_else_involved"},
        account.token,
        timeout,
    )


def count(cluster: Cluster, sql: str) -> int:
    return int(cluster.sql(sql) or 0)  # type: ignore[call-overload]


def audited(cluster: Cluster, ids: list[int]) -> int:
    if not ids:
        return 0
    return count(cluster, f"SELECT count(*) FROM audit_events WHERE id IN ({','.join(map(str, ids))})")


def caught_up(primary: Cluster, replica: Cluster) -> bool:
    target = primary.sql("SELECT pg_current_wal_lsn()::text")
    return bool(replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"))


def main() -> int:
    clusters = make_clusters()
    if clusters is None:
        print("no PostgreSQL server binaries on this machine (looked under /usr/lib/postgresql/*/bin)")
        return 2
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="cp-multinode-"))
    try:
        primary = clusters.primary()
        engine = make_engine(primary.url)
        upgrade(engine)
        seed_database(engine, children=CHILDREN, training=False)
        engine.dispose()
        replica = clusters.replica(primary)
        print(
            f"primary on port {primary.port}, streaming replica on port {replica.port}, {CHILDREN:,} children"
        )
        accounts = make_accounts(primary.url, 40, random.Random(7))
        acknowledged: list[int] = []

        with (
            api_server(primary.url, workdir, "api-1") as one,
            api_server(primary.url, workdir, "api-2") as two,
        ):
            print("\n1. two API servers on the primary")
            statuses = []
            for index, account in enumerate(accounts[:20]):
                port = (one, two)[index % 2]
                family, born = account.children[0][1], account.children[0][2]
                searched = call(
                    port, "POST", "/api/v1/searches", {"family": family, "date_of_birth": born}, account.token
                )
                found = [r["id"] for r in searched[1].get("results", [])]  # type: ignore[union-attr]
                status, record = view((two, one)[index % 2], account, 0)
                statuses.append((searched[0], status, account.children[0][0] in found))
                if status == 200:
                    acknowledged.append(int(record["view_id"]))  # type: ignore[call-overload]
            check(
                all(s == (200, 200, True) for s in statuses),
                "searched on one server, opened on the other: 20 of 20",
            )
            check(
                audited(primary, acknowledged) == len(acknowledged),
                "each acknowledged view has its audit row",
            )
            report = verify(make_engine(primary.url))
            check(report.ok, f"the one trail verifies on the primary: {report.summary()}")

            print("\n2. the replica")
            check(wait_until(lambda: caught_up(primary, replica), 30), "the replica catches up")
            check(
                audited(replica, acknowledged) == len(acknowledged),
                "every acknowledged view's row is on the replica",
            )
            replica_engine = make_engine(replica.url, sqlite_immediate=False)
            report = verify(replica_engine)
            replica_engine.dispose()
            check(report.ok, f"the trail verifies on the replica (read-only): {report.summary()}")

            print("\n3. the replica stops")
            replica.stop("immediate")
            during = [view((one, two)[i % 2], accounts[20 + i % 10], i) for i in range(20)]
            check(
                all(s == 200 for s, _ in during),
                "views go on through both servers (asynchronous replication)",
            )
            acknowledged += [int(r["view_id"]) for s, r in during if s == 200]  # type: ignore[call-overload]
            replica.start()
            check(
                wait_until(lambda: caught_up(primary, replica), 60),
                "restarted, the replica catches up by itself",
            )
            check(
                audited(replica, acknowledged) == len(acknowledged), "and holds every acknowledged view's row"
            )

            print("\n4. the replica lags")
            replica.sql("ALTER SYSTEM SET recovery_min_apply_delay = '3s'", database="postgres")
            replica.sql("SELECT pg_reload_conf()", database="postgres")
            time.sleep(0.5)
            status, record = view(one, accounts[30], 0)
            fresh = [int(record["view_id"])] if status == 200 else []  # type: ignore[call-overload]
            acknowledged += fresh
            lagging = audited(replica, fresh)
            check(
                status == 200 and lagging == 0,
                "a view just acknowledged on the primary is not yet on the replica",
            )
            check(
                wait_until(lambda: audited(replica, fresh) == 1, 30),
                "...and arrives once the delay has passed",
            )
            replica.sql("ALTER SYSTEM RESET recovery_min_apply_delay", database="postgres")
            replica.sql("SELECT pg_reload_conf()", database="postgres")

            print("\n5. synchronous replication, replica stopped")
            primary.sql("ALTER SYSTEM SET synchronous_standby_names = '*'", database="postgres")
            primary.sql("SELECT pg_reload_conf()", database="postgres")
            check(
                wait_until(lambda: view(one, accounts[31], 1)[0] == 200, 30),
                "with the replica up, views commit",
            )
            replica.stop("immediate")
            began = time.monotonic()
            blocked = view(two, accounts[32], 2, timeout=4)
            check(
                blocked[0] == 0 and time.monotonic() - began >= 3.9,
                "with it down, a view's commit waits (4 s)",
            )
            replica.start()
            primary.sql("ALTER SYSTEM RESET synchronous_standby_names", database="postgres")
            primary.sql("SELECT pg_reload_conf()", database="postgres")
            check(wait_until(lambda: caught_up(primary, replica), 60), "the replica returns and catches up")

        report = verify(make_engine(primary.url))
        check(report.ok, f"at the end the trail verifies: {report.summary()}")
        check(
            audited(primary, acknowledged) == len(acknowledged),
            f"all {len(acknowledged)} acknowledged views audited",
        )
    finally:
        clusters.close()
    print(f"\n{'all checks hold' if not FAILURES else f'{len(FAILURES)} check(s) FAILED'} "
          f"in {time.monotonic() - started:.0f} s")  # fmt: skip
    return 0 if not FAILURES else 1


if __name__ == "__main__":
    sys.exit(main())
