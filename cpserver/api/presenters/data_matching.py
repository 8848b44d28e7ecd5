"""Data matching: queue items, comparisons, decisions and reports → outgoing schemas."""

from __future__ import annotations

from cpserver.api.data_matching_schemas import (
    CandidateSummary,
    FieldPairPublic,
    MatchComparisonPublic,
    MatchDecisionPublic,
    MatchReviewPublic,
    PersonSummary,
    RecordReportPublic,
    RecordReportReceipt,
    ReportedChild,
)
from cpserver.domain.match_reviews import Comparison, QueueItem
from cpserver.domain.record_reports import ReportRow
from cpserver.store.models import MatchReview, RecordReport


def match_review_public(item: QueueItem) -> MatchReviewPublic:
    review, row, candidate = item.review, item.row, item.candidate
    return MatchReviewPublic(
        id=review.id,
        held_because=review.held_because,
        match_probability=round(review.match_probability, 4),
        source=item.source_name,
        received_at=review.created_at,
        status=review.status,
        incoming=PersonSummary(given=row.given_name, family=row.family_name, date_of_birth=row.date_of_birth),
        candidate=CandidateSummary(
            id=candidate.cp_id,
            given=candidate.given_name,
            family=candidate.family_name,
            date_of_birth=candidate.date_of_birth,
            shielded=candidate.shielded,
        )
        if candidate is not None
        else None,
    )


def comparison_public(comparison: Comparison) -> MatchComparisonPublic:
    return MatchComparisonPublic(
        review=match_review_public(comparison.item),
        fields=[
            FieldPairPublic(
                field=pair.field, incoming=pair.incoming, directory=pair.directory, agreement=pair.agreement
            )
            for pair in comparison.pairs
        ],
    )


def decision_public(review: MatchReview, child_id: str | None) -> MatchDecisionPublic:
    return MatchDecisionPublic(id=review.id, status=review.status, child_id=child_id)


def report_receipt(report: RecordReport) -> RecordReportReceipt:
    return RecordReportReceipt(
        id=report.id, problem=report.problem, status=report.status, reported_at=report.created_at
    )


def record_report_public(row: ReportRow) -> RecordReportPublic:
    report, child = row.report, row.child
    return RecordReportPublic(
        id=report.id,
        problem=report.problem,
        status=report.status,
        reported_at=report.created_at,
        child=ReportedChild(
            id=child.cp_id,
            given=child.given_name,
            family=child.family_name,
            date_of_birth=child.date_of_birth,
            shielded=child.shielded,
        ),
        reporter=f"{row.reporter_name} ({row.reporter_username})",
    )
