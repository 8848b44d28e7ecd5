"""Request and response schemas: what comes in (`...Create`, `...Request`) and what goes out (`...Public`).

The outgoing schema is where a field is left out: a shielded record is a different type,
`ShieldedRecordPublic`, which has no field that could carry an address or contact detail.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from cpserver.domain.unstorable_text import holds_unstorable

Short = Annotated[str, StringConstraints(max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Gender = Literal["female", "male", "not_specified"]
Role = Literal["practitioner", "cmt", "national"]


# Database ids are 32-bit integers (SQLite and PostgreSQL INTEGER): anything else is a 422, not a 500.
MAX_ID = 2**31 - 1
# Strict: `true` is not the id 1.
DbId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]


class Incoming(BaseModel):
    """Incoming bodies reject unknown fields, and text the database cannot store (NUL)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: object) -> object:
        if holds_unstorable(data):
            # Answered 400 `invalid_characters` (cpserver.api.errors), and counted there.
            raise PydanticCustomError("unstorable_text", "holds characters that cannot be stored")
        return data


# --- errors --------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    # For a problem with one field of the request: which one (e.g. "family").
    field: str | None = None


class ErrorPublic(BaseModel):
    error: ErrorDetail


# Every router documents the error envelope for the statuses the app can answer with (a 422 is
# the envelope too, not FastAPI's default), so clients and schemathesis can rely on it.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


# --- sessions ------------------------------------------------------------------------------------


class SessionCreate(Incoming):
    username: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    otp: Annotated[str, StringConstraints(min_length=1, max_length=12)]
    workstation: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ContactPublic(BaseModel):
    """How to reach a management team (or a manager)."""

    name: str
    telephone: str
    email: str


class UserPublic(BaseModel):
    username: str
    display_name: str
    role: Role
    job_title: str
    organisation: str
    local_authority: str | None
    management_contact: ContactPublic | None
    # May override shielding (after a warning; every override raises an alert at once).
    may_override_shield: bool = False


class SessionPublic(BaseModel):
    token: str
    expires_at: dt.datetime
    idle_timeout_seconds: int
    user: UserPublic


# --- meta ----------------------------------------------------------------------------------------


class ReasonPublic(BaseModel):
    code: str
    label: str
    needs_text: bool


class RecordProblemPublic(BaseModel):
    """A problem a user may report with a record (“this is not right”)."""

    code: str
    label: str


class ServiceTypePublic(BaseModel):
    code: str
    label: str
    sensitive: bool


class PolicyPublic(BaseModel):
    idle_timeout_seconds: int
    session_lifetime_seconds: int
    search_max_results: int
    search_max_dob_range_days: int
    reason_text_min_length: int
    crb_valid_years: int
    # Involvement notices: the delivery choices allowed (default first), how often to poll the
    # unread count, and the follow-up window in working days.
    notice_deliveries: list[str] = Field(default_factory=lambda: ["immediate"])
    notice_poll_seconds: int = 60
    notice_follow_up_working_days: int = 10


class MetaPublic(BaseModel):
    training: bool
    service_name: str
    reasons: list[ReasonPublic]
    # The reason for opening an archived record: the national team's only (rule 9).
    archive_reason: ReasonPublic
    service_types: list[ServiceTypePublic]
    involvement_guidance: str
    policy: PolicyPublic
    record_problems: list[RecordProblemPublic]


# --- search --------------------------------------------------------------------------------------


class SearchRequest(Incoming):
    family: Name | None = None
    given: Name | None = None
    date_of_birth: dt.date | None = None
    date_of_birth_from: dt.date | None = None
    date_of_birth_to: dt.date | None = None
    gender: Gender | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    # False (the default) also finds names that sound alike; True finds exact names only.
    exact: bool = False


class SearchResultPublic(BaseModel):
    id: str
    given: str
    family: str
    date_of_birth: dt.date
    gender: Gender
    # Town or district; null for a shielded child.
    locality: str | None
    shielded: bool
    exact_match: bool


class SearchResponse(BaseModel):
    results: list[SearchResultPublic]
    # True when more children matched than were returned: the user should add detail.
    more: bool
    max_results: int


# --- record views --------------------------------------------------------------------------------


class ViewRequest(Incoming):
    reason: Short | None = None
    reason_text: Annotated[str, StringConstraints(max_length=2000)] | None = None
    # Only for users allowed to override shielding, after the client's warning: raises an
    # alert at once and starts an investigation.
    override_shield: bool = False


class AddressPublic(BaseModel):
    line1: str
    line2: str
    town: str
    postcode: str


class CarerPublic(BaseModel):
    name: str
    relationship: str
    parental_responsibility: bool
    address: AddressPublic | None
    telephone: str | None


class SettingPublic(BaseModel):
    """An education setting or GP practice."""

    name: str
    address: str
    postcode: str
    telephone: str
    start_date: dt.date | None = None


class InvolvementPublic(BaseModel):
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
    # True when this involvement was recorded by the user who is viewing it.
    mine: bool


