"""Schemas of the data matching calls: the possible-match queue, and "this is not right" reports."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from cpserver.api.schemas import MAX_ID, Incoming
from cpserver.domain.paging import PAGE_MAX

Decision = Literal["same_child", "different_children"]
Resolution = Literal["corrected", "not_upheld"]
Problem = Literal[
    "wrong_name",
    "wrong_date_of_birth",
    "wrong_gender",
    "wrong_address",
    "wrong_carers",
    "wrong_school",
    "wrong_gp",
    "not_this_child_duplicate",
    "involvement_ended",
]


class PageQuery(Incoming):
    """Which page of a queue list: the first, or the one `after` the item with that id (keyset,
    `cpserver.domain.paging`); at most `limit` items. In the body: the project puts no parameter in
    a URL's query."""

    after: int | None = Field(default=None, ge=1, le=MAX_ID)
    limit: int = Field(default=PAGE_MAX, ge=1, le=PAGE_MAX)


# --- the possible-match queue --------------------------------------------------------------------


class PersonSummary(BaseModel):
    """Who a side of an item is, as listed: names and date of birth only."""

    given: str
    family: str
    date_of_birth: dt.date


class CandidateSummary(PersonSummary):
    id: str
    shielded: bool


class MatchReviewPublic(BaseModel):
    id: int
    # "possible_match" or "shielded_candidate".
    held_because: str
    match_probability: float
    source: str
    received_at: dt.datetime
    status: str
    incoming: PersonSummary
    # None when the candidate is no longer on the directory.
    candidate: CandidateSummary | None


class MatchReviewPage(BaseModel):
    """A page of the open possible matches, oldest first: ask again with `after` the last item's id
    when `more`."""

    items: list[MatchReviewPublic]
    more: bool


class FieldPairPublic(BaseModel):
    """One field of the two records side by side.

    `agreement`: "same" or "different" (letters and digits compared, case ignored), or "not_in_row"
    when the incoming row says nothing of a field the directory holds (applying it keeps the value).
    """

    field: str
    incoming: str
    directory: str
    agreement: Literal["same", "different", "not_in_row"]


class MatchComparisonPublic(BaseModel):
    review: MatchReviewPublic
    fields: list[FieldPairPublic]


class MatchDecision(Incoming):
    decision: Decision


class MatchDecisionPublic(BaseModel):
    id: int
    status: str
    # The ContactPoint ID of the record the row went to (the candidate, or the new record).
    child_id: str | None


# --- reports ------------------------------------------------------------------------------------


class RecordReportCreate(Incoming):
    problem: Problem


class RecordReportReceipt(BaseModel):
    """What the reporter is told: the report, nothing about the record."""

    id: int
    problem: str
    status: str
    reported_at: dt.datetime


class ReportedChild(PersonSummary):
    id: str
    shielded: bool


class RecordReportPublic(BaseModel):
    id: int
    problem: str
    status: str
    reported_at: dt.datetime
    child: ReportedChild
    reporter: str


class RecordReportPage(BaseModel):
    """A page of the open reports, oldest first: ask again with `after` the last item's id when `more`."""

    items: list[RecordReportPublic]
    more: bool


class ReportResolution(Incoming):
    resolution: Resolution
