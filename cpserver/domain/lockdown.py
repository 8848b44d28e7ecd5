"""Rule 8: the national team stops access for everyone else; restoring it takes two people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.domain.errors import conflict, forbidden, not_found
from cpserver.domain.oversight_scope import require_national
from cpserver.domain.sessions import end_open_sessions
from cpserver.store.models import LockdownAction, SystemSetting, User
from cpserver.store.models import Session as LoginSession
from cpserver.store.system import LOCKDOWN_KEY, is_locked_down


@dataclass(frozen=True)
class LockdownState:
    """Whether the service is locked down, since when and by whom, and any restore waiting."""

    locked: bool
    since: dt.datetime | None
    reason: str | None
    locked_by: str | None
    restore_request_id: int | None
    restore_requested_by: str | None
    restore_requested_by_username: str | None
    # Why the requester thinks access can be restored: the second person reads it before confirming.
    restore_request_reason: str | None


def state(session: Session, actor: User) -> LockdownState:
    """The lockdown as the national team sees it."""
    require_national(actor)
    lock = current_lock(session)
    request = pending_request(session)
    national = list(session.scalars(select(User).where(User.role == "national")))
    names = {u.id: u.display_name for u in national}
    usernames = {u.id: u.username for u in national}
    return LockdownState(
        locked=lock is not None,
        since=lock.at if lock else None,
        reason=lock.reason if lock else None,
        locked_by=names.get(lock.user_id) if lock else None,
        restore_request_id=request.id if request else None,
        restore_requested_by=names.get(request.user_id) if request else None,
        restore_requested_by_username=usernames.get(request.user_id) if request else None,
        restore_request_reason=request.reason if request else None,
    )


def current_lock(session: Session) -> LockdownAction | None:
    """The action that started the lockdown in force, if any."""
    if not is_locked_down(session):
        return None
    return session.scalar(
        select(LockdownAction)
        .where(LockdownAction.action == "locked")
        .order_by(LockdownAction.id.desc())
        .limit(1)
    )


def pending_request(session: Session) -> LockdownAction | None:
    lock = current_lock(session)
    if lock is None:
        return None
    return session.scalar(
        select(LockdownAction)
        .where(LockdownAction.action == "restore_requested", LockdownAction.id > lock.id)
        .order_by(LockdownAction.id.desc())
        .limit(1)
    )


def lock(
    session: Session, actor: User, origin: trail.Origin, reason: str, now: dt.datetime
) -> LockdownAction:
    """Stop access for every user but the national team; their sessions end at once."""
    require_national(actor)
    if is_locked_down(session):
        raise conflict("already_locked_down", "ContactPoint is already locked down.")
    setting = session.get(SystemSetting, LOCKDOWN_KEY, with_for_update=True)
    if setting is None:
        session.add(SystemSetting(key=LOCKDOWN_KEY, value="on"))
    else:
        setting.value = "on"
    end_open_sessions(
        session, LoginSession.user_id.not_in(select(User.id).where(User.role == "national")), "lockdown", now
    )
    action = LockdownAction(at=now, action="locked", user_id=actor.id, reason=reason)
    session.add(action)
    session.flush()
    trail.record(
        session, action="lockdown", outcome="locked", origin=origin, user=actor, detail={"reason": reason}
    )
    return action


def request_restore(
    session: Session, actor: User, origin: trail.Origin, reason: str, now: dt.datetime
) -> LockdownAction:
    require_national(actor)
    if not is_locked_down(session):
        raise conflict("not_locked_down", "ContactPoint is not locked down.")
    if pending_request(session) is not None:
        raise conflict("restore_already_requested", "A restore is already waiting for confirmation.")
    action = LockdownAction(at=now, action="restore_requested", user_id=actor.id, reason=reason)
    session.add(action)
    session.flush()
    trail.record(
        session,
        action="lockdown",
        outcome="restore_requested",
        origin=origin,
        user=actor,
        detail={"reason": reason},
    )
    return action


def confirm_restore(
    session: Session, actor: User, origin: trail.Origin, request_id: int, reason: str, now: dt.datetime
) -> LockdownAction:
    """A second national-team member restores access; both are recorded."""
    require_national(actor)
    request = pending_request(session)
    if request is None or request.id != request_id:
        raise not_found("restore_request_not_found", "There is no restore waiting with that number.")
    if request.user_id == actor.id:
        raise forbidden(
            "second_person_required", "Another member of the national team must confirm the restore."
        )
    setting = session.get(SystemSetting, LOCKDOWN_KEY, with_for_update=True)
    assert setting is not None
    setting.value = "off"
    action = LockdownAction(at=now, action="restored", user_id=actor.id, reason=reason, request_id=request.id)
    session.add(action)
    session.flush()
    trail.record(
        session,
        action="lockdown",
        outcome="restored",
        origin=origin,
        user=actor,
        detail={"reason": reason, "requested_by": request.user_id},
    )
    return action
