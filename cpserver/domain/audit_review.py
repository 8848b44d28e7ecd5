"""Reviewing the audit trail: a management team its authority's users and children, the national
team everything. Looking at the audit trail is itself audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.domain import household_shield
from cpserver.domain.errors import invalid
from cpserver.domain.oversight_scope import require_overseer
from cpserver.store.models import AuditEvent, Child, User

PAGE = 500
# The dates an audit query may name: the trail starts after the first and cannot reach the last.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)
# In place of a typed postcode that belongs to a shielded household the reviewer may not see.
POSTCODE_WITHHELD = "(withheld: a shielded household's postcode)"
# The audit row keeps the filter names the HTTP contract uses (`child_id` is the ContactPoint ID there).
AUDITED_AS = {"cp_id": "child_id"}


@dataclass(frozen=True)
class Filters:
    username: str | None = None
    cp_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reason: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    cp_id: str | None
    child_name: str | None
    # A search's criteria as the user typed them (a shielded household's postcode withheld).
    criteria: dict[str, object] | None = None


def criteria_shown(session: Session, actor: User, event: AuditEvent) -> dict[str, object] | None:
    """What a search row's user typed, for the reviewer to judge; None for other rows."""
    if event.action != "search":
        return None
    typed = (event.detail or {}).get("criteria")
    if not isinstance(typed, dict):
        return None
    shown = {str(key): value for key, value in typed.items()}
    postcode = shown.get("postcode")
    if isinstance(postcode, str) and household_shield.postcode_hidden_from(session, actor, postcode):
        shown["postcode"] = POSTCODE_WITHHELD
    return shown


def review(session: Session, actor: User, origin: trail.Origin, filters: Filters) -> tuple[list[Row], bool]:
    """Audit rows matching `filters` (newest first, at most 500) and whether there were more."""
    require_overseer(actor)
    for value, field in ((filters.date_from, "date_from"), (filters.date_to, "date_to")):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise invalid(
                "invalid_request", f"Enter a date between {EARLIEST.year} and {LATEST.year}.", field=field
            )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise invalid("invalid_request", "The start date must be before the end date.", field="date_from")
    query = select(AuditEvent, Child.cp_id, Child.given_name, Child.family_name).outerjoin(
        Child, Child.id == AuditEvent.child_pk
    )
    if actor.role == "cmt":
        # The authority's own users, and anything done to the authority's children.
        query = query.where(
            or_(
                AuditEvent.local_authority_id == actor.local_authority_id,
                Child.local_authority_id == actor.local_authority_id,
            )
        )
    if filters.username:
        query = query.where(AuditEvent.username == filters.username.strip().lower())
    if filters.cp_id:
        query = query.where(Child.cp_id == filters.cp_id.strip())
    if filters.date_from:
        start = dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=dt.UTC)
        query = query.where(AuditEvent.occurred_at >= start)
    if filters.date_to:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        query = query.where(AuditEvent.occurred_at < end)
    if filters.reason:
        query = query.where(AuditEvent.reason_code == filters.reason)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    found = session.execute(query.order_by(AuditEvent.seq.desc()).limit(PAGE + 1)).all()
    trail.record(
        session,
        action="audit_reviewed",
        outcome="shown",
        origin=origin,
        user=actor,
        detail={
            "filters": {AUDITED_AS.get(k, k): str(v) for k, v in filters.__dict__.items() if v is not None},
            "rows": len(found[:PAGE]),
        },
    )
    rows = [
        Row(
            event=event,
            cp_id=cp_id,
            child_name=f"{given} {family}" if cp_id else None,
            criteria=criteria_shown(session, actor, event),
        )
        for event, cp_id, given, family in found[:PAGE]
    ]
    return rows, len(found) > PAGE
