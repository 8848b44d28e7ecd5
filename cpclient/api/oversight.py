"""`OversightClient`: the management team's and national team's calls, with their typed models.

The models follow `cpserver/api/oversight_schemas.py` and are parsed as strictly as the rest of the
API client (`cpclient.api.models`). The calls go through the `ContactPointClient` the window already
holds, so they use its session token and its error handling; this module adds no state of its own.
Nothing here is cached: every list is fetched when a screen asks for it and lives only in that screen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter

from cpclient.api.client import ContactPointClient, path_segment
from cpclient.api.models import Incoming

T = TypeVar("T")

ShieldGround = Literal["significant_harm", "adoption_placement", "adult_at_risk", "serious_crime"]
Outcome = Literal["no_misuse", "procedures_not_followed", "training_required", "disciplined"]
Severity = Literal["low", "medium", "high"]
NewUserRole = Literal["practitioner", "cmt"]


# --- users ---------------------------------------------------------------------------------------


class UserAccount(Incoming):
    """A user as the management team sees them, with what stops them working today."""

    id: int
    username: str
    display_name: str
    role: str
    job_title: str
    organisation_id: int
    organisation: str
    organisation_accredited: bool
    local_authority: str | None
    telephone: str
    email: str
    manager_name: str
    manager_email: str
    crb_checked_on: dt.date | None
    crb_expires_on: dt.date | None
    training_completed: bool
    procedures_received: bool
    agreement_signed: bool
    suspended: bool
    suspended_reason: str
    problems: list[str]


class Enrolment(Incoming):
    """A new account and its first secrets: shown once, to be handed over in person, never kept."""

    user: UserAccount
    initial_password: str
    totp_secret: str
    totp_uri: str


@dataclass(frozen=True)
class NewUser:
    """The `UserCreate` body: an account to add in the management team's authority."""

    username: str
    given_name: str
    family_name: str
    role: NewUserRole
    job_title: str
    telephone: str
    email: str
    organisation_id: int
    manager_name: str
    manager_email: str
    home_postcode: str = ""

    def to_json(self) -> dict[str, Any]:
        """The request body."""
        body: dict[str, Any] = {
            "username": self.username.strip().lower(),
            "given_name": self.given_name.strip(),
            "family_name": self.family_name.strip(),
            "role": self.role,
            "job_title": self.job_title.strip(),
            "telephone": self.telephone.strip(),
            "email": self.email.strip(),
            "organisation_id": int(self.organisation_id),
            "manager_name": self.manager_name.strip(),
            "manager_email": self.manager_email.strip(),
        }
        if self.home_postcode.strip():
            body["home_postcode"] = self.home_postcode.strip()
        return body


@dataclass(frozen=True)
class Accreditation:
    """The `AccreditationUpdate` body: the checks recorded for one user."""

    crb_checked_on: dt.date | None
    training_completed: bool
    procedures_received: bool
    agreement_signed: bool

    def to_json(self) -> dict[str, Any]:
        """The request body."""
        return {
            "crb_checked_on": self.crb_checked_on.isoformat() if self.crb_checked_on else None,
            "training_completed": self.training_completed,
            "procedures_received": self.procedures_received,
            "agreement_signed": self.agreement_signed,
        }


# --- audit trail ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """What to look for in the audit trail; empty filters are left out."""

    username: str = ""
    child_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reason: str = ""
    action: str = ""

    def to_json(self) -> dict[str, Any]:
        """The `AuditQuery` body (sent in the body, never in the URL)."""
        body: dict[str, Any] = {}
        for name in ("username", "child_id", "reason", "action"):
            value = getattr(self, name).strip()
            if value:
                body[name] = value
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value.isoformat()
        return body


class AuditRow(Incoming):
    seq: int
    occurred_at: dt.datetime
    action: str
    outcome: str
    username: str
    role: str
    child_id: str | None
    child_name: str | None
    reason_code: str | None
    reason_text: str | None
    workstation: str
    shielded: bool
    shielded_access: bool


class AuditPage(Incoming):
    """At most 500 rows, newest first; `more` says the filters matched more."""

    rows: list[AuditRow]
    more: bool


# --- alerts and incidents ------------------------------------------------------------------------


class Alert(Incoming):
    id: int
    raised_at: dt.datetime
    rule: str
    severity: Severity
    username: str
    user_display_name: str
    local_authority: str | None
    summary: str
    evidence: dict[str, Any]
    status: str
    auto_suspended: bool
    justification: str | None
    incident_id: int | None


class IncidentNote(Incoming):
    written_at: dt.datetime
    author: str
    text: str


class Incident(Incoming):
    id: int
    opened_at: dt.datetime
    opened_by: str
    username: str
    user_display_name: str
    local_authority: str | None
    summary: str
    status: str
    outcome: str | None
    closed_at: dt.datetime | None
    manager_notified_at: dt.datetime | None
    manager_notification: str
    reported_nationally_at: dt.datetime | None
    notes: list[IncidentNote]


# --- shielding and reports -----------------------------------------------------------------------


