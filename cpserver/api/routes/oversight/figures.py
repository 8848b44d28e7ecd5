"""Yearly figures for the national team: incidents, outcomes, alerts raised and dismissed."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep
from cpserver.api.oversight_schemas import YearFigures
from cpserver.api.presenters.oversight import year_figures
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import reports

router = APIRouter(tags=["figures"], responses=ERROR_RESPONSES)


@router.get("/reports/yearly-figures")
def yearly_figures(actor: CurrentActor, db: SessionDep) -> list[YearFigures]:
    """Per year and authority: incidents, outcomes, alerts raised and dismissed."""
    return [year_figures(figures) for figures in reports.yearly_figures(db, actor.user)]
