"""Rule 5: a management team shields and unshields its authority's records; reviews fall due."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from cpserver.audit import trail
from cpserver.domain.errors import child_not_found, conflict, invalid
from cpserver.domain.oversight_scope import authority_filter, list_shown, require_own_authority
from cpserver.store.models import Child, User

GROUNDS = {
    "significant_harm": "Risk of significant harm to the child",
    "adoption_placement": "An adoption placement at risk",
    "adult_at_risk": "An adult at increased risk of significant harm",
    "serious_crime": "Prejudice to preventing or detecting serious crime",
}
REVIEW_WINDOW_DAYS = 30


def _child(session: Session, cp_id: str) -> Child:
    child = session.scalar(select(Child).where(Child.cp_id == cp_id).with_for_update())
    if child is None:
        raise child_not_found()
    return child


def shield(
    session: Session,
    actor: User,
    origin: trail.Origin,
    cp_id: str,
    *,
    ground: str,
    review_date: dt.date,
    reason: str,
    today: dt.date,
) -> Child:
    """Shield a record; it takes effect for every user with their next request."""
    child = _child(session, cp_id)
    require_own_authority(actor, child.local_authority_id)
    if ground not in GROUNDS:
        raise invalid("shield_ground_unknown", "Choose one of the statutory grounds.", field="ground")
    if review_date <= today:
        raise invalid("invalid_request", "The review date must be in the future.", field="review_date")
    child.shielded = True
    child.shield_ground = ground
    child.shield_review_date = review_date
    trail.record(
        session,
        action="shield",
        outcome="recorded",
        origin=origin,
        user=actor,
        child_pk=child.id,
        reason_text=reason,
        shielded=True,
        detail={"ground": ground, "review_date": review_date.isoformat()},
    )
    return child


def unshield(session: Session, actor: User, origin: trail.Origin, cp_id: str, *, reason: str) -> Child:
    child = _child(session, cp_id)
    require_own_authority(actor, child.local_authority_id)
    if not child.shielded:
        raise conflict("not_shielded", "This record is not shielded.")
    child.shielded = False
    child.shield_ground = None
    child.shield_review_date = None
    trail.record(
        session,
        action="unshield",
        outcome="recorded",
        origin=origin,
        user=actor,
        child_pk=child.id,
        reason_text=reason,
    )
    return child


def due_for_review(session: Session, actor: User, origin: trail.Origin, today: dt.date) -> list[Child]:
    """Shielded records whose review date falls within 30 days (or has passed); the list is audited."""
    children = list(
        session.scalars(
            select(Child)
            .where(
                Child.shielded.is_(True),
                Child.shield_review_date <= today + dt.timedelta(days=REVIEW_WINDOW_DAYS),
                authority_filter(actor, Child.local_authority_id),
            )
            .options(joinedload(Child.local_authority))
            .order_by(Child.shield_review_date, Child.id)
            .limit(1000)
        )
    )
    list_shown(session, actor, origin, "shield_reviews", children)
    return children