@dataclass(frozen=True)
class ShieldRequest:
    """The `ShieldCreate` body."""

    ground: ShieldGround
    review_date: dt.date
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The request body."""
        return {"ground": self.ground, "review_date": self.review_date.isoformat(), "reason": self.reason}


class ShieldState(Incoming):
    id: str
    shielded: bool
    ground: str | None
    review_date: dt.date | None


class ChildListItem(Incoming):
    """A child in a management list (shield reviews, children missing education)."""

    id: str
    given: str
    family: str
    date_of_birth: dt.date
    gender: str
    local_authority: str
    shielded: bool
    shield_ground: str | None = None
    review_date: dt.date | None = None

    @property
    def name(self) -> str:
        """Given and family name."""
        return f"{self.given} {self.family}"


class ChildList(Incoming):
    children: list[ChildListItem]
    total: int


class YearFigures(Incoming):
    year: int
    local_authority: str
    incidents: int
    disciplined: int
    procedures_not_followed: int
    training_required: int
    no_misuse: int
    alerts_raised: int
    alerts_dismissed: int
    # Involvement notices made, and those followed up within their window (absent from older servers).
    notices_sent: int = 0
    notices_followed_up_in_time: int = 0


class NoticeFollowUp(Incoming):
    """One authority's involvement notices of the last year and how they were followed up."""

    local_authority: str
    notices: int
    followed_up_in_time: int
    contacted_in_time: int
    followed_up_late: int
    not_followed_up: int
    window_open: int
    window_working_days: int
    period_days: int

    @property
    def in_time_percent(self) -> str:
        """Followed up in time, of those whose window has closed or that were answered, in words."""
        decided = self.notices - self.window_open
        if decided <= 0:
            return "none due yet"
        return f"{round(100 * self.followed_up_in_time / decided)}%"


# --- national ------------------------------------------------------------------------------------


class Organisation(Incoming):
    id: int
    name: str
    local_authority: str | None
    accredited: bool
    accredited_on: dt.date | None
    users: int


class LockdownState(Incoming):
    locked: bool
    since: dt.datetime | None
    reason: str | None
    locked_by: str | None
    restore_request_id: int | None
    restore_requested_by: str | None
    # The requester's username: whether the waiting request is one's own is decided by this.
    restore_requested_by_username: str | None = None


_USERS = TypeAdapter(list[UserAccount])
_USER = TypeAdapter(UserAccount)
_ENROLMENT = TypeAdapter(Enrolment)
_AUDIT = TypeAdapter(AuditPage)
_ALERTS = TypeAdapter(list[Alert])
_ALERT = TypeAdapter(Alert)
_INCIDENTS = TypeAdapter(list[Incident])
_INCIDENT = TypeAdapter(Incident)
_SHIELD = TypeAdapter(ShieldState)
_CHILDREN = TypeAdapter(ChildList)
_FIGURES = TypeAdapter(list[YearFigures])
_NOTICE_FOLLOW_UP = TypeAdapter(list[NoticeFollowUp])
_ORGANISATIONS = TypeAdapter(list[Organisation])
_ORGANISATION = TypeAdapter(Organisation)
_LOCKDOWN = TypeAdapter(LockdownState)


def _reason(text: str) -> dict[str, str]:
    return {"reason": text}


