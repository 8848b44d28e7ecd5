"""An involvement notice as sent: the other service as the record would show it, or the management team."""

from __future__ import annotations

from typing import Literal, cast

from cpserver.api.presenters.records import involvement_public, management_contact
from cpserver.api.schemas import FollowUp, NoticeChildPublic, NoticeFollowUpFigures, NoticePublic
from cpserver.domain.notices import FollowUpFigures, ShownNotice


def notice_public(shown: ShownNotice) -> NoticePublic:
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
        broker=None if details else management_contact(shown.sight.contact_authority),
        withheld=[] if details else shown.sight.withheld,
        follow_up=cast(FollowUp | None, notice.follow_up),
        follow_up_due=notice.follow_up_due_at,
        audit_id=shown.audit_id,
    )


def follow_up_figures(
    row: FollowUpFigures, *, window_working_days: int, period_days: int
) -> NoticeFollowUpFigures:
    return NoticeFollowUpFigures(
        local_authority=row.local_authority,
        notices=row.notices,
        followed_up_in_time=row.followed_up_in_time,
        contacted_in_time=row.contacted_in_time,
        followed_up_late=row.followed_up_late,
        not_followed_up=row.not_followed_up,
        window_open=row.window_open,
        window_working_days=window_working_days,
        period_days=period_days,
    )
