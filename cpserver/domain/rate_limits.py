"""Rule 7: searches and record views are rate-limited per user and per workstation (429 + Retry-After).

The limits are sized from a normal practitioner's day (docs/architecture.md, "Harvesting and
detection"): a few dozen searches and record views a day, rarely more than a handful a minute.
They are counted from the audit trail itself (indexed by user or workstation, action and time),
so nothing else has to be kept in step, and they hold while an alert is open. All six counts, and
the detection rules' own counts of the user's recent rows (`watch`), are read in one round trip
(cpserver.domain.recent_activity). Every refusal is audited, and refusals that keep coming
escalate (cpserver.domain.harvesting).

A user's accesses are serialised on their account row (PostgreSQL `SELECT ... FOR UPDATE`;
SQLite's writers are serialised already), so parallel requests cannot all slip under a limit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain import harvesting, recent_activity
from cpserver.domain.errors import DomainError, ErrorKind
from cpserver.store.models import AuditEvent, User

REFUSED = "refused:rate_limited"
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """At most `allowed` accesses of one kind by one user (or on one workstation) in `window`."""

    action: str
    per: str  # "user" or "workstation"
    window: dt.timedelta
    allowed: int

    @property
    def label(self) -> str:
        span = {MINUTE: "minute", HOUR: "hour", DAY: "day"}.get(self.window, f"{self.window}")
        return f"{self.action}s per {self.per} per {span}"


def limits_for(settings: Settings, action: str) -> list[Limit]:
    """The limits on `action` ("search" or "view"), shortest window first."""
    per_user = {
        "search": (settings.search_limit_minute, settings.search_limit_hour, settings.search_limit_day),
        "view": (settings.view_limit_minute, settings.view_limit_hour, settings.view_limit_day),
    }[action]
    factor = settings.workstation_limit_factor
    found: list[Limit] = []
    for window, allowed in zip((MINUTE, HOUR, DAY), per_user, strict=True):
        found.append(Limit(action, "user", window, allowed))
        found.append(Limit(action, "workstation", window, math.ceil(allowed * factor)))
    return found


def _counted(limit: Limit) -> tuple[ColumnElement[bool], ...]:
    # Every attempt counts (refused reasons, unknown ids, text that cannot be stored), except the
    # rate-limit refusals themselves: otherwise the wait would never end while someone retries.
    scope = (
        AuditEvent.user_id == recent_activity.USER
        if limit.per == "user"
        else AuditEvent.workstation == recent_activity.WORKSTATION
    )
    return (
        scope,
        AuditEvent.action == limit.action,
        AuditEvent.occurred_at >= recent_activity.since(limit.window),
        AuditEvent.outcome != REFUSED,
    )


@lru_cache(maxsize=64)
def _counts(settings: Settings, action: str) -> tuple[tuple[Limit, recent_activity.Count], ...]:
    """Each limit on `action`, with its count of recent accesses (up to what it allows)."""
    return tuple(
        (limit, recent_activity.Count(f"rate_limit_{number}", _counted(limit), limit.allowed))
        for number, limit in enumerate(limits_for(settings, action))
    )


def _first_exceeded(
    session: Session,
    counted: tuple[tuple[Limit, recent_activity.Count], ...],
    answers: recent_activity.Answers,
    parameters: dict[str, object],
    now: dt.datetime,
) -> tuple[Limit, int] | None:
    """The first limit this access would break and the seconds until it would not, or None."""
    for limit, count in counted:
        if answers.counts[count.name] < limit.allowed:
            continue
        # One slot frees when the oldest of the last `allowed` accesses leaves the window.
        oldest = session.scalar(
            select(AuditEvent.occurred_at)
            .where(*count.where)
            .order_by(AuditEvent.occurred_at.desc())
            .offset(limit.allowed - 1)
            .limit(1),
            parameters,
        )
        wait = (oldest + limit.window - now).total_seconds() if oldest is not None else 1.0
        return limit, max(1, math.ceil(wait))
    return None


@lru_cache(maxsize=1)
def _user_lock() -> Select[tuple[int]]:
    """Lock the user's row (built once: building a statement costs more CPU than sending it)."""
    return select(User.id).where(User.id == bindparam("locked_user")).with_for_update()


def check(
    session: Session,
    settings: Settings,
    user: User,
    origin: trail.Origin,
    action: str,
    now: dt.datetime,
    *,
    detail: Mapping[str, object] | None = None,
    watch: Iterable[recent_activity.Question] = (),
) -> recent_activity.Answers:
    """Refuse this search or view with 429 when a limit is reached; the refusal is audited first.

    `detail` (a search's criteria, a view's requested id) goes into the refusal's audit row.
    `watch`: the detection rules' questions about the user's recent rows, asked in the same round
    trip as the limits' counts, under the same lock; their answers are returned (as they stood
    before this access's own row).
    Not on a training server: its data is fictitious and a class works through it at once.
    """
    watched = tuple(watch)
    values = recent_activity.parameters(user.id, origin.workstation, now)
    if settings.training:
        return recent_activity.read(session, watched, values)
    # SQLite renders no FOR UPDATE and needs none: BEGIN IMMEDIATE serialises its writers already.
    if session.get_bind().dialect.name != "sqlite":
        session.execute(_user_lock(), {"locked_user": user.id})
    counted = _counts(settings, action)
    answers = recent_activity.read(session, tuple(count for _, count in counted) + watched, values)
    found = _first_exceeded(session, counted, answers, values, now)
    if found is None:
        return answers
    limit, seconds = found
    try:
        trail.record(
            session,
            action=action,
            outcome=REFUSED,
            origin=origin,
            user=user,
            detail={**(detail or {}), "limit": limit.label, "retry_after": seconds},
        )
        harvesting.after_refusal(session, settings, user, limit.label, now)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise
    what = "searches" if action == "search" else "records opened"
    raise DomainError(
        ErrorKind.THROTTLED,
        "rate_limited",
        f"You have reached the limit of {limit.allowed} {what} per {limit.label.rsplit(' ', 1)[-1]}"
        f"{' on this workstation' if limit.per == 'workstation' else ''}. Wait {seconds} seconds, then "
        "try again. Your management team can see this; if you need more for your work, contact them.",
        retry_after_seconds=seconds,
    )
