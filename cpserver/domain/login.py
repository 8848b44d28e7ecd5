"""Logging in (throttling, password, one-time code, then the rules that decide who may work) and out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain import detection, throttle
from cpserver.domain.accreditation import accreditation_problems, whom_to_contact
from cpserver.domain.errors import DomainError, ErrorKind, forbidden
from cpserver.domain.one_time_codes import accept_code
from cpserver.domain.passwords import verify_password
from cpserver.domain.sessions import NewSession, end_session, start_session
from cpserver.store.models import Organisation, User
from cpserver.store.models import Session as LoginSession
from cpserver.store.system import is_locked_down

INVALID = "The username, password or one-time code is not right. Check them and try again."


def log_in(
    session: Session,
    *,
    username: str,
    password: str,
    otp: str,
    origin: trail.Origin,
    settings: Settings,
    now: dt.datetime,
) -> tuple[NewSession, User]:
    """A new session, or a `DomainError` (401 wrong details, 403 unmet rule, 429 throttled).

    An unknown username and a wrong password get the same answer after the same work.
    Failures and refusals are committed (audit, throttle counters) before the error is raised.
    """
    keys = [throttle.account_key(username), throttle.address_key(origin.client_address)]
    # Counted before the password is checked, so simultaneous attempts cannot overrun the limit.
    throttle.reserve(
        session,
        {keys[0]: settings.throttle_account_failures, keys[1]: settings.throttle_address_failures},
        settings,
        now,
    )

    wanted = func.lower(User.username) == username.strip().lower()
    # The password hash is checked (slow by design) with no transaction open: on SQLite every
    # transaction holds the database's write lock, and simultaneous sign-ins must not queue
    # behind each other's hashing until they time out.
    stored_hash = session.scalar(select(User.password_hash).where(wanted))
    session.commit()
    password_ok = verify_password(stored_hash, password)
    user = session.scalar(
        select(User)
        .where(wanted)
        .options(
            joinedload(User.organisation).joinedload(Organisation.local_authority),
            joinedload(User.local_authority),
        )
        .with_for_update(of=User)
    )
    if user is not None and user.password_hash != stored_hash:
        password_ok = False  # the password changed while it was being checked
    if user is None or not password_ok or not accept_code(user, otp, now):
        trail.record(session, action="login", outcome="failed", origin=origin, user=user)
        session.commit()
        raise DomainError(ErrorKind.UNAUTHENTICATED, "invalid_credentials", INVALID)
    # The right password and code: this attempt was no failure, whatever follows.
    for key in keys:
        throttle.give_back(session, key)

    if user.role != "national" and is_locked_down(session):
        _refuse(
            session,
            user,
            origin,
            "service_locked_down",
            "ContactPoint is closed to all users while a security incident is dealt with. "
            "Access will be restored when it is resolved; your management team will tell you.",
        )
    problems = accreditation_problems(user, today=now.date(), crb_valid_years=settings.crb_valid_years)
    if problems:
        listed = " ".join(problem.message for problem in problems)
        _refuse(session, user, origin, problems[0].code, f"{listed} {whom_to_contact(user)}")

    throttle.clear(session, keys[0])
    new = start_session(
        session,
        user,
        workstation=origin.workstation,
        client_address=origin.client_address,
        settings=settings,
        now=now,
    )
    trail.record(session, action="login", outcome="success", origin=origin, user=user)
    if settings.detection_enabled:
        detection.after_login(session, settings, user, new.row, now)
    return new, user


def _refuse(session: Session, user: User, origin: trail.Origin, code: str, message: str) -> None:
    trail.record(session, action="login", outcome=f"refused:{code}", origin=origin, user=user)
    session.commit()
    raise forbidden(code, message)


def log_out(session: Session, login: LoginSession, origin: trail.Origin, now: dt.datetime) -> None:
    """End the session at once (its token stops working) and audit the logout."""
    end_session(login, "logout", now)
    trail.record(session, action="logout", outcome="success", origin=origin, user=login.user)
