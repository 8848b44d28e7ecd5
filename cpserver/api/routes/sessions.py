"""`POST /sessions` (log in), `GET /sessions/current` (who am I) and `DELETE /sessions/current` (log out)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep, client_address
from cpserver.api.presenters.sessions import session_public, user_public
from cpserver.api.schemas import ERROR_RESPONSES, SessionCreate, SessionPublic, UserPublic
from cpserver.audit import trail
from cpserver.domain.login import log_in, log_out
from cpserver.store.models import utcnow

router = APIRouter(tags=["sessions"], responses=ERROR_RESPONSES)


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
    return session_public(new, user, settings)


@router.get("/sessions/current")
def get_session(actor: CurrentActor, db: SessionDep) -> UserPublic:
    """The signed-in user: the cheapest call that proves a session is still good (nothing audited)."""
    db.commit()  # keeps the idle clock (last seen) when it moved
    return user_public(actor.user)


@router.delete("/sessions/current", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(actor: CurrentActor, db: SessionDep) -> Response:
    """Log out: the token stops working at once."""
    log_out(db, actor.login, actor.origin, actor.now)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
