"""What the matcher's blocks find: children read per block, and pairs made, for a batch of delta rows.

    python bench/matching_blocks.py --database URL --delta DELTA.csv [--prefix C1-] [--rows 1000]

Against a loaded directory (the 11M run of docs/notes/session-9.md) and a delta file from
`bench/feeds.py delta`: the first `--skip` rows whose record id starts with `--prefix` (the rows the
matcher decides: new record ids), then `--rows` of them are looked up as one batch
(`matching._fetch_candidates`, read only). Prints the candidate pairs made and, per statement, the
rows it returned and its time. Session 9: 75 pairs a row before the postcode block kept to children
near the row's age, 20 after.
"""

from __future__ import annotations

import argparse
import collections
import io
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.domain.feeds import matching
from cpserver.domain.feeds.format import ReadContext, read_feed
from cpserver.domain.feeds.rows import FeedRow
from cpserver.store.database import make_engine
from cpserver.store.models import LocalAuthority


def _block(statement: Any) -> str:
    sql = str(statement).replace("\n", " ")
    found = re.search(r"FROM (unnest\(:\w+|\w+)", sql)
    name = found.group(1) if found else sql[:40]
    return name + (" (shield sweep)" if "shielded IS true" in sql and "unnest" not in sql else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--delta", type=Path, required=True)
    parser.add_argument("--prefix", default="C1-", help="the delta's new record ids' prefix")
    parser.add_argument("--skip", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    session = Session(make_engine(args.database))
    codes = set(session.scalars(select(LocalAuthority.code)))
    rows: list[FeedRow] = []
    with args.delta.open("rb") as stream:
        for _number, row in read_feed(io.BufferedReader(stream), "csv", ReadContext("national", codes)):
            if isinstance(row, FeedRow) and row.source_record_id.startswith(args.prefix):
                rows.append(row)
                if len(rows) >= args.skip + args.rows:
                    break
    batch = dict(enumerate(rows[args.skip :]))
    returned: collections.Counter[str] = collections.Counter()
    seconds: collections.Counter[str] = collections.Counter()
    reader = matching._reader

    def timed_reader(session: Session) -> Any:
        read = reader(session)

        def timed(statement: Any) -> list[Any]:
            started = time.perf_counter()
            found = read(statement)
            seconds[_block(statement)] += time.perf_counter() - started
            returned[_block(statement)] += len(found)
            return found

        return timed

    matching._reader = timed_reader  # type: ignore[assignment]
    started = time.perf_counter()
    found = matching._fetch_candidates(session, batch)
    took = time.perf_counter() - started
    pairs = sum(len(children) for children in found.values())
    print(f"{len(batch):,} rows: {pairs:,} pairs ({pairs / max(len(batch), 1):.1f} a row), {took:.2f} s")
    for name, count in returned.most_common():
        print(f"  {count:8,} rows  {seconds[name]:6.3f} s  {name}")
    session.rollback()


if __name__ == "__main__":
    main()
