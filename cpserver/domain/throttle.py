"""Rule 2: failed logins are throttled per account and per client address (429 + Retry-After).

Each attempt is counted *before* its password is checked (`reserve`), under a row lock, and
the count is given back if the attempt succeeds. So simultaneous wrong passwords cannot all be
checked against the limit while none has been counted yet: of 14 at once against a limit of 5,
at most 5 reach the password check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cpserver.config import Settings
from cpserver.domain.errors import DomainError, ErrorKind
from cpserver.store.models import LoginThrottle


def account_key(username: str) -> str:
    """The throttle key for an account name (hashed: what was typed may not be a username)."""
    return "acct:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:40]


def address_key(address: str) -> str:
    return "addr:" + address[:60]


def _locked_row(session: Session, key: str, now: dt.datetime) -> LoginThrottle:
    """The throttle row for `key`, created if missing (race-free) and locked for this transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, first_failure_at=now, locked_until=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = session.scalar(
        select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def reserve(session: Session, limits: dict[str, int], settings: Settings, now: dt.datetime) -> None:
    """Count this attempt against each key (key → limit) before it is checked, and commit.

    Raises 429 `too_many_attempts` (counting nothing) when a key is locked. The keys are locked in
    a fixed order, so two attempts never wait for each other's second key.
    """
    rows = {key: _locked_row(session, key, now) for key in sorted(limits)}
    window = dt.timedelta(minutes=settings.throttle_window_minutes)
    waits = [
        (row.locked_until - now).total_seconds()
        for row in rows.values()
        if row.locked_until and row.locked_until > now
    ]
    if waits:
        session.commit()
        seconds = math.ceil(max(waits))
        raise DomainError(
            ErrorKind.THROTTLED,
            "too_many_attempts",
            f"Too many failed sign-in attempts. Wait {seconds} seconds, then try again.",
            retry_after_seconds=seconds,
        )
    for key, row in rows.items():
        if row.first_failure_at + window < now or row.failures == 0:
            row.failures = 0
            row.first_failure_at = now
            row.locked_until = None
        row.failures += 1
        if row.failures >= limits[key]:
            exponent = min(row.failures - limits[key], 16)
            seconds = min(settings.throttle_base_seconds * 2**exponent, settings.throttle_max_seconds)
            row.locked_until = now + dt.timedelta(seconds=seconds)
    session.commit()


def give_back(session: Session, key: str) -> None:
    """A reserved attempt that succeeded was not a failure: uncount it."""
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is not None and row.failures > 0:
        row.failures -= 1


def record_failure(session: Session, key: str, limit: int, settings: Settings, now: dt.datetime) -> None:
    """Count a failure against `key`; from `limit` failures on, lock with a doubling wait."""
    row = _locked_row(session, key, now)  # created race-free if missing
    window = dt.timedelta(minutes=settings.throttle_window_minutes)
    if row.first_failure_at + window < now and (row.locked_until is None or row.locked_until < now):
        row.failures = 0
        row.first_failure_at = now
        row.locked_until = None
    row.failures += 1
    if row.failures >= limit:
        exponent = min(row.failures - limit, 16)
        seconds = min(settings.throttle_base_seconds * 2**exponent, settings.throttle_max_seconds)
        row.locked_until = now + dt.timedelta(seconds=seconds)


def clear(session: Session, key: str) -> None:
    """Forget the failures of `key` (after a successful login)."""
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)
