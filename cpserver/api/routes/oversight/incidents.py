"""`/incidents`: suspend, notify the manager, report nationally, investigate to an outcome (rule 7)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cpserver.api.deps import CurrentActor, MailerDep, SessionDep
from cpserver.api.oversight_schemas import IncidentCreate, IncidentPublic, IncidentUpdate, NoteCreate
from cpserver.api.params import Id
from cpserver.api.presenters.oversight import incident_public
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import incidents

router = APIRouter(tags=["incidents"], responses=ERROR_RESPONSES)


@router.get("/incidents")
def list_incidents(actor: CurrentActor, db: SessionDep) -> list[IncidentPublic]:
    """The authority's incidents; for the national team, the national incident register."""
    return [incident_public(file) for file in incidents.incidents_for(db, actor.user)]


@router.post("/incidents", status_code=status.HTTP_201_CREATED)
def open_incident(
    body: IncidentCreate, actor: CurrentActor, db: SessionDep, mailer: MailerDep
) -> IncidentPublic:
    """Suspend the user, notify their manager, report nationally, and start the investigation."""
    file = incidents.open_incident(
        db,
        actor.user,
        actor.origin,
        user_id=body.user_id,
        summary=body.summary,
        alert_id=body.alert_id,
        mailer=mailer,
        now=actor.now,
    )
    db.commit()
    return incident_public(file)


@router.patch("/incidents/{incident_id}")
def update_incident(
    incident_id: Id, body: IncidentUpdate, actor: CurrentActor, db: SessionDep
) -> IncidentPublic:
    file = incidents.update_incident(
        db, actor.user, actor.origin, incident_id, status=body.status, outcome=body.outcome, now=actor.now
    )
    db.commit()
    return incident_public(file)


@router.post("/incidents/{incident_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(incident_id: Id, body: NoteCreate, actor: CurrentActor, db: SessionDep) -> IncidentPublic:
    """A note about the investigation (never about a child)."""
    file = incidents.add_note(db, actor.user, actor.origin, incident_id, body.text)
    db.commit()
    return incident_public(file)
