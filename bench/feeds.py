"""Feed files from the seed's fictitious children, and the load's rows per second.

    python bench/feeds.py reference --database URL --children N      # the target: reference data only
    python bench/feeds.py generate --children N --out FILE [--format csv] [--services --authority CODE]
    python bench/feeds.py delta --children N --rows M --out FILE --truth TRUTH.csv
    python bench/feeds.py measure --database URL --children N [--initial [--jobs N]]  # all of it, timed
    python bench/feeds.py score --database URL --source NAME --delta FILE --truth TRUTH.csv
    python bench/feeds.py shield --database URL [--shield-every 200]  # shield one child in 200
    python bench/feeds.py rebuild --database URL [--jobs 1 2] [--repeat 2]  # the initial load's end phase

The reference and the files must be made with the same --children, --seed and --today, so the school,
GP and authority codes in the files exist in the database. `measure` needs a new, empty database
(a SQLite path that does not exist yet, or an empty PostgreSQL database): it writes the reference,
generates a file, registers a national source and times `cpserver feed load` on it (first load:
every row a new child, by the initial path with --initial; second: every row unchanged), shields
one child in 200 (`--shield-every`; a feed cannot shield), then a delta of a fifth of the children,
and scores the matcher's decisions on it against the truth (`score`:
precision = automatic decisions that were right; recall = rows decided right without a person, a
row held for review counting as not decided; then over the decided rows only: match precision,
recall of the known children and new precision; and the wrong or held rows counted by kind).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jellyfish

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpserver.seed.feed_file import (  # noqa: E402
    child_rows,
    delta_rows,
    reference_in_memory,
    write_csv,
    write_jsonl,
    write_reference_only,
)


def _today(args: argparse.Namespace) -> dt.date:
    return dt.date.fromisoformat(args.today) if args.today else dt.date.today()


def _reference(args: argparse.Namespace) -> int:
    from cpserver.store.database import make_engine
    from cpserver.store.migrate import upgrade

    engine = make_engine(args.database)
    upgrade(engine)
    write_reference_only(engine, children=args.children, random_seed=args.seed, today=_today(args))
    engine.dispose()
    print(f"reference data for {args.children:,} children written", file=sys.stderr)
    return 0


def _generate(args: argparse.Namespace) -> int:
    today = _today(args)
    started = time.monotonic()
    reference = reference_in_memory(children=args.children, random_seed=args.seed, today=today)
    rows = child_rows(
        reference,
        children=args.children,
        random_seed=args.seed,
        today=today,
        services=args.services,
        authority=args.authority,
        id_prefix=args.id_prefix,
    )
    with args.out.open("w", encoding="utf-8", newline="") as out:
        count = (write_csv if args.format == "csv" else write_jsonl)(rows, out)
    print(f"{count:,} rows written to {args.out} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


def _delta(args: argparse.Namespace) -> int:
    today = _today(args)
    reference = reference_in_memory(children=args.children, random_seed=args.seed, today=today)
    rows = child_rows(reference, children=args.children, random_seed=args.seed, today=today)
    share = min(1.0, args.rows / max(args.children, 1) * 1.05)
    changes = delta_rows(
        rows,
        authorities=[item.code for item in reference.authorities],
        total=args.rows,
        share=share,
        random_seed=args.delta_seed if args.delta_seed is not None else args.seed,
        today=today,
        id_prefix=args.id_prefix,
    )
    truths = []

    def feed() -> object:
        for row, truth in changes:
            truths.append(truth)
            yield row

    with args.out.open("w", encoding="utf-8", newline="") as out:
        count = (write_csv if args.format == "csv" else write_jsonl)(feed(), out)  # type: ignore[arg-type]
    with args.truth.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "kind", "child_record_id", "detail"])
        for number, truth in enumerate(truths, start=1):
            writer.writerow([number, truth.kind, truth.child_record_id or "", truth.detail])
    print(f"{count:,} delta rows written to {args.out}, truth in {args.truth}", file=sys.stderr)
    return 0


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cpserver.cli", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def _measure(args: argparse.Namespace) -> int:
    _reference(args)
    with tempfile.TemporaryDirectory() as folder:
        args.out = Path(folder) / f"feed.{args.format}"
        args.services, args.authority, args.id_prefix = False, None, "CB"
        _generate(args)
        added = _cli(
            "feed",
            "source",
            "add",
            "bench-census",
            "--kind",
            "national",
            "--priority",
            "50",
            "--database",
            args.database,
        )
        assert added.returncode == 0, added.stderr
        for label, extra in (
            (
                "first load (all new)" + (f", --initial --jobs {args.jobs}" if args.initial else ""),
                (["--initial", "--jobs", str(args.jobs)] if args.initial else []),
            ),
            ("second load (all unchanged)", []),
        ):
            started = time.monotonic()
            loaded = _cli(
                "feed", "load", *extra, "--source", "bench-census", "--database", args.database, str(args.out)
            )
            seconds = time.monotonic() - started
            last = loaded.stderr.strip().splitlines()[-1] if loaded.stderr.strip() else ""
            print(
                f"{label}: exit {loaded.returncode}, {args.children:,} rows in {seconds:.1f} s "
                f"({args.children / seconds:,.0f} rows/s with start-up); {last}"
            )
        if args.shield_every:
            _shield(args)
        # A day's changes: a fifth of the children (updates, moves, births, doubtful rows).
        args.rows, args.truth = args.children // 5, Path(folder) / "truth.csv"
        args.delta_seed = None
        args.out = Path(folder) / f"delta.{args.format}"
        _delta(args)
        started = time.monotonic()
        loaded = _cli("feed", "load", "--source", "bench-census", "--database", args.database, str(args.out))
        seconds = time.monotonic() - started
        report = loaded.stdout[loaded.stdout.find("{") : loaded.stdout.rfind("}") + 1]
        import json

        counts = {key: value for key, value in json.loads(report).items() if key.startswith("rows_")}
        print(f"delta: exit {loaded.returncode}, {args.rows:,} rows in {seconds:.1f} s; {counts}")
        last = loaded.stderr.strip().splitlines()[-1] if loaded.stderr.strip() else ""
        print(f"delta: {last}")
        scored = subprocess.run(
            [
                sys.executable,
                __file__,
                "score",
                "--database",
                args.database,
                "--delta",
                str(args.out),
                "--truth",
                str(args.truth),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        print("\n".join(scored.stdout.strip().splitlines()[-3:]))
    return 0


def _shield(args: argparse.Namespace) -> int:
    """Shield every `--shield-every`th child (by key), as a management team would, so that the
    delta's score shows whether a shielded child is ever matched wrongly or made a new record
    (a feed cannot set a shield, so a directory loaded from feeds holds none). The triggers copy
    the shield onto the children's carers, as for any write."""
    from sqlalchemy import text

    from cpserver.store.database import make_engine

    engine = make_engine(args.database)
    review = _today(args) + dt.timedelta(days=365)
    with engine.begin() as connection:
        shielded = connection.execute(
            text(
                "UPDATE children SET shielded = true, shield_ground = 'significant_harm', "
                "shield_review_date = :review WHERE id % :every = 0 AND NOT shielded"
            ),
            {"every": args.shield_every, "review": review},
        ).rowcount
    engine.dispose()
    print(f"{shielded:,} children shielded (one in {args.shield_every})", file=sys.stderr)
    return 0


