"""A feed batch's report, as the machine endpoint answers it (row numbers and codes only)."""

from __future__ import annotations

from cpserver.api.schemas import FeedBatchReport, FeedRejectionPublic
from cpserver.domain.feeds.load import LoadReport


def batch_report_public(report: LoadReport) -> FeedBatchReport:
    return FeedBatchReport(
        batch_id=report.batch_id,
        status=report.status,
        rows_read=report.rows_read,
        rows_updated=report.rows_updated,
        rows_matched=report.rows_matched,
        rows_unchanged=report.rows_unchanged,
        rows_created=report.rows_created,
        rows_held=report.rows_held,
        rows_rejected=report.rows_rejected,
        fields_kept=report.fields_kept,
        records_moved=report.records_moved,
        rejections=[
            FeedRejectionPublic(row=item["row"], code=item["code"]) for item in report.as_dict()["rejections"]
        ],
    )
