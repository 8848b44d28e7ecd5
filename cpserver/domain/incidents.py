"""Rule 7: alerts are dismissed with a justification or become incidents; an incident suspends the
user, tells their manager, is reported nationally, and is investigated to an outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from cpserver.audit import trail
from cpserver.domain.errors import DomainError, conflict, invalid, not_found
from cpserver.domain.notify import Mailer, notify_manager
from cpserver.domain.oversight_scope import authority_filter, require_may_act_on, require_overseer
from cpserver.domain.users import managed_user, suspend
from cpserver.store.models import Alert, Incident, IncidentNote, User

OUTCOMES = ("no_misuse", "procedures_not_followed", "training_required", "disciplined")


@dataclass(frozen=True)
class IncidentFile:
    """An incident with the names of the people who opened it and wrote its notes."""

    incident: Incident
    names: dict[int, str]

    def name_of(self, user_id: int) -> str:
        return self.names.get(user_id, "")


def file_of(session: Session, incident: Incident) -> IncidentFile:
    ids = [incident.opened_by_id, *[note.author_id for note in incident.notes]]
    people = session.scalars(select(User).where(User.id.in_(ids)))
    return IncidentFile(incident=incident, names={user.id: user.display_name for user in people})


def alerts_for(session: Session, actor: User, *, open_only: bool = True) -> list[Alert]:
    query = (
        select(Alert)
        .where(authority_filter(actor, Alert.local_authority_id))
        .options(joinedload(Alert.user).joinedload(User.local_authority))
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
        .limit(1000)
    )
    if open_only:
        query = query.where(Alert.status == "open")
    return list(session.scalars(query))


def _open_alert(session: Session, actor: User, alert_id: int) -> Alert:
    require_overseer(actor)  # before the lookup: no answer tells a practitioner which ids exist
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise _alert_not_found()
    require_may_act_on(
        actor, alert.local_authority_id, "alert", missing=_alert_not_found(), subject_user_id=alert.user_id
    )
    if alert.status != "open":
        raise conflict("alert_closed", "This alert has already been dealt with.")
    return alert


def dismiss_alert(
    session: Session, actor: User, origin: trail.Origin, alert_id: int, justification: str, now: dt.datetime
) -> Alert:
    alert = _open_alert(session, actor, alert_id)
    alert.status = "dismissed"
    alert.handled_by_id = actor.id
    alert.handled_at = now
    alert.justification = justification
    trail.record(
        session,
        action="alert_dismissed",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"alert_id": alert.id},
    )
    return alert


def open_incident(
    session: Session,
    actor: User,
    origin: trail.Origin,
    *,
    user_id: int,
    summary: str,
    alert_id: int | None,
    mailer: Mailer,
    now: dt.datetime,
) -> IncidentFile:
    """Suspend the user, record the incident, report it nationally, and notify the user's manager."""
    subject = managed_user(session, actor, user_id, national_may_act=True)
    require_may_act_on(
        actor,
        subject.local_authority_id,
        "incident",
        missing=not_found("user_not_found", "There is no user with that number."),
        subject_user_id=subject.id,
    )
    alert = _open_alert(session, actor, alert_id) if alert_id is not None else None
    if alert is not None and alert.user_id != subject.id:
        raise invalid("invalid_request", "That alert is about another user.", field="alert_id")
    suspend(session, subject, f"Suspended pending investigation: {summary[:200]}", now)
    incident = Incident(
        opened_at=now,
        opened_by_id=actor.id,
        user_id=subject.id,
        local_authority_id=subject.local_authority_id,
        summary=summary,
        status="open",
        reported_nationally_at=now,
    )
    session.add(incident)
    session.flush()
    if alert is not None:
        alert.status = "incident"
        alert.incident_id = incident.id
        alert.handled_by_id = actor.id
        alert.handled_at = now
    trail.record(
        session,
        action="incident_opened",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"incident_id": incident.id, "user_id": subject.id},
    )
    # Committed first: a mail server that is down must not lose the incident or the suspension.
    session.commit()
    authority = subject.local_authority.name if subject.local_authority else "national"
    incident.manager_notification = notify_manager(
        mailer,
        to=subject.manager_email,
        manager_name=subject.manager_name,
        user_display_name=subject.display_name,
        incident_id=incident.id,
        authority=authority,
    )
    if incident.manager_notification == "sent":
        incident.manager_notified_at = now
    return file_of(session, incident)


def open_incident_from_alert(
    session: Session,
    actor: User,
    origin: trail.Origin,
    alert_id: int,
    *,
    summary: str,
    mailer: Mailer,
    now: dt.datetime,
) -> IncidentFile:
    """An incident about the user an open alert is about, closing the alert."""
    alert = _open_alert(session, actor, alert_id)
    return open_incident(
        session,
        actor,
        origin,
        user_id=alert.user_id,
        summary=summary,
        alert_id=alert_id,
        mailer=mailer,
        now=now,
    )


def incidents_for(session: Session, actor: User) -> list[IncidentFile]:
    found = list(
        session.scalars(
            select(Incident)
            .where(authority_filter(actor, Incident.local_authority_id))
            .options(joinedload(Incident.user).joinedload(User.local_authority), selectinload(Incident.notes))
            .order_by(Incident.opened_at.desc(), Incident.id.desc())
            .limit(1000)
        )
    )
    return [file_of(session, incident) for incident in found]


def managed_incident(session: Session, actor: User, incident_id: int) -> Incident:
    require_overseer(actor)  # before the lookup
    missing = not_found("incident_not_found", "There is no incident with that number.")
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise missing
    require_may_act_on(
        actor, incident.local_authority_id, "incident", missing=missing, subject_user_id=incident.user_id
    )
    return incident


def update_incident(
    session: Session,
    actor: User,
    origin: trail.Origin,
    incident_id: int,
    *,
    status: str,
    outcome: str | None,
    now: dt.datetime,
) -> IncidentFile:
    """open → investigating → closed (with an outcome)."""
    incident = managed_incident(session, actor, incident_id)
    if incident.status == "closed":
        raise conflict("incident_closed", "This incident is closed.")
    if status == "closed":
        if outcome not in OUTCOMES:
            raise invalid("outcome_required", "Choose the outcome of the investigation.", field="outcome")
        incident.outcome = outcome
        incident.closed_at = now
    elif outcome is not None:
        raise invalid("invalid_request", "An outcome is recorded only when closing.", field="outcome")
    incident.status = status
    trail.record(
        session,
        action="incident_updated",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"incident_id": incident.id, "status": status, "outcome": outcome},
    )
    return file_of(session, incident)


def add_note(
    session: Session, actor: User, origin: trail.Origin, incident_id: int, text: str
) -> IncidentFile:
    incident = managed_incident(session, actor, incident_id)
    session.add(IncidentNote(incident_id=incident.id, author_id=actor.id, text=text))
    trail.record(
        session,
        action="incident_note",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"incident_id": incident.id},
    )
    session.flush()
    session.refresh(incident)
    return file_of(session, incident)


def _alert_not_found() -> DomainError:
    return not_found("alert_not_found", "There is no alert with that number.")