class OversightClient:
    """The oversight calls, as blocking methods returning typed models (run them off the Qt thread).

    Args:
        api: the signed-in API client (its token and error handling are used for every call).
    """

    def __init__(self, api: ContactPointClient) -> None:
        self._api = api

    def _send(self, method: str, path: str, adapter: TypeAdapter[T], body: Any = None) -> T:
        # The one place this module talks to the server: through the API client's session call, so
        # the token never leaves it and a refusal becomes the same typed, user-worded `ApiError`.
        return self._api.session_call(method, path, adapter, json=body)

    # --- users -----------------------------------------------------------------------------------

    def users(self) -> list[UserAccount]:
        """The authority's users (every authority's for the national team)."""
        return self._send("GET", "/users", _USERS)

    def expiring_checks(self) -> list[UserAccount]:
        """Users whose criminal records check runs out within 60 days (or already has)."""
        return self._send("GET", "/users/expiring-checks", _USERS)

    def add_user(self, new: NewUser) -> Enrolment:
        """Add an account; the answer carries its one-time secrets (show once, never keep)."""
        return self._send("POST", "/users", _ENROLMENT, new.to_json())

    def record_accreditation(self, user_id: int, accreditation: Accreditation) -> UserAccount:
        """Record a user's checks."""
        return self._send("PUT", f"/users/{int(user_id)}/accreditation", _USER, accreditation.to_json())

    def suspend(self, user_id: int, reason: str) -> UserAccount:
        """Suspend a user (their sessions end at once)."""
        return self._send("POST", f"/users/{int(user_id)}/suspension", _USER, _reason(reason))

    def reinstate(self, user_id: int, reason: str) -> UserAccount:
        """Reinstate a suspended user."""
        return self._send("POST", f"/users/{int(user_id)}/reinstatement", _USER, _reason(reason))

    # --- audit trail -----------------------------------------------------------------------------

    def audit(self, filters: AuditFilters) -> AuditPage:
        """Audit rows matching `filters` (the query is itself audited)."""
        return self._send("POST", "/audit-queries", _AUDIT, filters.to_json())

    # --- alerts and incidents --------------------------------------------------------------------

    def alerts(self) -> list[Alert]:
        """Open alerts, newest first."""
        return self._send("GET", "/alerts", _ALERTS)

    def dismiss_alert(self, alert_id: int, justification: str) -> Alert:
        """Dismiss an alert with a justification."""
        path = f"/alerts/{int(alert_id)}/dismissal"
        return self._send("POST", path, _ALERT, {"justification": justification})

    def incident_from_alert(self, alert_id: int, summary: str) -> Incident:
        """Open an incident from an alert (suspends the user, notifies their manager, reports it)."""
        return self._send("POST", f"/alerts/{int(alert_id)}/incident", _INCIDENT, {"summary": summary})

    def incidents(self) -> list[Incident]:
        """The authority's incidents; for the national team, the national incident register."""
        return self._send("GET", "/incidents", _INCIDENTS)

    def open_incident(self, user_id: int, summary: str) -> Incident:
        """Open an incident about a user, without an alert."""
        return self._send("POST", "/incidents", _INCIDENT, {"user_id": int(user_id), "summary": summary})

    def update_incident(self, incident_id: int, status: str, outcome: Outcome | None = None) -> Incident:
        """Move an incident to investigating, or close it with an outcome."""
        body: dict[str, Any] = {"status": status}
        if outcome is not None:
            body["outcome"] = outcome
        return self._send("PATCH", f"/incidents/{int(incident_id)}", _INCIDENT, body)

    def add_note(self, incident_id: int, text: str) -> Incident:
        """A note about the investigation (never about a child)."""
        return self._send("POST", f"/incidents/{int(incident_id)}/notes", _INCIDENT, {"text": text})

    # --- shielding and reports -------------------------------------------------------------------

    def shield(self, child_id: str, request: ShieldRequest) -> ShieldState:
        """Shield a record (effective for everyone at once)."""
        path = f"/children/{path_segment(child_id.strip())}/shield"
        return self._send("POST", path, _SHIELD, request.to_json())

    def unshield(self, child_id: str, reason: str) -> ShieldState:
        """Remove a record's shielding."""
        path = f"/children/{path_segment(child_id.strip())}/unshield"
        return self._send("POST", path, _SHIELD, _reason(reason))

    def shield_reviews(self) -> ChildList:
        """Shielded records due for review within 30 days."""
        return self._send("GET", "/shield-reviews", _CHILDREN)

    def children_missing_education(self) -> ChildList:
        """Children with no education setting recorded."""
        return self._send("GET", "/reports/children-missing-education", _CHILDREN)

    def yearly_figures(self) -> list[YearFigures]:
        """Per year and authority: incidents, outcomes, alerts raised and dismissed."""
        return self._send("GET", "/reports/yearly-figures", _FIGURES)

    def notice_follow_up(self) -> list[NoticeFollowUp]:
        """Per authority: involvement notices of the last year and how many were followed up in time."""
        return self._send("GET", "/reports/notice-follow-up", _NOTICE_FOLLOW_UP)

    # --- national --------------------------------------------------------------------------------

    def organisations(self) -> list[Organisation]:
        """Every organisation (a management team's: its own authority's) and whether it is accredited."""
        return self._send("GET", "/organisations", _ORGANISATIONS)

    def accredit_organisation(self, organisation_id: int, reason: str) -> Organisation:
        """Accredit an organisation."""
        path = f"/organisations/{int(organisation_id)}/accreditation"
        return self._send("POST", path, _ORGANISATION, _reason(reason))

    def withdraw_organisation(self, organisation_id: int, reason: str) -> Organisation:
        """Withdraw an organisation's accreditation: its users are stopped at once."""
        path = f"/organisations/{int(organisation_id)}/withdrawal"
        return self._send("POST", path, _ORGANISATION, _reason(reason))

    def lockdown(self) -> LockdownState:
        """Whether access is stopped, and any restore waiting for a second person."""
        return self._send("GET", "/lockdown", _LOCKDOWN)

    def lock_down(self, reason: str) -> LockdownState:
        """Stop access for every user but the national team."""
        return self._send("POST", "/lockdown", _LOCKDOWN, _reason(reason))

    def request_restore(self, reason: str) -> LockdownState:
        """Ask to restore access (a second national-team member must confirm)."""
        return self._send("POST", "/lockdown/restore-requests", _LOCKDOWN, _reason(reason))

    def confirm_restore(self, request_id: int, reason: str) -> LockdownState:
        """Confirm another national-team member's restore request: access is restored."""
        path = f"/lockdown/restore-requests/{int(request_id)}/confirmation"
        return self._send("POST", path, _LOCKDOWN, _reason(reason))
