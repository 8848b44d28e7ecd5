"""Typed, immutable models of what the server sends and accepts (the contract in cpserver/api/schemas.py).

Incoming models are parsed strictly (a string is not a boolean, a number is not a string) and ignore
fields they do not know, so a newer server can add fields without breaking an older client.
Outgoing requests are plain dataclasses turned into JSON by `to_json()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Gender = Literal["female", "male", "not_specified"]
Role = Literal["practitioner", "cmt", "national"]

GENDER_LABELS: dict[str, str] = {"female": "Female", "male": "Male", "not_specified": "Not specified"}
ROLE_LABELS: dict[str, str] = {
    "practitioner": "Practitioner",
    "cmt": "Management team",
    "national": "National team",
}


class Incoming(BaseModel):
    """Base of every model parsed from a server response."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


# --- errors --------------------------------------------------------------------------------------


class ErrorDetail(Incoming):
    code: str
    message: str
    field: str | None = None


class ErrorBody(Incoming):
    error: ErrorDetail


# --- sessions ------------------------------------------------------------------------------------


class Contact(Incoming):
    """How to reach a management team."""

    name: str
    telephone: str
    email: str


class User(Incoming):
    username: str
    display_name: str
    role: Role
    job_title: str
    organisation: str
    local_authority: str | None
    management_contact: Contact | None
    # May override a record's shielding (after a warning; the server raises an alert at once).
    # Absent from an older server's answer: then no override is offered.
    may_override_shield: bool = False

    @property
    def role_label(self) -> str:
        """The role in words."""
        return ROLE_LABELS[self.role]


class SessionBody(Incoming):
    """The body of `POST /sessions`; the token stays inside the API client."""

    token: Annotated[str, Field(min_length=1, max_length=1000)]
    expires_at: dt.datetime
    idle_timeout_seconds: int
    user: User


class SignedIn(Incoming):
    """A session as the rest of the program sees it: everything except the token."""

    expires_at: dt.datetime
    idle_timeout_seconds: int
    user: User


# --- meta ----------------------------------------------------------------------------------------


class Reason(Incoming):
    code: str
    label: str
    needs_text: bool


class RecordProblem(Incoming):
    """A problem a user may report with a record (“this is not right”)."""

    code: str
    label: str


class ServiceType(Incoming):
    code: str
    label: str
    sensitive: bool


class Policy(Incoming):
    idle_timeout_seconds: int
    session_lifetime_seconds: int
    search_max_results: int
    search_max_dob_range_days: int
    reason_text_min_length: int
    crb_valid_years: int
    # Involvement notices (absent from an older server: notices at once, polled every minute).
    notice_deliveries: list[str] = ["immediate"]
    notice_poll_seconds: int = 60
    notice_follow_up_working_days: int = 10


class Meta(Incoming):
    training: bool
    service_name: str
    reasons: list[Reason]
    service_types: list[ServiceType]
    involvement_guidance: str
    policy: Policy
    # Older servers do not send it: then the record view offers no report.
    record_problems: list[RecordProblem] = []
    # The reason for opening an archived record (rule 9; the national team's only). None from an
    # older server, which has no archive.
    archive_reason: Reason | None = None


# --- search --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchCriteria:
    """What the user typed into the search form; empty fields are left out of the request."""

    family: str = ""
    given: str = ""
    date_of_birth: dt.date | None = None
    date_of_birth_from: dt.date | None = None
    date_of_birth_to: dt.date | None = None
    gender: Gender | None = None
    postcode: str = ""
    exact: bool = False

    def to_json(self) -> dict[str, Any]:
        """The `SearchRequest` body."""
        body: dict[str, Any] = {"exact": self.exact}
        for name in ("family", "given", "postcode"):
            value = getattr(self, name).strip()
            if value:
                body[name] = value
        for name in ("date_of_birth", "date_of_birth_from", "date_of_birth_to"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value.isoformat()
        if self.gender is not None:
            body["gender"] = self.gender
        return body


class SearchResult(Incoming):
    id: str
    given: str
    family: str
    date_of_birth: dt.date
    gender: Gender
    locality: str | None
    shielded: bool
    exact_match: bool

    @property
    def name(self) -> str:
        """Given and family name."""
        return f"{self.given} {self.family}"


class SearchResults(Incoming):
    results: list[SearchResult]
    more: bool
    max_results: int


# --- records -------------------------------------------------------------------------------------


class Address(Incoming):
    line1: str
    line2: str
    town: str
    postcode: str

    def lines(self) -> list[str]:
        """The non-empty lines of the address, postcode last."""
        return [part for part in (self.line1, self.line2, self.town, self.postcode) if part.strip()]


class Carer(Incoming):
    name: str
    relationship: str
    parental_responsibility: bool
    address: Address | None
    telephone: str | None


class Setting(Incoming):
    """An education setting or GP practice."""

    name: str
    address: str
    postcode: str
    telephone: str
    start_date: dt.date | None = None


class Involvement(Incoming):
    id: int
    practitioner_name: str
    role: str
    organisation: str
    telephone: str
    email: str
    service_type: str
    service_label: str
    sensitive: bool
    started_on: dt.date
    ended_on: dt.date | None
    lead_professional: bool
    assessment_completed: bool
    mine: bool


class Record(Incoming):
    """A full record, as this user may see it."""

    kind: Literal["full"]
    id: str
    given: str
    middle_names: str
    family: str
    former_names: list[str]
    gender: Gender
    date_of_birth: dt.date
    shielded: bool
    shielded_access: bool
    address_status: Literal["current", "last_known", "none"]
    address: Address | None
    telephone: str | None
    left_england: bool
    carers: list[Carer]
    education: Setting | None
    gp: Setting | None
    involvements: list[Involvement]
    management_contact: Contact
    local_authority: str
    view_id: int
    # Set when the record is archived (rule 9): only the national team opens one, investigating.
    archived_on: dt.date | None = None


class ShieldedCarer(Incoming):
    name: str
    relationship: str


class ShieldedRecord(Incoming):
    """A shielded record for a user who may not see its details: no address, no contact detail."""

    kind: Literal["shielded"]
    id: str
    given: str
    middle_names: str
    family: str
    gender: Gender
    date_of_birth: dt.date
    shielded: Literal[True]
    carers: list[ShieldedCarer]
    management_contact: Contact
    local_authority: str
    withheld: list[str]
    # The viewer's own involvements (their own contact details only), so they can end them.
    own_involvements: list[Involvement]
    view_id: int
    archived_on: dt.date | None = None


AnyRecord = Annotated[Record | ShieldedRecord, Field(discriminator="kind")]


def full_name(record: Record | ShieldedRecord) -> str:
    """Given, middle and family names."""
    return " ".join(part for part in (record.given, record.middle_names, record.family) if part.strip())


# --- involvements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvolvementDraft:
    """A practitioner's own involvement, about to be recorded."""

    service_type: str
    started_on: dt.date | None = None
    lead_professional: bool = False
    assessment_completed: bool = False
    consent_recorded: bool = False

    def to_json(self) -> dict[str, Any]:
        """The `InvolvementCreate` body."""
        body: dict[str, Any] = {
            "service_type": self.service_type,
            "lead_professional": self.lead_professional,
            "assessment_completed": self.assessment_completed,
            "consent_recorded": self.consent_recorded,
        }
        if self.started_on is not None:
            body["started_on"] = self.started_on.isoformat()
        return body


@dataclass(frozen=True)
class StatedReason:
    """The reason the user chose in the reason dialog; opening a record needs one."""

    code: str
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The `ViewRequest` body."""
        return {"reason": self.code, "reason_text": self.text}
