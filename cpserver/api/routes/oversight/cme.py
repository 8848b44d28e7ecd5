"""Children missing education (rule 11): the authority's list, on screen only."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.oversight_schemas import ChildList
from cpserver.api.presenters.oversight import child_list
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import reports

router = APIRouter(tags=["cme"], responses=ERROR_RESPONSES)


@router.get("/reports/children-missing-education")
def children_missing_education(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> ChildList:
    """Children with no education setting recorded (on screen only)."""
    children, total = reports.children_missing_education(
        db,
        actor.user,
        actor.origin,
        today=actor.today,
        age=settings.retention_age_years,
        consent_age=settings.retention_consent_age_years,
    )
    db.commit()
    return child_list(children, total)
