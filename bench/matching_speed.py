"""Matching speed: `classify` for a batch of 1,000 rows, and for the machine endpoint's 1 to 10 rows.

    python bench/matching_speed.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/cpbench_matching]

Against a seeded database (1M children for the quoted figures), with rows from the quality
benchmark's delta (in a transaction rolled back at the end). Prints wall-clock times (median of a
few runs) and how they split between blocking in the database and scoring in splink/DuckDB; the
first call in a process also pays the lazy import of splink, DuckDB and pyarrow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from matching_quality import DEFAULT_DATABASE, generate_delta, rolled_back

from cpserver.domain.feeds import matching


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with rolled_back(args.database) as session:
        cases = generate_delta(session, 6000, 23, dt.date.today())
        rows = [case.row for case in cases]
        started = time.perf_counter()
        matching.classify(session, rows[:1])
        print(f"first call (lazy imports, DuckDB connection): {time.perf_counter() - started:.3f} s")
        for size in (1, 10, 100, 1000):
            totals, blocking = [], []
            for run in range(args.runs):
                batch = rows[1000 + run * size : 1000 + (run + 1) * size]
                started = time.perf_counter()
                linkable = {index: row for index, row in enumerate(batch)}
                found = matching._fetch_candidates(session, linkable)
                blocked = time.perf_counter() - started
                started = time.perf_counter()
                matching.classify(session, batch)
                totals.append(time.perf_counter() - started)
                blocking.append(blocked)
                pairs = sum(len(children) for children in found.values())
            total, block = statistics.median(totals), statistics.median(blocking)
            print(
                f"{size:>5} rows: {total * 1000:8.1f} ms (blocking {block * 1000:7.1f} ms, "
                f"scoring {max(total - block, 0) * 1000:7.1f} ms; {pairs:,} pairs in the last run)"
            )


if __name__ == "__main__":
    main()
