"""Who oversees whom: a management team its own authority, the national team every authority (read)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from cpserver.audit import trail
from cpserver.domain.errors import DomainError, conflict, forbidden, role_not_permitted
from cpserver.store.models import Child, User

OVERSEERS = ("cmt", "national")


def require_overseer(user: User) -> None:
    """Management teams and the national team only."""
    if user.role not in ("cmt", "national"):
        raise role_not_permitted()


def require_cmt(user: User) -> int:
    """A management team member; returns their authority's id."""
    if user.role != "cmt" or user.local_authority_id is None:
        raise role_not_permitted()
    return user.local_authority_id


def require_national(user: User) -> None:
    if user.role != "national":
        raise role_not_permitted()


def authority_filter(
    user: User, column: InstrumentedAttribute[int | None] | InstrumentedAttribute[int]
) -> ColumnElement[bool]:
    """SQL condition limiting rows to what `user` oversees (everything for the national team)."""
    require_overseer(user)
    if user.role == "national":
        return true()
    return column == user.local_authority_id


def require_own_authority(
    user: User, local_authority_id: int | None, what: str = "record", *, missing: DomainError | None = None
) -> None:
    """A management team acts only within its own authority; other roles do not act at all.

    With `missing` (the error for an id that does not exist), another authority's matter is
    answered exactly as a missing one: an alert, incident or account number in another authority
    is no business of this team, and a different answer would tell it which numbers exist there.
    """
    if user.role != "cmt":
        raise role_not_permitted()
    if local_authority_id != user.local_authority_id:
        if missing is not None:
            raise missing
        raise forbidden(
            "outside_your_authority",
            f"This {what} belongs to another local authority's management team.",
        )


def list_shown(
    session: Session, actor: User, origin: trail.Origin, report: str, children: list[Child]
) -> None:
    """A list naming children is about to be shown: audit it (which list, how many rows)."""
    trail.record(
        session,
        action="report_viewed",
        outcome="shown",
        origin=origin,
        user=actor,
        detail={"report": report, "rows": len(children)},
    )


def require_may_act_on(
    user: User,
    local_authority_id: int | None,
    what: str,
    *,
    missing: DomainError,
    subject_user_id: int | None = None,
) -> None:
    """Who may act on an alert, incident or account (rule 7).

    A management team acts within its own authority. The national team acts on its own members
    and national partners (accounts with no authority), so misuse by one of them is actionable by
    another; an authority's matters stay with that authority's team. Nobody acts on a matter
    about themselves.
    """
    if user.role == "national" and local_authority_id is None:
        pass
    elif user.role == "national":
        raise role_not_permitted()  # an authority's matters are its management team's
    else:
        require_own_authority(user, local_authority_id, what, missing=missing)
    if subject_user_id is not None and subject_user_id == user.id:
        raise forbidden(
            "about_yourself", f"You cannot act on an {what} about yourself: another member of your team must."
        )


def refuse_national_lockout(session: Session, organisation_id: int) -> None:
    """No single national-team member withdraws an organisation that national-team accounts work
    for: nobody would be left who could accredit it again (rule 8's deliberate restore)."""
    national = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.organisation_id == organisation_id, User.role == "national")
    )
    if national:
        raise conflict(
            "national_team_lockout",
            "Withdrawing this organisation would stop the national team working, and nobody could "
            "restore it. Suspend individual accounts instead.",
        )
