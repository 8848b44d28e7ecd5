"""A management team runs its authority's accounts: add, accredit, suspend, reinstate (rule 1)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from cpserver.audit import trail
from cpserver.domain.accreditation import accreditation_problems, crb_expiry
from cpserver.domain.errors import conflict, invalid, not_found, role_not_permitted
from cpserver.domain.oversight_scope import (
    OVERSEERS,
    authority_filter,
    require_cmt,
    require_may_act_on,
    require_own_authority,
)
from cpserver.domain.passwords import hash_password
from cpserver.domain.sessions import end_sessions_of
from cpserver.store.models import Organisation, User

EXPIRY_WARNING_DAYS = 60


@dataclass(frozen=True)
class Enrolment:
    """A new account with its one-off secrets, to be shown once to the management team."""

    user: User
    password: str
    totp_secret: str


def overseen_users(session: Session, actor: User) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(authority_filter(actor, User.local_authority_id))
            .options(joinedload(User.organisation), joinedload(User.local_authority))
            .order_by(User.family_name, User.given_name, User.id)
        )
    )


def problems_of(user: User, today: dt.date, crb_valid_years: int) -> list[str]:
    return [p.code for p in accreditation_problems(user, today=today, crb_valid_years=crb_valid_years)]


def expiring_checks(users: list[User], today: dt.date, crb_valid_years: int) -> list[User]:
    """Users whose criminal records check runs out within 60 days (or has run out)."""
    limit = today + dt.timedelta(days=EXPIRY_WARNING_DAYS)
    return [
        user
        for user in users
        if user.crb_checked_on is not None and crb_expiry(user.crb_checked_on, crb_valid_years) <= limit
    ]


def managed_user(session: Session, actor: User, user_id: int, *, national_may_act: bool = False) -> User:
    """A user the actor may act on, or 404/403.

    The role is checked before the lookup, so a caller without it learns nothing about which ids
    exist. With `national_may_act` (suspension, reinstatement, incidents) the national team acts
    on its own members; accreditation stays with the management teams.
    """
    if actor.role not in (OVERSEERS if national_may_act else ("cmt",)):
        raise role_not_permitted()
    missing = not_found("user_not_found", "There is no user with that number.")
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise missing
    if national_may_act:
        require_may_act_on(actor, user.local_authority_id, "account", missing=missing)
    else:
        require_own_authority(actor, user.local_authority_id, "account", missing=missing)
    return user


def add_user(session: Session, actor: User, origin: trail.Origin, values: dict[str, object]) -> Enrolment:
    """A new account in the actor's authority, not yet accredited; returns it with its one-off secrets."""
    la_id = require_cmt(actor)
    organisation = session.get(Organisation, values["organisation_id"])
    if organisation is None or organisation.local_authority_id != la_id:
        raise invalid(
            "organisation_unknown", "Choose an organisation in your authority.", field="organisation_id"
        )
    username = str(values["username"])
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise conflict("username_taken", "That username is already in use.", field="username")
    password = secrets.token_urlsafe(12)
    secret = pyotp.random_base32(32)  # 160 bits
    user = User(
        username=username,
        password_hash=hash_password(password),
        totp_secret=secret,
        role=str(values["role"]),
        given_name=str(values["given_name"]),
        family_name=str(values["family_name"]),
        job_title=str(values["job_title"]),
        telephone=str(values["telephone"]),
        email=str(values["email"]),
        home_postcode=str(values.get("home_postcode") or ""),
        organisation_id=organisation.id,
        local_authority_id=la_id,
        manager_name=str(values["manager_name"]),
        manager_email=str(values["manager_email"]),
    )
    session.add(user)
    session.flush()
    trail.record(
        session,
        action="user_added",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"user_id": user.id},
    )
    return Enrolment(user=user, password=password, totp_secret=secret)


def set_accreditation(
    session: Session,
    actor: User,
    origin: trail.Origin,
    user_id: int,
    *,
    crb_checked_on: dt.date | None,
    training_completed: bool,
    procedures_received: bool,
    agreement_signed: bool,
    today: dt.date,
) -> User:
    user = managed_user(session, actor, user_id)
    if crb_checked_on is not None and crb_checked_on > today:
        raise invalid("invalid_request", "The check date cannot be in the future.", field="crb_checked_on")
    user.crb_checked_on = crb_checked_on
    user.training_completed = training_completed
    user.procedures_received = procedures_received
    user.agreement_signed = agreement_signed
    trail.record(
        session,
        action="accreditation_recorded",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"user_id": user.id},
    )
    return user


def suspend(session: Session, user: User, reason: str, now: dt.datetime) -> None:
    """Suspend an account; every open session ends at once."""
    user.suspended = True
    user.suspended_reason = reason[:500]
    end_sessions_of(session, user.id, "suspended", now)


def suspend_user(
    session: Session, actor: User, origin: trail.Origin, user_id: int, reason: str, now: dt.datetime
) -> User:
    user = managed_user(session, actor, user_id, national_may_act=True)
    if user.id == actor.id:
        raise invalid("cannot_suspend_yourself", "You cannot suspend your own account.")
    suspend(session, user, reason, now)
    trail.record(
        session,
        action="user_suspended",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"user_id": user.id, "reason": reason},
    )
    return user


def reinstate_user(session: Session, actor: User, origin: trail.Origin, user_id: int, reason: str) -> User:
    user = managed_user(session, actor, user_id, national_may_act=True)
    if not user.suspended:
        raise conflict("not_suspended", "This account is not suspended.")
    user.suspended = False
    user.suspended_reason = ""
    trail.record(
        session,
        action="user_reinstated",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"user_id": user.id, "reason": reason},
    )
    return user
