"""`NoticesClient`: involvement notices (who else is working with a child) as blocking, typed calls.

The unread count holds no personal data and is polled. Opening the inbox is a disclosure: the server
audits each notice before it sends it, so the inbox is fetched only when the person opens it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import TypeAdapter

from cpclient.api.client import ContactPointClient
from cpclient.api.models import Contact, Incoming, Involvement

Delivery = Literal["immediate", "daily_digest", "off"]
FollowUp = Literal["contacted", "not_needed", "not_yet"]

DELIVERY_LABELS: dict[str, str] = {
    "immediate": "At once",
    "daily_digest": "In a daily digest",
    "off": "Off",
}
FOLLOW_UP_LABELS: dict[str, str] = {
    "contacted": "Contacted",
    "not_needed": "Not needed",
    "not_yet": "Not yet",
}


class NoticeChild(Incoming):
    id: str
    given: str
    family: str
    date_of_birth: dt.date

    @property
    def name(self) -> str:
        """Given and family name."""
        return f"{self.given} {self.family}"


class Notice(Incoming):
    """Another service working with a child, as opening the record would show it to this user."""

    id: int
    event: Literal["added", "ended"]
    created_at: dt.datetime
    unread: bool
    lead: bool
    child: NoticeChild
    # None when the record withholds it (a shielded child): `broker` is then the management team.
    involvement: Involvement | None
    broker: Contact | None
    withheld: list[str]
    follow_up: FollowUp | None
    follow_up_due: dt.datetime
    audit_id: int

    @property
    def headline(self) -> str:
        """One line saying what happened, in words."""
        if self.involvement is None:
            verb = "began working with" if self.event == "added" else "stopped working with"
            return f"Another service {verb} {self.child.name}"
        service = self.involvement.service_label
        if self.event == "added":
            return f"{service} is working with {self.child.name}"
        return f"{service} has stopped working with {self.child.name}"


class NoticeInbox(Incoming):
    notices: list[Notice]


class NoticeSummary(Incoming):
    unread: int
    more: bool
    poll_seconds: int


class FollowUpAnswer(Incoming):
    id: int
    follow_up: FollowUp
    followed_up_at: dt.datetime


class NoticeSettings(Incoming):
    delivery: Delivery
    allowed: list[Delivery]
    lead_always_immediate: bool = True


_SUMMARY = TypeAdapter(NoticeSummary)
_INBOX = TypeAdapter(NoticeInbox)
_ANSWER = TypeAdapter(FollowUpAnswer)
_SETTINGS = TypeAdapter(NoticeSettings)


class NoticesClient:
    """The notice calls of the signed-in user (run them off the Qt thread).

    Args:
        api: the signed-in API client (its token and error handling are used for every call).
    """

    def __init__(self, api: ContactPointClient) -> None:
        self._api = api

    def summary(self) -> NoticeSummary:
        """How many notices wait unread (no personal data; safe to poll)."""
        return self._api.session_call("GET", "/notices/summary", _SUMMARY)

    def open_inbox(self) -> list[Notice]:
        """The notices, newest first; the server audits each before sending it and marks it read."""
        return self._api.session_call("POST", "/notices/views", _INBOX).notices

    def answer(self, notice_id: int, answer: FollowUp) -> FollowUpAnswer:
        """Contacted, not needed, or not yet."""
        return self._api.session_call(
            "PUT", f"/notices/{int(notice_id)}/follow-up", _ANSWER, json={"answer": answer}
        )

    def settings(self) -> NoticeSettings:
        """How notices reach this user, and the choices the policy allows."""
        return self._api.session_call("GET", "/notice-settings", _SETTINGS)

    def set_delivery(self, delivery: Delivery) -> NoticeSettings:
        """Choose how notices arrive (within the policy)."""
        return self._api.session_call("PUT", "/notice-settings", _SETTINGS, json={"delivery": delivery})
