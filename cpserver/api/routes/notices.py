"""Involvement notices: the unread count, the inbox (each notice audited before it is sent), the
follow-up answer, and the user's delivery choice. (The follow-up figures are in `oversight.figures`.)"""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.params import Id
from cpserver.api.presenters.notices import notice_public
from cpserver.api.schemas import (
    ERROR_RESPONSES,
    FollowUpAnswer,
    FollowUpPublic,
    NoticeDelivery,
    NoticeInbox,
    NoticeSettingsPublic,
    NoticeSettingsUpdate,
    NoticeSummary,
)
from cpserver.domain import notices

router = APIRouter(tags=["notices"], responses=ERROR_RESPONSES)


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
