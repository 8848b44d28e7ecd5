"""Shielding (rule 5): shield and unshield a record, and the reviews falling due."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep
from cpserver.api.oversight_schemas import ChildList, ReasonBody, ShieldCreate, ShieldStatePublic
from cpserver.api.params import CpId
from cpserver.api.presenters.oversight import child_list, shield_state
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import shielding

router = APIRouter(tags=["shielding"], responses=ERROR_RESPONSES)


@router.post("/children/{cp_id}/shield")
def shield_child(cp_id: CpId, body: ShieldCreate, actor: CurrentActor, db: SessionDep) -> ShieldStatePublic:
    """Shield a record on a statutory ground, with a review date; effective for everyone at once."""
    child = shielding.shield(
        db,
        actor.user,
        actor.origin,
        cp_id,
        ground=body.ground,
        review_date=body.review_date,
        reason=body.reason,
        today=actor.today,
    )
    db.commit()
    return shield_state(child)


@router.post("/children/{cp_id}/unshield")
def unshield_child(cp_id: CpId, body: ReasonBody, actor: CurrentActor, db: SessionDep) -> ShieldStatePublic:
    child = shielding.unshield(db, actor.user, actor.origin, cp_id, reason=body.reason)
    db.commit()
    return shield_state(child)


@router.get("/shield-reviews")
def shield_reviews(actor: CurrentActor, db: SessionDep) -> ChildList:
    """Shielded records due for review within 30 days."""
    children = shielding.due_for_review(db, actor.user, actor.origin, actor.today)
    db.commit()
    return child_list(children, len(children))
