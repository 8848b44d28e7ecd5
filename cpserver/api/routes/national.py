"""The national team's calls: organisation accreditation, lockdown and its two-person restore,
and the yearly figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from cpserver.api.deps import CurrentActor, SessionDep
from cpserver.api.oversight_schemas import LockdownPublic, OrganisationPublic, ReasonBody, YearFigures
from cpserver.api.schemas import ERROR_RESPONSES, MAX_ID
from cpserver.audit import trail
from cpserver.domain import lockdown, reports
from cpserver.domain.errors import DomainError
from cpserver.domain.oversight_scope import authority_filter, refuse_national_lockout, require_national
from cpserver.store.models import Organisation, User

router = APIRouter(tags=["national"], responses=ERROR_RESPONSES)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def organisations(db: SessionDep, actor: User | None = None) -> list[OrganisationPublic]:
    """Every organisation, or (for a management team) those of its own authority."""
    counts = dict(
        db.execute(select(User.organisation_id, func.count()).group_by(User.organisation_id)).tuples().all()
    )
    query = select(Organisation).options(joinedload(Organisation.local_authority)).order_by(Organisation.name)
    if actor is not None:
        query = query.where(authority_filter(actor, Organisation.local_authority_id))
    rows = db.scalars(query)
    return [
        OrganisationPublic(
            id=o.id,
            name=o.name,
            local_authority=o.local_authority.name if o.local_authority else None,
            accredited=o.accredited,
            accredited_on=o.accredited_on,
            users=counts.get(o.id, 0),
        )
        for o in rows
    ]


@router.get("/organisations")
def list_organisations(actor: CurrentActor, db: SessionDep) -> list[OrganisationPublic]:
    """All organisations for the national team; a management team's own (to add users to)."""
    return organisations(db, actor.user)


def _set_accreditation(
    actor: CurrentActor, db: SessionDep, organisation_id: int, accredited: bool, reason: str
) -> OrganisationPublic:
    require_national(actor.user)
    organisation = db.get(Organisation, organisation_id, with_for_update=True)
    if organisation is None:
        raise DomainError(404, "organisation_not_found", "There is no organisation with that number.")
    if not accredited:
        refuse_national_lockout(db, organisation.id)
    organisation.accredited = accredited
    organisation.accredited_on = actor.today if accredited else None
    trail.record(
        db,
        action="organisation_accredited" if accredited else "organisation_withdrawn",
        outcome="recorded",
        origin=actor.origin,
        user=actor.user,
        detail={"organisation_id": organisation.id, "reason": reason},
    )
    db.commit()
    return next(o for o in organisations(db) if o.id == organisation_id)


@router.post("/organisations/{organisation_id}/accreditation")
def accredit(
    organisation_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep
) -> OrganisationPublic:
    return _set_accreditation(actor, db, organisation_id, True, body.reason)


@router.post("/organisations/{organisation_id}/withdrawal")
def withdraw(
    organisation_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep
) -> OrganisationPublic:
    """Withdraw accreditation: the organisation's users are stopped at their next request."""
    return _set_accreditation(actor, db, organisation_id, False, body.reason)


def lockdown_state(db: SessionDep) -> LockdownPublic:
    lock = lockdown.current_lock(db)
    request = lockdown.pending_request(db)
    national = list(db.scalars(select(User).where(User.role == "national")))
    names = {u.id: u.display_name for u in national}
    usernames = {u.id: u.username for u in national}
    return LockdownPublic(
        locked=lock is not None,
        since=lock.at if lock else None,
        reason=lock.reason if lock else None,
        locked_by=names.get(lock.user_id) if lock else None,
        restore_request_id=request.id if request else None,
        restore_requested_by=names.get(request.user_id) if request else None,
        restore_requested_by_username=usernames.get(request.user_id) if request else None,
    )


@router.get("/lockdown")
def get_lockdown(actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    require_national(actor.user)
    return lockdown_state(db)


@router.post("/lockdown", status_code=status.HTTP_201_CREATED)
def start_lockdown(body: ReasonBody, actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    """Stop access for every user but the national team; their sessions end at once."""
    lockdown.lock(db, actor.user, actor.origin, body.reason, actor.now)
    db.commit()
    return lockdown_state(db)


@router.post("/lockdown/restore-requests", status_code=status.HTTP_201_CREATED)
def request_restore(body: ReasonBody, actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    """The first of two national-team members asks to restore access."""
    lockdown.request_restore(db, actor.user, actor.origin, body.reason, actor.now)
    db.commit()
    return lockdown_state(db)


@router.post("/lockdown/restore-requests/{request_id}/confirmation")
def confirm_restore(request_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep) -> LockdownPublic:
    """A second national-team member confirms: access is restored."""
    lockdown.confirm_restore(db, actor.user, actor.origin, request_id, body.reason, actor.now)
    db.commit()
    return lockdown_state(db)


@router.get("/reports/yearly-figures")
def yearly_figures(actor: CurrentActor, db: SessionDep) -> list[YearFigures]:
    """Per year and authority: incidents, outcomes, alerts raised and dismissed."""
    require_national(actor.user)
    return [YearFigures(**figures.__dict__) for figures in reports.yearly_figures(db)]