class RecordPublic(BaseModel):
    """A full record: everything Schedule 1 holds, as this user may see it."""

    kind: Literal["full"] = "full"
    id: str
    given: str
    middle_names: str
    family: str
    former_names: list[str]
    gender: Gender
    date_of_birth: dt.date
    shielded: bool
    # True when a management team member is seeing a shielded record's details (audited).
    shielded_access: bool
    address_status: Literal["current", "last_known", "none"]
    address: AddressPublic | None
    telephone: str | None
    left_england: bool
    carers: list[CarerPublic]
    education: SettingPublic | None
    gp: SettingPublic | None
    involvements: list[InvolvementPublic]
    management_contact: ContactPublic
    local_authority: str
    view_id: int
    # Set on an archived record (rule 9), which only the national team opens, for an investigation.
    archived_on: dt.date | None = None


class ShieldedCarerPublic(BaseModel):
    name: str
    relationship: str


class ShieldedRecordPublic(BaseModel):
    """A shielded record for a user who may not see its details: no address, no contact detail."""

    kind: Literal["shielded"] = "shielded"
    id: str
    given: str
    middle_names: str
    family: str
    gender: Gender
    date_of_birth: dt.date
    shielded: Literal[True] = True
    carers: list[ShieldedCarerPublic]
    management_contact: ContactPublic
    local_authority: str
    # What was withheld, by section, so the client can say so in place of each.
    withheld: list[str]
    # The viewer's own involvements (their own contact details only), so they can end them.
    own_involvements: list[InvolvementPublic]
    view_id: int
    archived_on: dt.date | None = None


RecordResponse = Annotated[RecordPublic | ShieldedRecordPublic, Field(discriminator="kind")]


# --- involvements --------------------------------------------------------------------------------


class InvolvementCreate(Incoming):
    service_type: Short
    started_on: dt.date | None = None
    lead_professional: bool = False
    assessment_completed: bool = False
    # Sensitive services (sexual health, mental health, substance misuse) need recorded consent.
    consent_recorded: bool = False


# --- involvement notices -------------------------------------------------------------------------

NoticeDelivery = Literal["immediate", "daily_digest", "off"]
FollowUp = Literal["contacted", "not_needed", "not_yet"]


class NoticeChildPublic(BaseModel):
    """The child a notice is about: what every record view shows (name, date of birth, ContactPoint ID)."""

    id: str
    given: str
    family: str
    date_of_birth: dt.date


class NoticePublic(BaseModel):
    """Another service working with a child the recipient works with, as opening the record would
    show it to them: the service and its practitioner's contact, or (withheld) the management team."""

    id: int
    event: Literal["added", "ended"]
    created_at: dt.datetime
    # Not seen before this view.
    unread: bool
    # The recipient leads on this child (such notices always come at once).
    lead: bool
    child: NoticeChildPublic
    # Null when the record would withhold it from the recipient (a shielded child).
    involvement: InvolvementPublic | None
    # The management team who brokers contact when the details are withheld.
    broker: ContactPublic | None
    withheld: list[str]
    follow_up: FollowUp | None
    follow_up_due: dt.datetime
    # The audit row written before this notice was sent.
    audit_id: int


class NoticeInbox(BaseModel):
    notices: list[NoticePublic]


class NoticeSummary(BaseModel):
    """The unread count: a number, no personal data (polled; not a disclosure)."""

    unread: int
    # True when there are more unread notices than `unread` counts.
    more: bool
    poll_seconds: int


class FollowUpAnswer(Incoming):
    answer: FollowUp


class FollowUpPublic(BaseModel):
    id: int
    follow_up: FollowUp
    followed_up_at: dt.datetime


class NoticeSettingsPublic(BaseModel):
    delivery: NoticeDelivery
    # The choices the policy allows, the default first.
    allowed: list[NoticeDelivery]
    # Notices about a child the user leads on always come at once, whatever the choice.
    lead_always_immediate: bool = True


class NoticeSettingsUpdate(Incoming):
    delivery: NoticeDelivery


class NoticeFollowUpFigures(BaseModel):
    """One authority's notices in the period and how they were followed up (counts only)."""

    local_authority: str
    notices: int
    followed_up_in_time: int
    contacted_in_time: int
    followed_up_late: int
    not_followed_up: int
    window_open: int
    window_working_days: int
    period_days: int


# --- feeds (the machine endpoint) ------------------------------------------------------------------


class FeedRejectionPublic(BaseModel):
    row: int
    code: str


class FeedBatchReport(BaseModel):
    """A batch's report: counts, and each rejected row's number and code (never a value)."""

    batch_id: int
    status: str
    rows_read: int
    rows_updated: int
    rows_matched: int
    rows_unchanged: int
    rows_created: int
    rows_held: int
    rows_rejected: int
    fields_kept: int
    records_moved: int
    # The first 10,000 rejections (rows_rejected is always the full count).
    rejections: list[FeedRejectionPublic]
