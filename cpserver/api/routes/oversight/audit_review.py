"""`/audit-queries`: reviewing the audit trail (filters in the body, never the URL); audited too."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep
from cpserver.api.oversight_schemas import AuditPage, AuditQuery
from cpserver.api.presenters.oversight import audit_page
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import audit_review

router = APIRouter(tags=["audit_review"], responses=ERROR_RESPONSES)


@router.post("/audit-queries")
def query_audit(body: AuditQuery, actor: CurrentActor, db: SessionDep) -> AuditPage:
    """Audit rows on screen (filters in the body, never the URL); the query is audited too."""
    rows, more = audit_review.review(db, actor.user, actor.origin, audit_review.Filters(**body.model_dump()))
    db.commit()
    return audit_page(rows, more)
