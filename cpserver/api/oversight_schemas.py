"""Schemas of the management team's and national team's calls (users, audit, alerts, incidents,
shielding, reports, organisations, lockdown)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cpserver.api.schemas import DbId, Incoming

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=1000)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShieldGround = Literal["significant_harm", "adoption_placement", "adult_at_risk", "serious_crime"]
Outcome = Literal["no_misuse", "procedures_not_followed", "training_required", "disciplined"]


# --- users ---------------------------------------------------------------------------------------


class OverseenUserPublic(BaseModel):
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
    # Codes of everything that stops this user working today (empty: authorised).
    problems: list[str]


class UserCreate(Incoming):
    username: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9._-]{3,60}$")]
    given_name: Line
    family_name: Line
    role: Literal["practitioner", "cmt"]
    job_title: Line
    telephone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    organisation_id: DbId
    manager_name: Line
    manager_email: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    home_postcode: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] = ""


class UserEnrolmentPublic(BaseModel):
    """Shown once to the management team, to hand to the new user in person."""

    user: OverseenUserPublic
    initial_password: str
    totp_secret: str
    totp_uri: str


class AccreditationUpdate(Incoming):
    crb_checked_on: dt.date | None
    training_completed: bool
    procedures_received: bool
    agreement_signed: bool


class ReasonBody(Incoming):
    reason: Text


# --- audit trail ---------------------------------------------------------------------------------


class AuditQuery(Incoming):
    username: Annotated[str, StringConstraints(max_length=100)] | None = None
    # `child_id` in JSON (the contract): the ContactPoint ID.
    cp_id: Annotated[str, StringConstraints(max_length=20)] | None = Field(default=None, alias="child_id")
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reason: Annotated[str, StringConstraints(max_length=40)] | None = None
    action: Annotated[str, StringConstraints(max_length=40)] | None = None


class AuditRowPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    seq: int
    occurred_at: dt.datetime
    action: str
    outcome: str
    username: str
    role: str
    # `child_id` in JSON (the contract): the ContactPoint ID.
    cp_id: str | None = Field(alias="child_id")
    child_name: str | None
    reason_code: str | None
    reason_text: str | None
    workstation: str
    shielded: bool
    shielded_access: bool
    # For a search: the criteria as typed (a shielded household's postcode withheld from
    # reviewers who may not see it), so the management team can judge what was looked for.
    search_criteria: dict[str, object] | None = None


class AuditPage(BaseModel):
    rows: list[AuditRowPublic]
    more: bool


# --- alerts and incidents ------------------------------------------------------------------------


class AlertPublic(BaseModel):
    id: int
    raised_at: dt.datetime
    rule: str
    severity: Literal["low", "medium", "high"]
    username: str
    user_display_name: str
    local_authority: str | None
    summary: str
    evidence: dict[str, object]
    status: str
    auto_suspended: bool
    justification: str | None
    incident_id: int | None


class DismissAlert(Incoming):
    justification: Text


class IncidentCreate(Incoming):
    user_id: DbId
    summary: Text
    alert_id: DbId | None = None


class IncidentFromAlert(Incoming):
    summary: Text


class IncidentUpdate(Incoming):
    status: Literal["investigating", "closed"]
    outcome: Outcome | None = None


class NoteCreate(Incoming):
    text: Text


class NotePublic(BaseModel):
    written_at: dt.datetime
    author: str
    text: str


class IncidentPublic(BaseModel):
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
    notes: list[NotePublic]


# --- shielding and reports -----------------------------------------------------------------------


class ShieldCreate(Incoming):
    ground: ShieldGround
    review_date: dt.date
    reason: Text


class ShieldStatePublic(BaseModel):
    id: str
    shielded: bool
    ground: str | None
    review_date: dt.date | None


class ChildListItem(BaseModel):
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


class ChildList(BaseModel):
    children: list[ChildListItem]
    total: int


class YearFigures(BaseModel):
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


class OrganisationPublic(BaseModel):
    id: int
    name: str
    local_authority: str | None
    accredited: bool
    accredited_on: dt.date | None
    users: int


class LockdownPublic(BaseModel):
    locked: bool
    since: dt.datetime | None
    reason: str | None
    locked_by: str | None
    restore_request_id: int | None
    restore_requested_by: str | None
    # The requester's username: the client disables "confirm" on one's own request.
    restore_requested_by_username: str | None = None
    # Why the requester thinks access can be restored: the second person reads it before confirming.
    restore_request_reason: str | None = None