def _score(args: argparse.Namespace) -> int:
    """Precision and recall of a loaded delta against its truth, and the matcher's errors by kind.

    The matcher decides the rows under a record id the source has not sent before ("new" and
    "doubtful"); the rest are applied by their record id. A row's decision is read from what the load
    left: linked to its own child (a "new" decision), to another record's child (a "match"), or held
    in the queue. The errors are printed as counts by what the row and the child it was wrongly
    linked to have in common (no personal data).
    """
    import json
    from collections import Counter

    from sqlalchemy import func, select

    from cpserver.domain.names import normalise_name, normalise_postcode
    from cpserver.store.database import make_engine, make_session_factory
    from cpserver.store.models import Child, FeedSource, MatchReview, SourceRecord

    with args.delta.open(encoding="utf-8", newline="") as handle:  # the plain fields are all it reads
        if args.delta.suffix == ".csv":
            rows: list[dict[str, Any]] = list(csv.DictReader(handle))
        else:
            rows = [json.loads(line) for line in handle]
    record_ids = [row["source_record_id"] for row in rows]
    with args.truth.open(encoding="utf-8") as handle:
        truths = list(csv.DictReader(handle))
    engine = make_engine(args.database)
    with make_session_factory(engine)() as session:
        source = session.scalar(select(FeedSource).where(FeedSource.name == args.source))
        assert source is not None
        wanted = set(record_ids) | {truth["child_record_id"] for truth in truths if truth["child_record_id"]}
        links: dict[str, int] = {}
        wanted_list = sorted(wanted)
        for start in range(0, len(wanted_list), 5_000):
            part = wanted_list[start : start + 5_000]
            links |= dict(
                session.execute(
                    select(SourceRecord.source_record_id, SourceRecord.child_pk).where(
                        SourceRecord.source_id == source.id, SourceRecord.source_record_id.in_(part)
                    )
                )
                .tuples()
                .all()
            )
        held = set(
            session.scalars(
                select(MatchReview.source_record_id).where(
                    MatchReview.source_id == source.id, MatchReview.status == "open"
                )
            )
        )
        # The children the matcher's rows were linked to: how many record ids each has (one: the
        # row made a child of its own), and what the model compares, for the error counts.
        decided = sorted(
            {
                links[r]
                for r, t in zip(record_ids, truths, strict=True)
                if t["kind"] in _MATCHED and r in links
            }
        )
        records_of: dict[int, int] = {}
        facts: dict[int, tuple[str, str, str, str]] = {}
        for start in range(0, len(decided), 5_000):
            part = decided[start : start + 5_000]
            records_of |= dict(
                session.execute(
                    select(SourceRecord.child_pk, func.count())
                    .where(SourceRecord.child_pk.in_(part))
                    .group_by(SourceRecord.child_pk)
                )
                .tuples()
                .all()
            )
            for pk, given, family, born, postcode in session.execute(
                select(
                    Child.id, Child.given_norm, Child.family_norm, Child.date_of_birth, Child.postcode_norm
                ).where(Child.id.in_(part))
            ):
                facts[pk] = (given, family, born.isoformat(), postcode)
        # Shield safety: the matcher's rows that are a shielded child are never a new record.
        truth_children = sorted(
            {
                links[t["child_record_id"]]
                for t in truths
                if t["kind"] in _MATCHED and t["child_record_id"] in links
            }
        )
        shielded: set[int] = set()
        for start in range(0, len(truth_children), 5_000):
            shielded |= set(
                session.scalars(
                    select(Child.id).where(
                        Child.id.in_(truth_children[start : start + 5_000]), Child.shielded.is_(True)
                    )
                )
            )
        shield: Counter[str] = Counter()
        by_kind: dict[str, dict[str, int]] = {}
        errors: Counter[str] = Counter()
        tally: Counter[str] = Counter()  # right_match, wrong_match, wrong_match_known, right_new, wrong_new
        for row, record, truth in zip(rows, record_ids, truths, strict=True):
            kind = truth["kind"]
            counts = by_kind.setdefault(kind, {"right": 0, "wrong": 0, "held": 0, "rejected": 0})
            detail = f"{kind}/{truth.get('detail') or '-'}"
            if kind in _MATCHED and (child := links.get(truth["child_record_id"])) in shielded:
                got = links.get(record)
                shield["held" if got is None else "matched" if got == child else "not matched"] += 1
            if record in held and record not in links:
                counts["held"] += 1
                if kind in _MATCHED:
                    errors[f"{detail}: held for review"] += 1
                continue
            got = links.get(record)
            if got is None:
                counts["rejected"] += 1
                continue
            if kind not in _MATCHED:
                counts["right" if got == links.get(truth["child_record_id"]) else "wrong"] += 1
                continue
            made_new = records_of.get(got) == 1
            if kind == "new":
                right = made_new
                tally["right_new" if made_new else "wrong_match"] += 1
            else:
                right = got == links.get(truth["child_record_id"])
                tally["right_match" if right else "wrong_new" if made_new else "wrong_match_known"] += 1
            counts["right" if right else "wrong"] += 1
            if not right:
                if made_new:
                    what = f"made a new child (postcode {'given' if row.get('postcode') else 'none'})"
                else:
                    what = "linked to " + _likeness(row, facts[got], normalise_name, normalise_postcode)
                errors[f"{detail}: {what}"] += 1
    engine.dispose()
    print(json.dumps(by_kind, indent=1))
    if errors:
        print(
            "the matcher's rows not decided right, by kind"
            " (and what the row shares with the child it was linked to):"
        )
        for label, count in sorted(errors.items()):
            print(f"  {count:6,}  {label}")
    matcher = [kind for kind in by_kind if kind in _MATCHED]
    decided_right = sum(by_kind[k]["right"] for k in matcher)
    decided_wrong = sum(by_kind[k]["wrong"] for k in matcher)
    total = sum(sum(by_kind[k].values()) for k in matcher)
    held_count = sum(by_kind[k]["held"] for k in matcher)
    if total:
        precision = decided_right / max(decided_right + decided_wrong, 1)
        print(
            f"matcher rows {total:,}: precision {precision:.4%} (automatic decisions right), "
            f"recall {decided_right / total:.4%} (rows decided right without a person), "
            f"held {held_count:,}"
        )
        matches = tally["right_match"] + tally["wrong_match"] + tally["wrong_match_known"]
        known = tally["right_match"] + tally["wrong_match_known"] + tally["wrong_new"]
        news = tally["right_new"] + tally["wrong_new"]
        print(
            f"matcher rows decided {decided_right + decided_wrong:,}: "
            f"match precision {tally['right_match'] / max(matches, 1):.4%} ({matches:,} matches), "
            f"recall of known children {tally['right_match'] / max(known, 1):.4%} ({known:,}), "
            f"new precision {tally['right_new'] / max(news, 1):.4%} ({news:,} new)"
        )
    print(
        f"shielded children among the matcher's rows: {sum(shield.values()):,}: "
        f"matched to them {shield['matched']:,}, held {shield['held']:,}, "
        f"a new record or another child {shield['not matched']:,}"
    )
    everything = sum(sum(c.values()) for c in by_kind.values())
    right = sum(c["right"] for c in by_kind.values())
    wrong = sum(c["wrong"] for c in by_kind.values())
    print(
        f"all rows {everything:,}: precision {right / max(right + wrong, 1):.4%}, "
        f"recall {right / everything:.4%}, held {sum(c['held'] for c in by_kind.values()):,}"
    )
    return 0


