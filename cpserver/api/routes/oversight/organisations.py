"""Organisations and their accreditation (rule 1): the national team accredits and withdraws."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep
from cpserver.api.oversight_schemas import OrganisationPublic, ReasonBody
from cpserver.api.params import Id
from cpserver.api.presenters.oversight import organisation_public
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import organisations

router = APIRouter(tags=["organisations"], responses=ERROR_RESPONSES)


@router.get("/organisations")
def list_organisations(actor: CurrentActor, db: SessionDep) -> list[OrganisationPublic]:
    """All organisations for the national team; a management team's own (to add users to)."""
    return [organisation_public(summary) for summary in organisations.organisations(db, actor.user)]


@router.post("/organisations/{organisation_id}/accreditation")
def accredit(
    organisation_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep
) -> OrganisationPublic:
    return _set_accreditation(organisation_id, True, body, actor, db)


@router.post("/organisations/{organisation_id}/withdrawal")
def withdraw(
    organisation_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep
) -> OrganisationPublic:
    """Withdraw accreditation: the organisation's users are stopped at their next request."""
    return _set_accreditation(organisation_id, False, body, actor, db)


def _set_accreditation(
    organisation_id: int, accredited: bool, body: ReasonBody, actor: CurrentActor, db: SessionDep
) -> OrganisationPublic:
    summary = organisations.set_accreditation(
        db,
        actor.user,
        actor.origin,
        organisation_id,
        accredited=accredited,
        reason=body.reason,
        today=actor.today,
    )
    db.commit()
    return organisation_public(summary)
