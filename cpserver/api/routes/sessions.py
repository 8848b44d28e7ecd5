"""`POST /sessions` (log in), `GET /sessions/current` (who am I) and `DELETE /sessions/current` (log out)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep, client_address
from cpserver.api.schemas import (
    ERROR_RESPONSES,
    ContactPublic,
    SessionCreate,
    SessionPublic,
    UserPublic,
)
from cpserver.audit import trail
from cpserver.domain.login import log_in
from cpserver.domain.sessions import end_session
from cpserver.store.models import User, utcnow

router = APIRouter(tags=["sessions"], responses=ERROR_RESPONSES)


def user_public(user: User) -> UserPublic:
    la = user.local_authority
    return UserPublic(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        job_title=user.job_title,
        organisation=user.organisation.name,
        local_authority=la.name if la else None,
        management_contact=ContactPublic(name=la.cmt_name, telephone=la.cmt_telephone, email=la.cmt_email)
        if la
        else None,
        may_override_shield=user.may_override_shield,
    )


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
)
def create_session(
    body: SessionCreate, request: Request, db: SessionDep, settings: SettingsDep
) -> SessionPublic:
    """Log in with password and one-time code from an enrolled workstation."""
    now = utcnow()
    origin = trail.Origin(workstation=body.workstation, client_address=client_address(request))
    new, user = log_in(
        db,
        username=body.username,
        password=body.password,
        otp=body.otp,
        origin=origin,
        settings=settings,
        now=now,
    )
    db.commit()
    return SessionPublic(
        token=new.token,
        expires_at=new.row.expires_at,
        idle_timeout_seconds=settings.session_idle_minutes * 60,
        user=user_public(user),
    )


@router.get("/sessions/current")
def get_session(actor: CurrentActor, db: SessionDep) -> UserPublic:
    """The signed-in user: the cheapest call that proves a session is still good (nothing audited)."""
    db.commit()  # keeps the idle clock (last seen) when it moved
    return user_public(actor.user)


@router.delete("/sessions/current", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(actor: CurrentActor, db: SessionDep) -> Response:
    """Log out: the token stops working at once."""
    end_session(actor.login, "logout", actor.now)
    trail.record(db, action="logout", outcome="success", origin=actor.origin, user=actor.user)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
