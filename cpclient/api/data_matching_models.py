"""The typed models of the data matching calls: the possible-match queue and "this is not right" reports.

They follow `cpserver/api/data_matching_schemas.py`, parsed as strictly as the rest of the API client.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from cpclient.api.models import Incoming

Decision = Literal["same_child", "different_children"]
Resolution = Literal["corrected", "not_upheld"]


class PersonSummary(Incoming):
    given: str
    family: str
    date_of_birth: dt.date


class CandidateSummary(PersonSummary):
    id: str
    shielded: bool


class MatchReview(Incoming):
    """An item of the queue: a feed row that may be a child already on the directory."""

    id: int
    held_because: str
    match_probability: float
    source: str
    received_at: dt.datetime
    status: str
    incoming: PersonSummary
    candidate: CandidateSummary | None


class MatchReviewPage(Incoming):
    """A page of the queue, oldest first; `more`: ask for the next one after the last item's id."""

    items: list[MatchReview]
    more: bool


class FieldPair(Incoming):
    """One field of the two records side by side."""

    field: str
    incoming: str
    directory: str
    # "same", "different", or "not_in_row" (the incoming record says nothing of this field).
    agreement: str


class MatchComparison(Incoming):
    review: MatchReview
    fields: list[FieldPair]


class MatchDecisionResult(Incoming):
    id: int
    status: str
    child_id: str | None


class ReportReceipt(Incoming):
    """What a reporter is told: the report was received."""

    id: int
    problem: str
    status: str
    reported_at: dt.datetime


class ReportedChild(PersonSummary):
    id: str
    shielded: bool


class RecordReport(Incoming):
    id: int
    problem: str
    status: str
    reported_at: dt.datetime
    child: ReportedChild
    reporter: str


class RecordReportPage(Incoming):
    """A page of the open reports, oldest first; `more`: ask for the next one after the last item's id."""

    items: list[RecordReport]
    more: bool
