"""The typed models of the oversight calls (management team and national team): what they send and receive.

They follow `cpserver/api/oversight_schemas.py` and are parsed as strictly as the rest of the API client
(`cpclient.api.models`): incoming models are immutable, outgoing requests are dataclasses with `to_json()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from cpclient.api.models import Incoming

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
    cp_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reason: str = ""
    action: str = ""

    def to_json(self) -> dict[str, Any]:
        """The `AuditQuery` body (sent in the body, never in the URL)."""
        body: dict[str, Any] = {}
        # The contract calls the ContactPoint ID `child_id` in the audit query and its rows.
        for name, key in (
            ("username", "username"),
            ("cp_id", "child_id"),
            ("reason", "reason"),
            ("action", "action"),
        ):
            value = getattr(self, name).strip()
            if value:
                body[key] = value
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
    cp_id: Annotated[str | None, Field(validation_alias="child_id")]
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
    # Why the requester thinks access can be restored (absent from an older server).
    restore_request_reason: str | None = None
