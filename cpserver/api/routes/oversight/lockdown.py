"""National lockdown (rule 8): stop access for everyone else; restoring it takes two people."""

from __future__ import annotations

from fastapi import APIRouter, status

from cpserver.api.deps import CurrentActor, SessionDep
from cpserver.api.oversight_schemas import LockdownPublic, ReasonBody
from cpserver.api.params import Id
from cpserver.api.presenters.oversight import lockdown_public
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import lockdown

router = APIRouter(tags=["lockdown"], responses=ERROR_RESPONSES)


@router.get("/lockdown")
def get_lockdown(actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    return lockdown_public(lockdown.state(db, actor.user))


@router.post("/lockdown", status_code=status.HTTP_201_CREATED)
def start_lockdown(body: ReasonBody, actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    """Stop access for every user but the national team; their sessions end at once."""
    lockdown.lock(db, actor.user, actor.origin, body.reason, actor.now)
    db.commit()
    return lockdown_public(lockdown.state(db, actor.user))


@router.post("/lockdown/restore-requests", status_code=status.HTTP_201_CREATED)
def request_restore(body: ReasonBody, actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    """The first of two national-team members asks to restore access."""
    lockdown.request_restore(db, actor.user, actor.origin, body.reason, actor.now)
    db.commit()
    return lockdown_public(lockdown.state(db, actor.user))


@router.post("/lockdown/restore-requests/{request_id}/confirmation")
def confirm_restore(request_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    """A second national-team member confirms: access is restored."""
    lockdown.confirm_restore(db, actor.user, actor.origin, request_id, body.reason, actor.now)
    db.commit()
    return lockdown_public(lockdown.state(db, actor.user))
