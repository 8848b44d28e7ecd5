"""Rule 12, "this is not right": a user reports a record as wrong; its management team resolves it.

A report is a problem from a fixed list (`PROBLEMS`), never free text, so a report carries no
personal data and no case notes. It can only be made about a record the reporter opened in the
last day (`OPENED_WITHIN`): otherwise the endpoint would tell anyone whether a ContactPoint ID
exists, outside the view rate limits. A record they did not open and a record that does not exist
get the same refusal. A shielded child is reported exactly as any other (the answer says nothing of
the shield). An insider cannot flood a queue: one open report per user, child and problem (409
`already_reported`), and at most `REPORTS_PER_DAY` reports a day (429 `report_limit`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from cpserver.audit import trail
from cpserver.domain.errors import DomainError, ErrorKind, conflict, forbidden, invalid, not_found
from cpserver.domain.oversight_scope import list_shown, require_cmt
from cpserver.domain.paging import PAGE_MAX, Page, queue_page
from cpserver.store.models import AuditEvent, Child, RecordReport, User

# code -> what the reporter sees (the server owns the list; `GET /meta` gives it to the client).
PROBLEMS: dict[str, str] = {
    "wrong_name": "The child's name is wrong",
    "wrong_date_of_birth": "The date of birth is wrong",
    "wrong_gender": "The gender is wrong",
    "wrong_address": "The address is wrong or out of date",
    "wrong_carers": "The parents or carers are wrong",
    "wrong_school": "The education setting is wrong",
    "wrong_gp": "The GP practice is wrong",
    "not_this_child_duplicate": "This is the same child as another record (a duplicate)",
    "involvement_ended": "A service shown here has stopped working with the child",
}
RESOLUTIONS = ("corrected", "not_upheld")
OPENED_WITHIN = dt.timedelta(hours=24)
REPORTS_PER_DAY = 20


@dataclass(frozen=True)
class ReportRow:
    """An open report as its management team sees it: the report, the child, who reported it."""

    report: RecordReport
    child: Child
    reporter_name: str
    reporter_username: str


def report(
    session: Session,
    actor: User,
    origin: trail.Origin,
    cp_id: str,
    *,
    problem: str,
    now: dt.datetime,
) -> RecordReport:
    """Record a report about a record `actor` opened within the last day; audited (`record_report`)."""
    if problem not in PROBLEMS:
        raise invalid("record_problem_unknown", "Choose one of the problems listed.", field="problem")
    # One user's reports are serialised on their account row, so parallel requests cannot slip
    # under the limits together (as for searches and views).
    session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    child = session.scalar(
        select(Child)
        .join(AuditEvent, AuditEvent.child_pk == Child.id)
        .where(
            Child.cp_id == cp_id,
            Child.archived_at.is_(None),
            AuditEvent.user_id == actor.id,
            AuditEvent.action == "view",
            AuditEvent.outcome == "disclosed",
            AuditEvent.occurred_at >= now - OPENED_WITHIN,
        )
        .limit(1)
    )
    if child is None:
        # The same answer whether the record does not exist or was not opened: no existence oracle.
        raise forbidden(
            "record_not_opened",
            "You can report a problem only with a record you have opened today. Open the record, "
            "then choose \u201cThis is not right\u201d.",
        )
    reported_today = session.scalar(
        select(func.count())
        .select_from(RecordReport)
        .where(
            RecordReport.reporter_user_id == actor.id, RecordReport.created_at >= now - dt.timedelta(days=1)
        )
    )
    if (reported_today or 0) >= REPORTS_PER_DAY:
        raise DomainError(
            ErrorKind.THROTTLED,
            "report_limit",
            f"You have reported {REPORTS_PER_DAY} problems today, the most one person may. "
            "If more records are wrong, tell your management team.",
            retry_after_seconds=3600,
        )
    already = session.scalar(
        select(RecordReport.id).where(
            RecordReport.reporter_user_id == actor.id,
            RecordReport.child_pk == child.id,
            RecordReport.problem == problem,
            RecordReport.status == "open",
        )
    )
    if already is not None:
        raise conflict(
            "already_reported",
            "You have already reported this problem with this record; the management team has it.",
        )
    row = RecordReport(
        child_pk=child.id,
        reporter_user_id=actor.id,
        problem=problem,
        local_authority_id=child.local_authority_id,
        status="open",
        created_at=now,
    )
    session.add(row)
    session.flush()
    trail.record(
        session,
        action="record_report",
        outcome="recorded",
        origin=origin,
        user=actor,
        child_pk=child.id,
        shielded=child.shielded,
        detail={"report": row.id, "problem": problem},
    )
    return row


def _in_authority(authority: int) -> ColumnElement[bool]:
    """A report is in the queue of its child's authority *now*: a record that moves (a feed's move
    between authorities) takes its open reports to the new team, and the old one no longer sees
    them. `local_authority_id` keeps where the report was made."""
    owner = aliased(Child)  # not the list's own join of Child, which would correlate it away
    return exists().where(owner.id == RecordReport.child_pk, owner.local_authority_id == authority)


def open_reports(
    session: Session, actor: User, origin: trail.Origin, *, after: int | None = None, limit: int = PAGE_MAX
) -> Page[ReportRow]:
    """A page of the open reports about the management team's authority's records, oldest first;
    audited. `after` and `limit` as for the possible-match queue (`paging.queue_page`)."""
    authority = require_cmt(actor)
    query = (
        select(RecordReport, Child, User)
        .join(Child, Child.id == RecordReport.child_pk)
        .join(User, User.id == RecordReport.reporter_user_id)
        .where(_in_authority(authority), RecordReport.status == "open")
        .options(joinedload(Child.local_authority))
    )
    rows, more = queue_page(
        session,
        query,
        RecordReport,
        scope=_in_authority(authority),
        after=after,
        limit=limit,
    )
    found = [ReportRow(report, child, user.display_name, user.username) for report, child, user in rows]
    list_shown(session, actor, origin, "record_reports", [row.child for row in found])
    return Page(found, more)


def resolve(
    session: Session, actor: User, origin: trail.Origin, report_id: int, *, resolution: str, now: dt.datetime
) -> ReportRow:
    """Close a report as corrected (at source) or not upheld; audited (`record_report_resolution`).

    Another authority's report and one that does not exist get the same 404.
    """
    authority = require_cmt(actor)
    if resolution not in RESOLUTIONS:
        raise invalid("resolution_unknown", "Choose corrected or not upheld.", field="resolution")
    row = session.scalar(
        select(RecordReport).where(RecordReport.id == report_id, _in_authority(authority)).with_for_update()
    )
    if row is None:
        raise not_found("record_report_not_found", "There is no such report in your authority's queue.")
    if row.status != "open":
        raise conflict("already_resolved", "This report has already been resolved.")
    row.status = resolution
    row.resolved_by_user_id = actor.id
    row.resolved_at = now
    trail.record(
        session,
        action="record_report_resolution",
        outcome="recorded",
        origin=origin,
        user=actor,
        child_pk=row.child_pk,
        detail={"report": row.id, "problem": row.problem, "resolution": resolution},
    )
    reporter = session.get(User, row.reporter_user_id)
    assert reporter is not None  # a foreign key
    return ReportRow(row, row.child, reporter.display_name, reporter.username)
