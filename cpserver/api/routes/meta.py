"""`GET /meta`: the reasons, service types and policy values the client shows (one source)."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import SettingsDep
from cpserver.api.schemas import (
    ERROR_RESPONSES,
    MetaPublic,
    PolicyPublic,
    ReasonPublic,
    RecordProblemPublic,
    ServiceTypePublic,
)
from cpserver.domain.notices import allowed_deliveries
from cpserver.domain.reasons import ARCHIVE_REASON, MIN_OTHER_TEXT, REASONS
from cpserver.domain.record_reports import PROBLEMS
from cpserver.domain.service_types import GUIDANCE, SERVICE_TYPES

router = APIRouter(tags=["meta"], responses=ERROR_RESPONSES)


@router.get("/meta")
def get_meta(settings: SettingsDep) -> MetaPublic:
    """Public: holds no personal data; the login screen needs it to know a training server."""
    return MetaPublic(
        training=settings.training,
        service_name="ContactPoint (training)" if settings.training else "ContactPoint",
        reasons=[ReasonPublic(code=r.code, label=r.label, needs_text=r.needs_text) for r in REASONS],
        archive_reason=ReasonPublic(
            code=ARCHIVE_REASON.code, label=ARCHIVE_REASON.label, needs_text=ARCHIVE_REASON.needs_text
        ),
        service_types=[
            ServiceTypePublic(code=s.code, label=s.label, sensitive=s.sensitive) for s in SERVICE_TYPES
        ],
        involvement_guidance=GUIDANCE,
        record_problems=[RecordProblemPublic(code=code, label=label) for code, label in PROBLEMS.items()],
        policy=PolicyPublic(
            idle_timeout_seconds=settings.session_idle_minutes * 60,
            session_lifetime_seconds=settings.session_absolute_hours * 3600,
            search_max_results=settings.search_max_results,
            search_max_dob_range_days=settings.search_max_dob_range_days,
            reason_text_min_length=MIN_OTHER_TEXT,
            crb_valid_years=settings.crb_valid_years,
            notice_deliveries=allowed_deliveries(settings),
            notice_poll_seconds=settings.notice_poll_seconds,
            notice_follow_up_working_days=settings.notice_follow_up_working_days,
        ),
    )
