"""The household probe before and after migration 0011 (carers carry their child's shield), side by side.

Usage (PostgreSQL, a seeded directory: see bench/scale.py's prepare()):

    PYTHONPATH=. python bench/household_probe.py postgresql://postgres@127.0.0.1:5432/cpbench_NAME \
        [--samples 200] [--upgrade]

`--upgrade` first migrates the directory to the newest schema and times it (the backfill of 0011).
Then, for random sets of 50 children with their carers (a page of search results) and for single
children (a record view), it times `covering_shields` with the probe of migration 0010 (every
carer at the postcodes and telephones, joined to its child) and with the current one (the flagged
carers' partial indexes), alternating, on the same connection, and checks that both find the same
shields. It prints medians and p95s, their ratio, the rows the old probe read, and one EXPLAIN
ANALYZE of each for a 50-child set.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import CompoundSelect, Select, String, any_, bindparam, union
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cpserver.domain import household_shield
from cpserver.domain.household_shield import carer_postcode_key, carer_telephone_key, child_telephone_key
from cpserver.store.database import make_engine
from cpserver.store.household_facts import carer_shield_drift
from cpserver.store.migrate import upgrade
from cpserver.store.models import Carer, Child

NearStatement = Callable[[bool, bool, bool], CompoundSelect[tuple[int]]]
CURRENT: NearStatement = household_shield._near_statement


def old_near_statement(by_postcode: bool, by_telephone: bool, postgres: bool) -> CompoundSelect[tuple[int]]:
    """Migration 0010's probe, as it was: the carers' whole-table indexes, joined to the children."""
    parts: list[Select[tuple[int]]] = []
    for wanted, name, child_key, carer_key in (
        (by_postcode, "postcodes", Child.postcode_norm, carer_postcode_key()),
        (by_telephone, "telephones", child_telephone_key(), carer_telephone_key()),
    ):
        if not wanted:
            continue
        values: Any = (
            bindparam(name, type_=postgresql.ARRAY(String)) if postgres else bindparam(name, expanding=True)
        )
        own = child_key == any_(values) if postgres else child_key.in_(values)
        theirs = carer_key == any_(values) if postgres else carer_key.in_(values)
        parts.append(sa.select(Child.id).where(Child.shielded.is_(True), own))
        parts.append(
            sa.select(Carer.child_pk)
            .join(Child, Child.id == Carer.child_pk)
            .where(Child.shielded.is_(True), theirs)
        )
    return union(*parts)


def samples(
    session: Session, rng: random.Random, count: int, size: int
) -> list[list[tuple[Child, list[Carer]]]]:
    top = session.scalar(sa.select(sa.func.max(Child.id))) or 0
    sets = []
    for _ in range(count):
        ids = rng.sample(range(1, top + 1), size)
        children = list(session.scalars(sa.select(Child).where(Child.id.in_(ids))))
        carers: dict[int, list[Carer]] = {child.id: [] for child in children}
        for carer in session.scalars(sa.select(Carer).where(Carer.child_pk.in_(list(carers)))):
            carers[carer.child_pk].append(carer)
        sets.append([(child, carers[child.id]) for child in children])
    return sets


def timed(
    session: Session, statement: NearStatement, children: Sequence[tuple[Child, list[Carer]]]
) -> tuple[float, Any]:
    household_shield._near_statement = statement  # type: ignore[assignment]
    started = time.perf_counter()
    cover = household_shield.covering_shields(session, children)
    elapsed = (time.perf_counter() - started) * 1000
    household_shield._near_statement = CURRENT
    return elapsed, {child: sorted(shield.id for shield in shields) for child, shields in cover.items()}


def probe_alone(
    session: Session, statement: NearStatement, children: Sequence[tuple[Child, list[Carer]]]
) -> float:
    """The probe's own statement (covering_shields's first question), in ms."""
    facts = [household_shield.facts_of(child, carers) for child, carers in children]
    values = {
        "postcodes": sorted({key[0] for f in facts for key in f.addresses}),
        "telephones": sorted({number for f in facts for number in f.telephones}),
    }
    postgres = session.get_bind().dialect.name == "postgresql"
    compiled = statement(bool(values["postcodes"]), bool(values["telephones"]), postgres)
    started = time.perf_counter()
    session.execute(compiled, values).all()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def explain(
    session: Session, statement: CompoundSelect[tuple[int]], children: Sequence[tuple[Child, list[Carer]]]
) -> str:
    facts = [household_shield.facts_of(child, carers) for child, carers in children]
    values = {
        "postcodes": sorted({key[0] for f in facts for key in f.addresses}),
        "telephones": sorted({number for f in facts for number in f.telephones}),
    }
    sent: list[tuple[str, Any]] = []

    def keep(_c: Any, _cur: Any, sql: str, parameters: Any, *_rest: Any) -> None:
        sent.append((sql, parameters))

    connection = session.connection()
    sa.event.listen(connection, "before_cursor_execute", keep)
    try:
        connection.execute(statement, values).all()
    finally:
        sa.event.remove(connection, "before_cursor_execute", keep)
    sql, parameters = sent[0]
    rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + sql, parameters)
    return "\n".join(str(row[0]) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--upgrade", action="store_true")
    args = parser.parse_args()
    engine = make_engine(args.url)
    if args.upgrade:
        started = time.perf_counter()
        upgrade(engine)
        print(f"upgrade to head (0011's backfill included): {time.perf_counter() - started:.1f} s")
    rng = random.Random(2026)
    with Session(engine) as session:
        print(
            f"carers whose flag differs from their child's shield: {carer_shield_drift(session.connection())}"
        )
        print(
            "children {:,}, shielded {:,}, carers {:,}, flagged carers {:,}".format(
                *session.execute(
                    sa.text(
                        "SELECT (SELECT count(*) FROM children), "
                        "(SELECT count(*) FROM children WHERE shielded), (SELECT count(*) FROM carers), "
                        "(SELECT count(*) FROM carers WHERE child_shielded)"
                    )
                ).one()
            )
        )
        postgres = engine.dialect.name == "postgresql"
        for label, size in (("50-child result set", 50), ("single view", 1)):
            sets = samples(session, rng, args.samples, size)
            for children in sets[:5]:  # warm both statements (plans, prepared statements, cache)
                timed(session, old_near_statement, children)
                timed(session, CURRENT, children)
            old: list[float] = []
            new: list[float] = []
            old_probe: list[float] = []
            new_probe: list[float] = []
            covered = 0
            for number, children in enumerate(sets):
                order = [(old_near_statement, old, old_probe), (CURRENT, new, new_probe)]
                if number % 2:
                    order.reverse()
                results = []
                for statement, times, probe_times in order:
                    elapsed, cover = timed(session, statement, children)
                    times.append(elapsed)
                    results.append(cover)
                    probe_times.append(probe_alone(session, statement, children))
                assert results[0] == results[1], "the two probes found different shields"
                covered += sum(1 for shields in results[0].values() if shields)
            print(
                f"{label} ({len(sets)} sets, {covered} children covered): covering_shields median "
                f"old {statistics.median(old):.2f} ms, new {statistics.median(new):.2f} ms "
                f"(new/old {statistics.median(new) / statistics.median(old):.2f}); p95 old "
                f"{percentile(old, 0.95):.2f} ms, new {percentile(new, 0.95):.2f} ms"
            )
            print(
                f"{label}: the probe statement alone, median old {statistics.median(old_probe):.2f} ms, new "
                f"{statistics.median(new_probe):.2f} ms (new/old "
                f"{statistics.median(new_probe) / statistics.median(old_probe):.2f}); p95 old "
                f"{percentile(old_probe, 0.95):.2f} ms, new {percentile(new_probe, 0.95):.2f} ms"
            )
            if postgres and size > 1:
                print(
                    "EXPLAIN ANALYZE, old probe:\n"
                    + explain(session, old_near_statement(True, True, True), sets[0])
                )
                print("EXPLAIN ANALYZE, new probe:\n" + explain(session, CURRENT(True, True, True), sets[0]))
    engine.dispose()


if __name__ == "__main__":
    main()
