"""`/alerts`: unusual activity to dismiss with a justification or turn into an incident (rule 7)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cpserver.api.deps import CurrentActor, MailerDep, SessionDep
from cpserver.api.oversight_schemas import AlertPublic, DismissAlert, IncidentFromAlert, IncidentPublic
from cpserver.api.params import Id
from cpserver.api.presenters.oversight import alert_public, incident_public
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import incidents

router = APIRouter(tags=["alerts"], responses=ERROR_RESPONSES)


@router.get("/alerts")
def list_alerts(actor: CurrentActor, db: SessionDep) -> list[AlertPublic]:
    """Open alerts, newest first, with their evidence."""
    return [alert_public(a) for a in incidents.alerts_for(db, actor.user)]


@router.post("/alerts/{alert_id}/dismissal")
def dismiss_alert(alert_id: Id, body: DismissAlert, actor: CurrentActor, db: SessionDep) -> AlertPublic:
    alert = incidents.dismiss_alert(db, actor.user, actor.origin, alert_id, body.justification, actor.now)
    db.commit()
    return alert_public(alert)


@router.post("/alerts/{alert_id}/incident", status_code=status.HTTP_201_CREATED)
def incident_from_alert(
    alert_id: Id, body: IncidentFromAlert, actor: CurrentActor, db: SessionDep, mailer: MailerDep
) -> IncidentPublic:
    file = incidents.open_incident_from_alert(
        db, actor.user, actor.origin, alert_id, summary=body.summary, mailer=mailer, now=actor.now
    )
    db.commit()
    return incident_public(file)
