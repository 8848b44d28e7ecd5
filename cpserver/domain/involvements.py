"""A practitioner records or ends their own involvement with a child; nobody edits another's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.domain.errors import (
    child_not_found,
    conflict,
    forbidden,
    invalid,
    not_found,
    role_not_permitted,
)
from cpserver.domain.retention import in_service
from cpserver.domain.service_types import BY_CODE as SERVICE_TYPES
from cpserver.store.models import Child, Involvement, User


def add_involvement(
    session: Session,
    user: User,
    origin: trail.Origin,
    cp_id: str,
    *,
    service_type: str,
    started_on: dt.date | None,
    lead_professional: bool,
    assessment_completed: bool,
    consent_recorded: bool,
    today: dt.date,
    age: int,
    consent_age: int,
) -> Involvement:
    """Record the user's own involvement; contact details come from their profile."""
    if user.role != "practitioner":
        raise role_not_permitted()
    child = session.scalar(select(Child).where(Child.cp_id == cp_id))
    if child is None or not in_service(child, today, age, consent_age):
        raise child_not_found()
    service = SERVICE_TYPES.get(service_type)
    if service is None:
        raise invalid("service_type_unknown", "Choose a service type from the list.", field="service_type")
    if service.sensitive and not consent_recorded:
        raise invalid(
            "consent_required",
            f"{service.label} can be recorded only with the young person's consent. "
            "Confirm that consent has been given.",
            field="consent_recorded",
        )
    start = started_on or today
    if start > today:
        raise invalid("invalid_request", "The start date cannot be in the future.", field="started_on")
    open_same = session.scalar(
        select(Involvement.id).where(
            Involvement.child_pk == child.id,
            Involvement.practitioner_user_id == user.id,
            Involvement.service_type == service.code,
            Involvement.ended_on.is_(None),
        )
    )
    if open_same is not None:
        raise conflict(
            "involvement_exists", "You already have an open involvement of this type with this child."
        )
    involvement = Involvement(
        child_pk=child.id,
        practitioner_user_id=user.id,
        practitioner_name=user.display_name,
        practitioner_role=user.job_title,
        organisation_name=user.organisation.name,
        telephone=user.telephone,
        email=user.email,
        service_type=service.code,
        sensitive=service.sensitive,
        consent_recorded=consent_recorded,
        started_on=start,
        lead_professional=lead_professional,
        assessment_completed=assessment_completed,
    )
    session.add(involvement)
    session.flush()
    trail.record(
        session,
        action="involvement_added",
        outcome="recorded",
        origin=origin,
        user=user,
        child_pk=child.id,
        shielded=child.shielded,
        detail={"involvement_id": involvement.id},
    )
    return involvement


def end_involvement(
    session: Session, user: User, origin: trail.Origin, involvement_id: int, *, today: dt.date
) -> Involvement:
    """End the user's own open involvement (it stays on the record with its end date)."""
    involvement = session.get(Involvement, involvement_id, with_for_update=True)
    if involvement is None:
        raise not_found("involvement_not_found", "There is no involvement with that number.")
    if involvement.practitioner_user_id != user.id:
        raise forbidden("not_your_involvement", "You can end only your own involvements.")
    if involvement.ended_on is not None:
        raise conflict("involvement_already_ended", "This involvement has already ended.")
    involvement.ended_on = max(today, involvement.started_on)
    trail.record(
        session,
        action="involvement_ended",
        outcome="recorded",
        origin=origin,
        user=user,
        child_pk=involvement.child_pk,
        detail={"involvement_id": involvement.id},
    )
    return involvement