# The kinds of row the matcher decides (sent under a record id the source has not sent before).
_MATCHED = ("new", "doubtful")


def _likeness(row: dict[str, object], child: tuple[str, str, str, str], name: Any, postcode: Any) -> str:
    """What a row and a child share, in words without personal data ("given same, dob other")."""
    given, family, born, code = child
    row_given, row_family = name(str(row["given_name"])), name(str(row["family_name"]))
    row_born, row_code = str(row["date_of_birth"]), postcode(str(row.get("postcode") or ""))

    def names(a: str, b: str) -> str:
        if a == b:
            return "same"
        return "close" if jellyfish.damerau_levenshtein_distance(a, b) <= 2 else "other"

    dob = "same" if born == row_born else "same year" if born[:4] == row_born[:4] else "other"
    home = "none" if not row_code else "same" if row_code == code else "other"
    return f"given {names(row_given, given)}, family {names(row_family, family)}, dob {dob}, postcode {home}"


def _rebuild(args: argparse.Namespace) -> int:
    """Time the initial load's end phase on a loaded directory: drop the search indexes and foreign
    keys as an initial load does, then rebuild them, alternately the way before session 6 (one
    transaction, one connection, the server's memory) and shared by each --jobs count, --repeat
    times, pair by pair."""
    from sqlalchemy import delete, select

    from cpserver.domain.feeds.parallel import DROPPED_INDEX, drop_search_indexes, restore_search_indexes
    from cpserver.store.database import make_engine, make_session_factory
    from cpserver.store.models import SystemSetting

    def before(session: Any) -> int:
        kept = session.execute(
            select(SystemSetting.key, SystemSetting.value).where(SystemSetting.key.startswith(DROPPED_INDEX))
        ).all()
        connection = session.connection()
        for _key, definition in sorted(kept):
            connection.exec_driver_sql(definition)
        session.execute(delete(SystemSetting).where(SystemSetting.key.startswith(DROPPED_INDEX)))
        session.commit()
        return len(kept)

    engine = make_engine(args.database)
    factory = make_session_factory(engine)
    ways: list[tuple[str, Any]] = [("before (one transaction)", before)]
    ways += [
        (f"--jobs {jobs}", lambda session, jobs=jobs: restore_search_indexes(session, jobs=jobs))
        for jobs in args.jobs
    ]
    for round_ in range(1, args.repeat + 1):
        for label, rebuild in ways:
            with factory() as session:
                drop_search_indexes(session)
            started = time.monotonic()
            with factory() as session:
                count = rebuild(session)
            print(
                f"round {round_}: {label}: {count} indexes and keys in {time.monotonic() - started:.1f} s",
                flush=True,
            )
    engine.dispose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=2009, help="the seed's random seed")
    parser.add_argument("--today", default=None, help="the seed's today (YYYY-MM-DD); default today")
    commands = parser.add_subparsers(dest="command", required=True)
    reference = commands.add_parser("reference")
    reference.add_argument("--database", required=True)
    reference.add_argument("--children", type=int, required=True)
    reference.set_defaults(run=_reference)
    generate = commands.add_parser("generate")
    generate.add_argument("--children", type=int, required=True)
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    generate.add_argument("--services", action="store_true", help="a local authority's feed, with services")
    generate.add_argument("--authority", default=None, help="only this authority's children")
    generate.add_argument("--id-prefix", default="CB")
    generate.set_defaults(run=_generate)
    delta = commands.add_parser("delta")
    delta.add_argument("--children", type=int, required=True)
    delta.add_argument("--rows", type=int, required=True)
    delta.add_argument("--out", type=Path, required=True)
    delta.add_argument("--truth", type=Path, required=True)
    delta.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    delta.add_argument(
        "--delta-seed",
        type=int,
        default=None,
        help="another day's changes to the same children (default --seed)",
    )
    delta.add_argument("--id-prefix", default="CB", help="new record ids' prefix (another for another day)")
    delta.set_defaults(run=_delta)
    measure = commands.add_parser("measure")
    measure.add_argument("--database", required=True)
    measure.add_argument("--children", type=int, default=10_000)
    measure.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    measure.add_argument("--initial", action="store_true", help="the first load with `feed load --initial`")
    measure.add_argument("--jobs", type=int, default=1, help="with --initial: loading processes")
    measure.add_argument(
        "--shield-every",
        type=int,
        default=200,
        help="before the delta, shield one child in this many (0: none); see `shield`",
    )
    measure.set_defaults(run=_measure)
    shield = commands.add_parser("shield", help="shield one child in N of a loaded directory")
    shield.add_argument("--database", required=True)
    shield.add_argument("--shield-every", type=int, default=200)
    shield.set_defaults(run=_shield)
    rebuild = commands.add_parser("rebuild", help="time the initial load's end phase (indexes and keys)")
    rebuild.add_argument("--database", required=True)
    rebuild.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    rebuild.add_argument("--repeat", type=int, default=2)
    rebuild.set_defaults(run=_rebuild)
    score = commands.add_parser("score", help="precision and recall of a loaded delta against its truth")
    score.add_argument("--database", required=True)
    score.add_argument("--source", default="bench-census")
    score.add_argument("--delta", type=Path, required=True, help="the delta file (JSON Lines)")
    score.add_argument("--truth", type=Path, required=True)
    score.set_defaults(run=_score)
    args = parser.parse_args()
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
