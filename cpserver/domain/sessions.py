"""Login sessions: opaque random tokens stored hashed, with idle and absolute limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, bindparam, select, update
from sqlalchemy.orm import Session, joinedload

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


@lru_cache(maxsize=1)
def _session_statement() -> Select[tuple[LoginSession, str | None]]:
    """The session with the hash bound as `token_hash`, its user, organisation and authority, and
    the lockdown switch; built once (only the statement, never what it reads)."""
    lockdown = select(SystemSetting.value).where(SystemSetting.key == LOCKDOWN_KEY).scalar_subquery()
    return (
        select(LoginSession, lockdown)
        .where(LoginSession.token_hash == bindparam("token_hash"))
        .options(
            joinedload(LoginSession.user)
            .joinedload(User.organisation)
            .joinedload(Organisation.local_authority),
            joinedload(LoginSession.user).joinedload(User.local_authority),
        )
    )


def authenticate(session: Session, token: str | None, settings: Settings, now: dt.datetime) -> LoginSession:
    """The live session for a bearer token, or 401; ends sessions that have run out.

    Checked on every request: the session is open, within its idle and absolute limits, the
    user is still authorised (rule 1) and the service is not locked down (rule 8).
    """
    if not token:
        raise not_authenticated()
    # One round trip: the session, its user and organisation, and the lockdown switch, read fresh
    # on every request (no cache), so a change made on any server counts from the next request.
    found = session.execute(_session_statement(), {"token_hash": token_hash(token)}).first()
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
        row.last_seen_at = now
    return row
