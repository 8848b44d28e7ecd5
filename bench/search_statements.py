"""Where a search's database time goes: each statement of one search, timed, in-process.

    python bench/search_statements.py [--database URL] [--searches 50] [--rounds 4]
                                      [--code DIR ...] [--seed 1]

Runs `cpserver.domain.search.search` (the whole of `POST /searches` but the authentication: rate
limits, criteria, matching, household probe, audit row, detection) as bench/scale.py's searches do
(family name and date of birth of a child of the practitioner's own authority, each search signed
by another of the benchmark's practitioner accounts), and times every statement sent (from the
cursor's execute to its return, results fetched after that are in the search's time only).

Prints, per statement (by its first words), the median time and the median whole-search time.
With several `--code DIR`, each tree runs in its own process, `--searches` at a time, in turns
(A B A B ...) for `--rounds` rounds, on the same criteria, so their figures come from the same
moments on a shared machine. Never prints criteria or names. Needs the benchmark accounts
bench/scale.py makes (users named `bench.%`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cpbench_scale"
ROOT = Path(__file__).resolve().parents[1]


def label(statement: str) -> str:
    """A short name for a statement: its kind and the tables it reads or writes first."""
    words = statement.split()
    head = " ".join(words[:3])
    tables = [
        words[i + 1] for i, w in enumerate(words[:-1]) if w.upper() in ("FROM", "INTO", "UPDATE", "JOIN")
    ]
    return f"{head[:24]} … {' '.join(dict.fromkeys(tables))[:60]}"


def worker(url: str, cases: list[tuple[int, str, str]]) -> dict[str, object]:
    """Run the searches; per statement label its times (ms), and each search's time."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from cpserver.audit import trail
    from cpserver.config import Settings
    from cpserver.domain import search as searching
    from cpserver.store.database import make_engine
    from cpserver.store.models import User

    engine = make_engine(url, pool_pre_ping=False)  # as the API server's
    times: dict[str, list[float]] = {}
    current: dict[str, float] = {}
    counts: list[int] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["started"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        took = (time.perf_counter() - conn.info["started"]) * 1000
        key = label(statement)
        current[key] = current.get(key, 0.0) + took
        current["#"] = current.get("#", 0) + 1

    settings = Settings(
        database_url=url, working_hours_start=0, working_hours_end=24, working_days="0,1,2,3,4,5,6"
    )
    whole: list[float] = []
    for user_id, family, born in cases:
        with Session(engine, expire_on_commit=False) as session:
            user = session.get(User, user_id)
            assert user is not None
            session.commit()
            current.clear()
            origin = trail.Origin(workstation=f"BENCH-{user_id}", client_address="127.0.0.1")
            criteria = searching.Criteria(family=family, date_of_birth=dt.date.fromisoformat(born))
            started = time.perf_counter()
            searching.search(session, user, origin, criteria, settings=settings, now=dt.datetime.now(dt.UTC))
            committing = time.perf_counter()
            session.commit()
            current["COMMIT"] = (time.perf_counter() - committing) * 1000
            whole.append((time.perf_counter() - started) * 1000)
            counts.append(int(current.pop("#", 0)))
            for key, took in current.items():
                times.setdefault(key, []).append(took)
    engine.dispose()
    return {"times": times, "whole": whole, "statements": counts}


def pick_cases(url: str, count: int, seed: int) -> list[tuple[int, str, str]]:
    """`count` (user id, family name, date of birth): children under 17, not shielded, each of its
    searcher's own authority, read from a small sample of the table (no full scan)."""
    import sqlalchemy as sa

    from cpserver.store.database import make_engine

    engine = make_engine(url)
    rng = random.Random(seed)
    with engine.connect() as db:
        db.execute(sa.text("select setseed(:s)"), {"s": (seed % 1000) / 1000})
        users: dict[int, list[int]] = {}
        for user_id, la_id in db.execute(
            sa.text("select id, local_authority_id from users where username like 'bench.%'")
        ):
            users.setdefault(la_id, []).append(user_id)
        rows = db.execute(
            sa.text(
                "select local_authority_id, family_name, date_of_birth from children"
                " tablesample system (0.05) repeatable (:s)"
                " where not shielded and date_of_birth > :born"
            ),
            {"s": seed, "born": dt.date.today().replace(year=dt.date.today().year - 17)},
        ).all()
    engine.dispose()
    rng.shuffle(rows)
    cases = [(rng.choice(users[la]), family, born.isoformat()) for la, family, born in rows if la in users]
    if len(cases) < count:
        raise SystemExit(f"only {len(cases)} usable children in the sample")
    return cases[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=DEFAULT_URL)
    parser.add_argument("--searches", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", action="append", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        cases = [tuple(case) for case in json.load(sys.stdin)]
        json.dump(worker(args.database, cases), sys.stdout)  # type: ignore[arg-type]
        return 0
    trees = args.code or [ROOT]
    cases = pick_cases(args.database, args.searches * args.rounds, args.seed)
    results: dict[Path, dict[str, list[float]]] = {tree: {} for tree in trees}
    wholes: dict[Path, list[float]] = {tree: [] for tree in trees}
    counts: dict[Path, list[int]] = {tree: [] for tree in trees}
    for round_ in range(args.rounds):
        block = cases[round_ * args.searches : (round_ + 1) * args.searches]
        for tree in trees if round_ % 2 == 0 else list(reversed(trees)):
            done = subprocess.run(
                [sys.executable, __file__, "--worker", "--database", args.database],
                input=json.dumps(block), stdout=subprocess.PIPE, text=True, check=True,
                env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree,
            )  # fmt: skip
            out = json.loads(done.stdout)
            for key, values in out["times"].items():
                results[tree].setdefault(key, []).extend(values)
            wholes[tree].extend(out["whole"])
            counts[tree].extend(out["statements"])
    for tree in trees:
        total = len(wholes[tree])
        print(f"\n== {tree}: {total} searches, statements each: median {statistics.median(counts[tree])}")
        whole = sorted(wholes[tree])
        p95 = whole[int(0.95 * (total - 1))]
        print(f"whole search: p50 {statistics.median(whole):.2f} ms  p95 {p95:.2f} ms")
        for key, values in sorted(results[tree].items(), key=lambda kv: -sum(kv[1])):
            print(
                f"  {statistics.median(values):8.2f} ms median  {sum(values) / total:8.2f} ms mean/search"
                f"  n={len(values):4d}  {key}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
