"""Rule 9: records leave search at the 18th birthday (25th with consent), are archived, then purged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.store.models import Base, Child, RetiredCpId, SystemSetting


def years_before(today: dt.date, years: int) -> dt.date:
    """The date `years` years before `today` (28 February for a 29 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def in_service_clause(today: dt.date, age: int, consent_age: int) -> ColumnElement[bool]:
    """SQL condition: the child is findable today (under 18, or under 25 with consent, not archived)."""
    return in_service_condition(years_before(today, age), years_before(today, consent_age))


def in_service_condition(born_after: Any, born_after_with_consent: Any) -> ColumnElement[bool]:
    """`in_service_clause` with its two dates given: `years_before(today, age)` and with consent.

    Either may be a bound parameter, so that a statement built once serves every day.
    """
    return and_(
        Child.archived_at.is_(None),
        or_(
            Child.date_of_birth > born_after,
            and_(Child.consent_to_25.is_(True), Child.date_of_birth > born_after_with_consent),
        ),
    )


def in_service(child: Child, today: dt.date, age: int, consent_age: int) -> bool:
    """The same rule for one loaded child."""
    if child.archived_at is not None:
        return False
    limit = years_before(today, consent_age if child.consent_to_25 else age)
    return child.date_of_birth > limit


# --- the retention run: archive, then purge ------------------------------------------------------

# PostgreSQL: one node runs retention at a time (a transaction-scoped advisory lock, one-key form,
# which never meets the audit chains' two-key locks). SQLite: `BEGIN IMMEDIATE` serialises writers.
ADVISORY_LOCK_KEY = 0x43505254  # "CPRT"
LAST_RUN_KEY = "retention_last_run"
ORIGIN = trail.Origin(workstation="cpserver-retention", client_address="")
PURGE_CHUNK = 500


@dataclass(frozen=True)
class RunReport:
    """What one retention run did (counts only: no personal data)."""

    today: dt.date
    archived: int
    purged: int
    # Another node was running it, or today's daily run had already happened: nothing was done.
    skipped: bool = False

    def summary(self) -> str:
        if self.skipped:
            return f"retention run for {self.today.isoformat()}: skipped (already run, or running elsewhere)"
        return f"retention run for {self.today.isoformat()}: archived {self.archived}, purged {self.purged}"


def purge_cutoff(today: dt.date, archive_years: int) -> dt.datetime:
    """Records archived before this instant have been in the archive `archive_years` whole years."""
    return dt.datetime.combine(
        years_before(today, archive_years) + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC
    )


def _take_lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}))


def last_run(session: Session) -> dt.date | None:
    value = session.scalar(select(SystemSetting.value).where(SystemSetting.key == LAST_RUN_KEY))
    return dt.date.fromisoformat(value) if value else None


def run_retention(
    session: Session, settings: Settings, *, today: dt.date, now: dt.datetime, only_if_due: bool = False
) -> RunReport:
    """Archive the records that left search, purge those archived long enough, audit the counts.

    Idempotent: a second run on the same day finds nothing to do. `only_if_due` (the daily run inside
    `serve`): do nothing if today's run has happened on any node. Commits.
    """
    if only_if_due and last_run(session) == today:
        session.rollback()
        return RunReport(today, 0, 0, skipped=True)
    if not _take_lock(session):
        session.rollback()
        return RunReport(today, 0, 0, skipped=True)
    if only_if_due and last_run(session) == today:  # another node finished while we waited
        session.rollback()
        return RunReport(today, 0, 0, skipped=True)
    archived = archive_due(session, settings, today=today, now=now)
    purged = purge_due(session, settings, today=today, now=now)
    setting = session.get(SystemSetting, LAST_RUN_KEY)
    if setting is None:
        session.add(SystemSetting(key=LAST_RUN_KEY, value=today.isoformat()))
    elif setting.value < today.isoformat():
        setting.value = today.isoformat()
    trail.record(
        session,
        action="retention_run",
        outcome="done",
        origin=ORIGIN,
        detail={"today": today.isoformat(), "archived": archived, "purged": purged},
    )
    session.commit()
    return RunReport(today, archived, purged)


def archive_due(session: Session, settings: Settings, *, today: dt.date, now: dt.datetime) -> int:
    """Archive every record that has left search (18th birthday, or 25th with consent)."""
    in_age = or_(
        Child.date_of_birth > years_before(today, settings.retention_age_years),
        and_(
            Child.consent_to_25.is_(True),
            Child.date_of_birth > years_before(today, settings.retention_consent_age_years),
        ),
    )
    result = session.execute(
        update(Child)
        .where(Child.archived_at.is_(None), not_(in_age))
        .values(archived_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_due(session: Session, settings: Settings, *, today: dt.date, now: dt.datetime) -> int:
    """Purge every record archived `retention_archive_years` ago: the child and all that names it.

    The audit trail keeps its rows (they carry no foreign keys) and its chains still verify. The
    ContactPoint ID is retired, never issued again.
    """
    cutoff = purge_cutoff(today, settings.retention_archive_years)
    purged = 0
    while True:
        due = session.execute(
            select(Child.id, Child.cp_id)
            .where(Child.archived_at.is_not(None), Child.archived_at < cutoff)
            .order_by(Child.id)
            .limit(PURGE_CHUNK)
        ).all()
        if not due:
            return purged
        purge_children(session, [child_pk for child_pk, _ in due], [cp_id for _, cp_id in due], now=now)
        purged += len(due)


def dependent_tables() -> list[tuple[Table, ColumnElement[bool]]]:
    """Each table holding rows about a child (directly, or through another such row), with the
    condition that picks the rows about the children in `:child_pks`, leaves first.

    Read from the foreign keys, so a table added later is purged too (tests/server/test_retention.py
    lists the ones it expects, so a new one is noticed).
    """
    children: Table = Child.__table__  # type: ignore[assignment]
    doomed: dict[str, ColumnElement[bool]] = {
        "children": children.c.id.in_(bindparam("child_pks", expanding=True))
    }
    order: list[tuple[Table, ColumnElement[bool]]] = []
    changed = True
    while changed:
        changed = False
        for table in Base.metadata.sorted_tables:
            if table.name in doomed:
                continue
            picks = [
                key.parent.in_(select(key.column).where(doomed[key.column.table.name]))
                for key in table.foreign_keys
                if key.column.table.name in doomed and key.column.table is not table
            ]
            if picks:
                doomed[table.name] = or_(*picks)
                order.append((table, doomed[table.name]))
                changed = True
    # A table found later may refer to one found earlier (notices → involvements): delete it first.
    return list(reversed(order))


def purge_children(session: Session, child_pks: list[int], cp_ids: list[str], *, now: dt.datetime) -> None:
    """Delete these children and every row about them; retire their ContactPoint IDs."""
    session.execute(insert(RetiredCpId), [{"cp_id": cp_id, "retired_at": now} for cp_id in cp_ids])
    for table, condition in dependent_tables():
        session.execute(delete(table).where(condition), {"child_pks": child_pks})
    session.execute(delete(Child).where(Child.id.in_(child_pks)).execution_options(synchronize_session=False))
