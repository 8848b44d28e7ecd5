"""`POST /children/{id}/views` (open a record, with a reason) and own involvements."""

from __future__ import annotations

from fastapi import APIRouter, status

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.params import CpId, Id
from cpserver.api.presenters.records import involvement_public, record_public
from cpserver.api.schemas import (
    ERROR_RESPONSES,
    InvolvementCreate,
    InvolvementPublic,
    RecordPublic,
    RecordResponse,
    ShieldedRecordPublic,
    ViewRequest,
)
from cpserver.domain.involvements import add_involvement, end_involvement
from cpserver.domain.record_access import Viewer, open_record

router = APIRouter(tags=["children"], responses=ERROR_RESPONSES)


@router.post("/children/{cp_id}/views", response_model=RecordResponse)
def view_record(
    cp_id: CpId, body: ViewRequest, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> RecordPublic | ShieldedRecordPublic:
    """Open a record. The audit row is committed before the record is sent; there is no GET."""
    access = open_record(
        db,
        Viewer(user=actor.user, origin=actor.origin),
        cp_id,
        body.reason,
        body.reason_text,
        settings=settings,
        now=actor.now,
        override_shield=body.override_shield,
    )
    return record_public(access, actor.user)


@router.post("/children/{cp_id}/involvements", status_code=status.HTTP_201_CREATED)
def create_involvement(
    cp_id: CpId, body: InvolvementCreate, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> InvolvementPublic:
    """A practitioner records their own involvement with the child."""
    involvement = add_involvement(
        db,
        actor.user,
        actor.origin,
        cp_id,
        service_type=body.service_type,
        started_on=body.started_on,
        lead_professional=body.lead_professional,
        assessment_completed=body.assessment_completed,
        consent_recorded=body.consent_recorded,
        today=actor.today,
        age=settings.retention_age_years,
        consent_age=settings.retention_consent_age_years,
    )
    db.commit()
    return involvement_public(involvement, actor.user)


@router.delete("/involvements/{involvement_id}")
def delete_involvement(involvement_id: Id, actor: CurrentActor, db: SessionDep) -> InvolvementPublic:
    """A practitioner ends their own involvement; it stays on the record with its end date."""
    involvement = end_involvement(db, actor.user, actor.origin, involvement_id, today=actor.today)
    db.commit()
    return involvement_public(involvement, actor.user)
