"""Rule 2: failed logins are throttled per account and per client address (429 + Retry-After)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.config import Settings
from cpserver.domain.errors import DomainError, ErrorKind
from cpserver.store.models import LoginThrottle


def account_key(username: str) -> str:
    """The throttle key for an account name (hashed: what was typed may not be a username)."""
    return "acct:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:40]


def address_key(address: str) -> str:
    return "addr:" + address[:60]


def check_not_throttled(session: Session, keys: list[str], now: dt.datetime) -> None:
    """Raise 429 `too_many_attempts` when any key is locked."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
    locks = [row.locked_until for row in rows if row.locked_until is not None and row.locked_until > now]
    wait = max((until - now).total_seconds() for until in locks) if locks else 0.0
    if wait > 0:
        seconds = math.ceil(wait)
        raise DomainError(
            ErrorKind.THROTTLED,
            "too_many_attempts",
            f"Too many failed sign-in attempts. Wait {seconds} seconds, then try again.",
            retry_after_seconds=seconds,
        )


def record_failure(session: Session, key: str, limit: int, settings: Settings, now: dt.datetime) -> None:
    """Count a failure against `key`; from `limit` failures on, lock with a doubling wait."""
    row = session.get(LoginThrottle, key, with_for_update=True)
    window = dt.timedelta(minutes=settings.throttle_window_minutes)
    if row is None:
        row = LoginThrottle(key=key, failures=0, first_failure_at=now)
        session.add(row)
    elif row.first_failure_at + window < now and (row.locked_until is None or row.locked_until < now):
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
