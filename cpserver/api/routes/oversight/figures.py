"""Yearly figures for the national team: incidents, outcomes, alerts raised and dismissed, notices;
and how involvement notices were followed up, per authority (management teams: their own)."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.oversight_schemas import YearFigures
from cpserver.api.presenters.notices import follow_up_figures
from cpserver.api.presenters.oversight import year_figures
from cpserver.api.schemas import ERROR_RESPONSES, NoticeFollowUpFigures
from cpserver.domain import notices, reports

router = APIRouter(tags=["figures"], responses=ERROR_RESPONSES)
NOTICE_REPORT_DAYS = 365


@router.get("/reports/yearly-figures")
def yearly_figures(actor: CurrentActor, db: SessionDep) -> list[YearFigures]:
    """Per year and authority: incidents, outcomes, alerts raised and dismissed."""
    return [year_figures(figures) for figures in reports.yearly_figures(db, actor.user)]


@router.get("/reports/notice-follow-up")
def notice_follow_up(
    actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> list[NoticeFollowUpFigures]:
    """Per authority, notices of the last year and how many were followed up within the window."""
    return [
        follow_up_figures(
            row, window_working_days=settings.notice_follow_up_working_days, period_days=NOTICE_REPORT_DAYS
        )
        for row in notices.follow_up_report(db, actor.user, actor.now, days=NOTICE_REPORT_DAYS)
    ]
