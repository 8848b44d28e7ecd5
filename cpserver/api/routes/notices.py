"""Involvement notices: the unread count, the inbox (each notice audited before it is sent), the
follow-up answer, the user's delivery choice, and the management team's follow-up figures."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Path

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.schemas import (
    ERROR_RESPONSES,
    MAX_ID,
    FollowUp,
    FollowUpAnswer,
    FollowUpPublic,
    NoticeChildPublic,
    NoticeDelivery,
    NoticeFollowUpFigures,
    NoticeInbox,
    NoticePublic,
    NoticeSettingsPublic,
    NoticeSettingsUpdate,
    NoticeSummary,
)
from cpserver.domain import notices
from cpserver.domain.record_view import involvement_public, management_contact

router = APIRouter(tags=["notices"], responses=ERROR_RESPONSES)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
REPORT_DAYS = 365


def notice_public(shown: notices.ShownNotice) -> NoticePublic:
    """The notice as its recipient may see it: the same decision (`Sight`) as a record view."""
    notice, child = shown.notice, shown.sight.child
    details = shown.details
    return NoticePublic(
        id=notice.id,
        event=cast(Literal["added", "ended"], notice.event),
        created_at=notice.created_at,
        unread=shown.unread,
        lead=notice.lead,
        child=NoticeChildPublic(
            id=child.cp_id,
            given=child.given_name,
            family=child.family_name,
            date_of_birth=child.date_of_birth,
        ),
        involvement=involvement_public(shown.involvement, shown.sight.user) if details else None,
        broker=None if details else management_contact(child),
        withheld=[] if details else shown.sight.withheld,
        follow_up=cast(FollowUp | None, notice.follow_up),
        follow_up_due=notice.follow_up_due_at,
        audit_id=shown.audit_id,
    )


@router.get("/notices/summary")
def notice_summary(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> NoticeSummary:
    """How many notices are waiting unread (polled by the client; holds no personal data)."""
    unread = notices.unread_count(db, actor.user, settings, actor.now)
    return NoticeSummary(
        unread=min(unread, notices.INBOX_LIMIT),
        more=unread > notices.INBOX_LIMIT,
        poll_seconds=settings.notice_poll_seconds,
    )


@router.post("/notices/views")
def view_notices(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> NoticeInbox:
    """Open the inbox: every notice shown is audited (and committed) first, then marked read."""
    shown = notices.show_inbox(db, actor.user, actor.origin, settings, actor.now)
    return NoticeInbox(notices=[notice_public(item) for item in shown])


@router.put("/notices/{notice_id}/follow-up")
def follow_up(
    notice_id: Id, body: FollowUpAnswer, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> FollowUpPublic:
    """Contacted, not needed, or not yet: the answer is audited and counted in the figures."""
    notice = notices.answer_follow_up(
        db, actor.user, actor.origin, notice_id, body.answer, settings, actor.now
    )
    db.commit()
    assert notice.followed_up_at is not None
    return FollowUpPublic(id=notice.id, follow_up=body.answer, followed_up_at=notice.followed_up_at)


def settings_public(delivery: str, settings: SettingsDep) -> NoticeSettingsPublic:
    return NoticeSettingsPublic(
        delivery=cast(NoticeDelivery, delivery),
        allowed=[cast(NoticeDelivery, value) for value in notices.allowed_deliveries(settings)],
    )


@router.get("/notice-settings")
def get_notice_settings(actor: CurrentActor, settings: SettingsDep) -> NoticeSettingsPublic:
    """How notices reach the signed-in user, and the choices the policy allows."""
    return settings_public(notices.delivery_of(actor.user, settings), settings)


@router.put("/notice-settings")
def put_notice_settings(
    body: NoticeSettingsUpdate, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> NoticeSettingsPublic:
    """Choose at once or a daily digest (or off, where the policy allows it; never for a lead child)."""
    delivery = notices.set_delivery(db, actor.user, actor.origin, body.delivery, settings)
    db.commit()
    return settings_public(delivery, settings)


@router.get("/reports/notice-follow-up")
def notice_follow_up(
    actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> list[NoticeFollowUpFigures]:
    """Per authority, notices of the last year and how many were followed up within the window."""
    return [
        NoticeFollowUpFigures(
            local_authority=row.local_authority,
            notices=row.notices,
            followed_up_in_time=row.followed_up_in_time,
            contacted_in_time=row.contacted_in_time,
            followed_up_late=row.followed_up_late,
            not_followed_up=row.not_followed_up,
            window_open=row.window_open,
            window_working_days=settings.notice_follow_up_working_days,
            period_days=REPORT_DAYS,
        )
        for row in notices.follow_up_report(db, actor.user, actor.now, days=REPORT_DAYS)
    ]
