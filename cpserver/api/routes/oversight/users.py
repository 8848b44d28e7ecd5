"""`/users`: a management team's accounts: add, accredit, suspend, reinstate (rule 1)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.oversight_schemas import (
    AccreditationUpdate,
    OverseenUserPublic,
    ReasonBody,
    UserCreate,
    UserEnrolmentPublic,
)
from cpserver.api.params import Id
from cpserver.api.presenters.oversight import enrolment_public, user_public
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import users

router = APIRouter(tags=["users"], responses=ERROR_RESPONSES)


@router.get("/users")
def list_users(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> list[OverseenUserPublic]:
    """The authority's users (every authority's for the national team)."""
    found = users.overseen_users(db, actor.user)
    return [user_public(u, actor.today, settings.crb_valid_years) for u in found]


@router.get("/users/expiring-checks")
def expiring_checks(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> list[OverseenUserPublic]:
    """Users whose criminal records check runs out within 60 days (or already has)."""
    due = users.expiring_checks(users.overseen_users(db, actor.user), actor.today, settings.crb_valid_years)
    return [user_public(u, actor.today, settings.crb_valid_years) for u in due]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(
    body: UserCreate, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> UserEnrolmentPublic:
    """Add an account (not yet accredited); its first password and TOTP secret are shown once."""
    enrolment = users.add_user(db, actor.user, actor.origin, body.model_dump())
    db.commit()
    db.refresh(enrolment.user)
    return enrolment_public(enrolment, actor.today, settings.crb_valid_years)


@router.put("/users/{user_id}/accreditation")
def record_accreditation(
    user_id: Id, body: AccreditationUpdate, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> OverseenUserPublic:
    user = users.set_accreditation(
        db, actor.user, actor.origin, user_id, today=actor.today, **body.model_dump()
    )
    db.commit()
    return user_public(user, actor.today, settings.crb_valid_years)


@router.post("/users/{user_id}/suspension")
def suspend_user(
    user_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> OverseenUserPublic:
    """Suspend with a reason: every session of the user ends at once."""
    user = users.suspend_user(db, actor.user, actor.origin, user_id, body.reason, actor.now)
    db.commit()
    return user_public(user, actor.today, settings.crb_valid_years)


@router.post("/users/{user_id}/reinstatement")
def reinstate_user(
    user_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> OverseenUserPublic:
    user = users.reinstate_user(db, actor.user, actor.origin, user_id, body.reason)
    db.commit()
    return user_public(user, actor.today, settings.crb_valid_years)
