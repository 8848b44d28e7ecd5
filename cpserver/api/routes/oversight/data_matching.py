"""Data matching (rule 12): the possible-match queue and "this is not right" reports."""

from __future__ import annotations

from fastapi import APIRouter, status

from cpserver.api.data_matching_schemas import (
    MatchComparisonPublic,
    MatchDecision,
    MatchDecisionPublic,
    MatchReviewPage,
    PageQuery,
    RecordReportCreate,
    RecordReportPage,
    RecordReportPublic,
    RecordReportReceipt,
    ReportResolution,
)
from cpserver.api.deps import CurrentActor, MailerDep, SessionDep, SettingsDep
from cpserver.api.params import CpId, Id
from cpserver.api.presenters.data_matching import (
    comparison_public,
    decision_public,
    match_review_public,
    record_report_public,
    report_receipt,
)
from cpserver.api.schemas import ERROR_RESPONSES
from cpserver.domain import match_reviews, record_reports

router = APIRouter(tags=["data matching"], responses=ERROR_RESPONSES)


@router.post("/match-review-pages")
def list_match_reviews(body: PageQuery, actor: CurrentActor, db: SessionDep) -> MatchReviewPage:
    """A page of the open possible matches of the management team's authority, oldest first
    (audited); the next page is `after` the last item's id (in the body, as for `/audit-queries`)."""
    page = match_reviews.open_items(db, actor.user, actor.origin, after=body.after, limit=body.limit)
    db.commit()
    return MatchReviewPage(items=[match_review_public(item) for item in page.items], more=page.more)


@router.get("/match-reviews/{review_id}")
def compare_match_review(review_id: Id, actor: CurrentActor, db: SessionDep) -> MatchComparisonPublic:
    """The incoming row and the candidate's record side by side (a disclosure: audited first)."""
    comparison = match_reviews.compare(db, actor.user, actor.origin, review_id)
    db.commit()
    return comparison_public(comparison)


@router.post("/match-reviews/{review_id}/decision")
def decide_match_review(
    review_id: Id,
    body: MatchDecision,
    actor: CurrentActor,
    db: SessionDep,
    mailer: MailerDep,
    settings: SettingsDep,
) -> MatchDecisionPublic:
    review = match_reviews.decide(
        db,
        actor.user,
        actor.origin,
        review_id,
        decision=body.decision,
        now=actor.now,
        mailer=mailer,
        settings=settings,
    )
    db.commit()
    return decision_public(review, match_reviews.result_cp_id(db, review))


@router.post("/children/{cp_id}/record-reports", status_code=status.HTTP_201_CREATED)
def report_record(
    cp_id: CpId, body: RecordReportCreate, actor: CurrentActor, db: SessionDep
) -> RecordReportReceipt:
    """\u201cThis is not right\u201d: a problem from the fixed list about a record the user opened today."""
    report = record_reports.report(db, actor.user, actor.origin, cp_id, problem=body.problem, now=actor.now)
    db.commit()
    return report_receipt(report)


@router.post("/record-report-pages")
def list_record_reports(body: PageQuery, actor: CurrentActor, db: SessionDep) -> RecordReportPage:
    """A page of the open reports about the management team's authority's records, oldest first
    (audited); the next page is `after` the last item's id."""
    page = record_reports.open_reports(db, actor.user, actor.origin, after=body.after, limit=body.limit)
    db.commit()
    return RecordReportPage(items=[record_report_public(row) for row in page.items], more=page.more)


@router.post("/record-reports/{report_id}/resolution")
def resolve_record_report(
    report_id: Id, body: ReportResolution, actor: CurrentActor, db: SessionDep
) -> RecordReportPublic:
    row = record_reports.resolve(
        db, actor.user, actor.origin, report_id, resolution=body.resolution, now=actor.now
    )
    db.commit()
    return record_report_public(row)
