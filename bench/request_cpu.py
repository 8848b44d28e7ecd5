"""CPU time the API process spends on one request, by kind, and its ratio to the bare endpoint.

    python bench/request_cpu.py [--database postgresql://postgres@127.0.0.1:5432/cpbench_viewcpu]
                                [--children 20000] [--reuse] [--requests 400] [--rounds 3]
                                [--code DIR ...] [--drop]

Starts a real `cpserver serve` (one worker) against a PostgreSQL database it seeds itself, sends
`--requests` sequential requests of each kind on one keep-alive connection (bare `GET /meta`, the
cheapest authenticated call `GET /sessions/current`, a search, a record view with its audit row),
and reads the server's CPU time (`/proc/<tid>/schedstat` of every thread of the server and of every
process under it) before and after each block. Each view and search is signed by the next of many practitioner
accounts, so that no rate limit or detection rule fires.

`--code DIR` (repeatable) runs the server from that source tree instead of this one; with several,
one server from each tree runs at once and they take turns, `--block` requests at a time (A B A B
...), so that their figures come from the same moments on a shared, noisy machine: compare the
ratios and the medians, not single rounds.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import sqlalchemy as sa

from cpserver.store.database import normalise_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import Calls, Request, free_port, make_accounts, prepare, wait_until_serving

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cpbench_viewcpu"
ROOT = Path(__file__).resolve().parents[1]
KINDS = ("bare", "auth", "search", "view")


def environment(url: str, code: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(code),
        "CPSERVER_DATABASE_URL": url,
        # As bench/scale.py: every hour is working time, sessions do not idle out. No other change.
        "CPSERVER_WORKING_HOURS_START": "0",
        "CPSERVER_WORKING_HOURS_END": "24",
        "CPSERVER_WORKING_DAYS": "0,1,2,3,4,5,6",
        "CPSERVER_SESSION_IDLE_MINUTES": "240",
    }


def tree(pid: int) -> list[int]:
    """`pid` and every process under it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with suppress(OSError):
                todo += [int(child) for child in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its descendants, to the nanosecond: each live thread's time on a core.

    `/proc/<tid>/schedstat` (user and system time together, in ns) rather than `stat`'s utime and
    stime, whose clock ticks (10 ms) are as coarse as a block of bare requests. A thread that exits
    during a block would take its time with it; the server's threads live across the run.
    """
    total = 0
    for each in tree(pid):
        for task in Path(f"/proc/{each}/task").glob("*"):
            with suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


@contextmanager
def server(url: str, code: Path, workdir: Path) -> Iterator[tuple[int, int]]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        sys.executable, "-m", "cpserver.cli", "serve", "--database", url, "--port", str(port),
        "--workers", "1", "--audit-key", str(workdir / "key.pem"), "--checkpoints", str(workdir / "cps"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=workdir, env=environment(url, code), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_serving(process, port)
        yield process.pid, port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sequential(port: int, make: Callable[[int, int], Request], count: int) -> dict[int, int]:
    """`count` requests one after another on one keep-alive connection; the statuses seen."""
    statuses: dict[int, int] = {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for index in range(count):
        method, path, body, headers = make(0, index)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        statuses[response.status] = statuses.get(response.status, 0) + 1
    connection.close()
    return statuses


def measure(
    url: str, codes: list[Path], workdir: Path, calls: Calls, count: int, block: int
) -> dict[Path, dict[str, float]]:
    """CPU ms per request of each kind, for a server run from each of `codes`, all at once.

    The servers run side by side and take turns, `block` requests at a time, so that each sees the
    same machine (its load, its clock speed) as the others: the pairs' ratios are what is compared.
    """
    makers = {"bare": calls.bare, "auth": calls.authenticated, "search": calls.search, "view": calls.view}
    spent = {code: dict.fromkeys(makers, 0.0) for code in codes}
    with ExitStack() as stack:
        servers = {
            code: stack.enter_context(server(url, code, workdir / str(n))) for n, code in enumerate(codes)
        }
        for _pid, port in servers.values():  # warm up: imports, connections, statement caches, plans
            for make in makers.values():
                sequential(port, make, 30)
        for kind, make in makers.items():
            for _ in range(max(1, count // block)):
                for code, (pid, port) in servers.items():
                    before = cpu_seconds(pid)
                    statuses = sequential(port, make, block)
                    spent[code][kind] += cpu_seconds(pid) - before
                    if set(statuses) != {200}:
                        print(f"  {code}: {kind} answered {statuses}", file=sys.stderr)
    done = max(1, count // block) * block
    return {
        code: {kind: seconds * 1000 / done for kind, seconds in kinds.items()}
        for code, kinds in spent.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--requests", type=int, default=400, help="requests of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--block", type=int, default=50, help="requests a server answers before the next's turn"
    )
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--code", type=Path, action="append", help="source tree to serve (repeatable)")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args(argv)
    codes = [path.resolve() for path in args.code] if args.code else [ROOT]

    prepare(args.database, args.children, args.reuse)
    calls = Calls(make_accounts(args.database, args.accounts, random.Random(2009)))
    results: dict[Path, list[dict[str, float]]] = {code: [] for code in codes}
    with tempfile.TemporaryDirectory(prefix="cpbench-cpu-") as temporary:
        for round_number in range(args.rounds):
            workdir = Path(temporary) / str(round_number)
            found = measure(args.database, codes, workdir, calls, args.requests, args.block)
            for code, figures in found.items():
                results[code].append(figures)
                shown = " ".join(f"{kind} {figures[kind]:.2f}" for kind in KINDS)
                print(f"round {round_number + 1} {code}: CPU ms/request {shown}", flush=True)

    print(f"\nserver CPU ms per request, median of {args.rounds} rounds of {args.requests} each:")
    header = f"{'code':<28} " + " ".join(f"{kind:>7}" for kind in KINDS) + f" {'auth÷bare':>9} "
    header += f"{'search÷bare':>11} {'view÷bare':>9}"
    print(header)
    for code, rounds in results.items():
        median = {kind: statistics.median(figures[kind] for figures in rounds) for kind in KINDS}
        ratios = [
            statistics.median(figures[kind] / figures["bare"] for figures in rounds)
            for kind in ("auth", "search", "view")
        ]
        print(
            f"{str(code)[-28:]:<28} "
            + " ".join(f"{median[kind]:>7.2f}" for kind in KINDS)
            + f" {ratios[0]:>9.2f} {ratios[1]:>11.2f} {ratios[2]:>9.2f}"
        )
    if len(codes) > 1:
        first = results[codes[0]]
        print(f"\neach tree against {codes[0]}, median of the rounds' ratios (same servers' turns):")
        for code in codes[1:]:
            ratios = {
                kind: statistics.median(b[kind] / a[kind] for a, b in zip(first, results[code], strict=True))
                for kind in KINDS
            }
            print(f"{str(code)[-28:]:<28} " + " ".join(f"{ratios[kind]:>7.2f}" for kind in KINDS))
    if args.drop:
        url = sa.make_url(normalise_url(args.database))  # psycopg 3, not SQLAlchemy's default driver
        name = url.database
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
