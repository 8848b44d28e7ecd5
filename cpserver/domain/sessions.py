"""Login sessions: opaque random tokens stored hashed, with idle and absolute limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from cpserver.config import Settings
from cpserver.domain.accreditation import accreditation_problems
from cpserver.domain.errors import DomainError, ErrorKind, not_authenticated, session_expired
from cpserver.store.models import Organisation, SystemSetting, User
from cpserver.store.models import Session as LoginSession
from cpserver.store.system import LOCKDOWN_KEY

# Writing last_seen_at on every request costs a write; once a minute is precise enough for idle.
TOUCH_EVERY = dt.timedelta(seconds=30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    token: str
    row: LoginSession


def start_session(
    session: Session,
    user: User,
    *,
    workstation: str,
    client_address: str,
    settings: Settings,
    now: dt.datetime,
) -> NewSession:
    """Create a session; the token is returned once and only its hash is stored."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=token_hash(token),
        user_id=user.id,
        workstation=workstation,
        client_address=client_address,
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=settings.session_absolute_hours),
    )
    session.add(row)
    session.flush()
    return NewSession(token=token, row=row)


def end_open_sessions(session: Session, which: ColumnElement[bool], reason: str, now: dt.datetime) -> int:
    """End at once every open session matching `which` (a user's, or everyone's but the national team's)."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.ended_at.is_(None), which)
        .values(ended_at=now, end_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions_of(session: Session, user_id: int, reason: str, now: dt.datetime) -> int:
    """End every open session of a user at once (suspension)."""
    return end_open_sessions(session, LoginSession.user_id == user_id, reason, now)


def end_session(row: LoginSession, reason: str, now: dt.datetime) -> None:
    if row.ended_at is None:
        row.ended_at = now
        row.end_reason = reason


@lru_cache(maxsize=2)
def _session_statement(touch: bool) -> Select[Any]:
    """The session with the token's hash, its user, organisation and authority, and
    the lockdown switch; built once (only the statement, never what it reads). The hash is bound as
    `bearer_hash`: an UPDATE takes a parameter named after a column as a value to SET.

    With `touch` (PostgreSQL), the same statement also writes the session's last-seen time when it
    is due (a data-modifying CTE, bound as `now`, `touch_before`, `idle_after`): on an open session
    within its absolute and idle limits, last seen at least `TOUCH_EVERY` ago. That is exactly when
    `authenticate` would write it; the third column says whether it was written. The session read
    is the one from before the write (one snapshot), as the checks need.
    """
    lockdown = select(SystemSetting.value).where(SystemSetting.key == LOCKDOWN_KEY).scalar_subquery()
    statement = (
        select(LoginSession, lockdown)
        .where(LoginSession.token_hash == bindparam("bearer_hash"))
        .options(
            joinedload(LoginSession.user)
            .joinedload(User.organisation)
            .joinedload(Organisation.local_authority),
            joinedload(LoginSession.user).joinedload(User.local_authority),
        )
    )
    if not touch:
        return statement
    sessions = cast(Table, LoginSession.__table__)
    touched = (
        update(sessions)
        .where(
            sessions.c.token_hash == bindparam("bearer_hash"),
            sessions.c.ended_at.is_(None),
            sessions.c.last_seen_at <= bindparam("touch_before"),
            sessions.c.last_seen_at > bindparam("idle_after"),
            sessions.c.expires_at > bindparam("now"),
        )
        .values(last_seen_at=bindparam("now"))
        .returning(sessions.c.id)
        .cte("touched")
    )
    return statement.add_cte(touched).add_columns(select(func.count()).select_from(touched).scalar_subquery())


def authenticate(session: Session, token: str | None, settings: Settings, now: dt.datetime) -> LoginSession:
    """The live session for a bearer token, or 401; ends sessions that have run out.

    Checked on every request: the session is open, within its idle and absolute limits, the
    user is still authorised (rule 1) and the service is not locked down (rule 8).
    """
    if not token:
        raise not_authenticated()
    # One round trip: the session, its user and organisation, and the lockdown switch, read fresh
    # on every request (no cache), so a change made on any server counts from the next request.
    touch = session.get_bind().dialect.name == "postgresql"
    values: dict[str, object] = {"bearer_hash": token_hash(token)}
    if touch:
        idle = dt.timedelta(minutes=settings.session_idle_minutes)
        values.update(now=now, touch_before=now - TOUCH_EVERY, idle_after=now - idle)
    found = session.execute(_session_statement(touch), values).first()
    row: LoginSession | None = found[0] if found is not None else None
    if row is None or row.ended_at is not None:
        raise session_expired()
    locked_down = found is not None and found[1] == "on"
    idle_limit = row.last_seen_at + dt.timedelta(minutes=settings.session_idle_minutes)
    ended_because: str | None = None
    if now >= row.expires_at:
        ended_because = "expired"
    elif now >= idle_limit:
        ended_because = "idle"
    elif accreditation_problems(row.user, today=now.date(), crb_valid_years=settings.crb_valid_years):
        ended_because = "not_authorised"
    elif row.user.role != "national" and locked_down:
        ended_because = "lockdown"
    if ended_because is not None:
        end_session(row, ended_because, now)
        session.commit()
        if ended_because == "lockdown":
            raise DomainError(
                ErrorKind.UNAUTHENTICATED,
                "service_locked_down",
                "ContactPoint is closed to all users while a security incident is dealt with.",
            )
        raise session_expired()
    if now - row.last_seen_at >= TOUCH_EVERY:
        if touch and found is not None and found[2]:
            set_committed_value(row, "last_seen_at", now)  # written already, by the statement above
        else:
            row.last_seen_at = now
    return row
