"""Loading a feed batch: read, match, apply or hold, and report, committed in chunks.

For each row: a (source, source record id) already linked is that child (an identical row is
counted unchanged and skipped); otherwise the matcher (`matching.classify`) decides: "match" →
apply to that child and link the record id; "new" → a new child, unless any candidate is shielded
(then held, rule 5: a feed never re-exposes a shielded child); "review" → held for the candidate
authority's management team (a `MatchReview`).

Crash safety: rows are committed `chunk_rows` at a time, with the batch's counters in the same
transaction; a crash loses only the chunk in progress, and running the file again completes it
(every row already applied is then unchanged). The report holds row numbers and codes only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.domain.feeds import matching
from cpserver.domain.feeds.apply import (
    FEED_ORIGIN,
    ApplyStats,
    RowRejected,
    apply_row,
    notify_moves,
    row_digest,
    source_username,
)
from cpserver.domain.feeds.format import FeedRefused, Format, Parsed, ReadContext, Rejection, read_feed
from cpserver.domain.feeds.rows import FeedRow
from cpserver.domain.feeds.sources import source_authority_code
from cpserver.domain.notify import Mailer
from cpserver.store.models import (
    Child,
    FeedBatch,
    FeedSource,
    LocalAuthority,
    MatchReview,
    SourceRecord,
    utcnow,
)

CHUNK_ROWS: Final = 1_000
# The report keeps the first this many rejections (the count is always complete).
MAX_REJECTIONS_KEPT: Final = 10_000


@dataclass
class LoadReport:
    """A batch's report: counts, and rejections as row numbers and codes (never a value)."""

    batch_id: int
    status: str = "running"
    rows_read: int = 0
    rows_updated: int = 0
    rows_matched: int = 0
    rows_unchanged: int = 0
    rows_created: int = 0
    rows_held: int = 0
    rows_rejected: int = 0
    fields_kept: int = 0
    records_moved: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    refused: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "refused": self.refused,
            "rows_read": self.rows_read,
            "rows_updated": self.rows_updated,
            "rows_matched": self.rows_matched,
            "rows_unchanged": self.rows_unchanged,
            "rows_created": self.rows_created,
            "rows_held": self.rows_held,
            "rows_rejected": self.rows_rejected,
            "fields_kept": self.fields_kept,
            "records_moved": self.records_moved,
            "rejections": list(self.rejections),
        }

    def reject(self, number: int, code: str) -> None:
        self.rows_rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append({"row": number, "code": code})


class _Hashing(io.RawIOBase):
    """Reads through to `stream`, keeping the SHA-256 of every byte read (the batch's digest)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        self.sha.update(data)
        buffer[: len(data)] = data
        return len(data)


def load_feed(
    session: Session,
    *,
    source: FeedSource,
    stream: IO[bytes],
    fmt: Format,
    via: str,
    mailer: Mailer,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> LoadReport:
    """Load one batch from `stream`; commits as it goes (each chunk, then the report)."""
    batch = FeedBatch(
        source_id=source.id, via=via, digest="", status="running", received_at=now(), rejections=[]
    )
    session.add(batch)
    session.commit()
    report = LoadReport(batch_id=batch.id)
    hashing = _Hashing(stream)
    context = _context(session, source)
    try:
        rows = read_feed(io.BufferedReader(hashing, buffer_size=256 * 1024), fmt, context)
        for chunk in _chunks(rows, chunk_rows):
            stats = ApplyStats()
            for _number, item in chunk:
                if isinstance(item, Rejection):
                    report.rows_read += 1
                    report.reject(item.row, item.code)
            _load_chunk(
                session,
                source,
                batch,
                [(n, r) for n, r in chunk if isinstance(r, FeedRow)],
                report,
                stats,
                now(),
            )
            report.fields_kept += stats.fields_kept
            report.records_moved += len(stats.moves)
            _save(batch, report)
            session.commit()
            if stats.moves:
                notify_moves(session, mailer, stats.moves)
            if progress is not None:
                progress(report.rows_read)
    except FeedRefused as refused:
        session.rollback()
        report.status, report.refused = "refused", refused.code
    else:
        report.status = "done"
    batch.digest = hashing.sha.hexdigest()
    batch.finished_at = now()
    _save(batch, report)
    trail.record(
        session,
        action="feed_batch",
        outcome=report.status if report.refused is None else f"refused:{report.refused}",
        origin=FEED_ORIGIN,
        username=source_username(source),
        local_authority_id=source.local_authority_id,
        detail={key: value for key, value in report.as_dict().items() if key != "rejections"} | {"via": via},
    )
    session.commit()
    return report


def _context(session: Session, source: FeedSource) -> ReadContext:
    codes = set(session.scalars(select(LocalAuthority.code)))
    return ReadContext(source.kind, codes, source_authority_code(session, source))


def _chunks(rows: Iterator[Parsed], size: int) -> Iterator[list[Parsed]]:
    chunk: list[Parsed] = []
    for parsed in rows:
        chunk.append(parsed)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _save(batch: FeedBatch, report: LoadReport) -> None:
    batch.status = report.status if report.refused is None else "refused"
    for name in (
        "rows_read",
        "rows_updated",
        "rows_matched",
        "rows_unchanged",
        "rows_created",
        "rows_held",
        "rows_rejected",
        "fields_kept",
        "records_moved",
    ):
        setattr(batch, name, getattr(report, name))
    stored = list(report.rejections)
    if report.refused is not None:
        stored = [{"row": 0, "code": report.refused}, *stored]
    batch.rejections = stored  # a new list, so the JSON column is written


def _load_chunk(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    rows: list[tuple[int, FeedRow]],
    report: LoadReport,
    stats: ApplyStats,
    now: dt.datetime,
) -> None:
    if not rows:
        return
    known = {
        record.source_record_id: record
        for record in session.scalars(
            select(SourceRecord).where(
                SourceRecord.source_id == source.id,
                SourceRecord.source_record_id.in_({row.source_record_id for _n, row in rows}),
            )
        )
    }
    unknown = [row for _n, row in rows if row.source_record_id not in known]
    decided = dict(zip((id(row) for row in unknown), matching.classify(session, unknown), strict=True))
    linked: set[str] = set()  # record ids first linked in this chunk (a row sent twice in one file)
    for number, row in rows:
        report.rows_read += 1
        record = known.get(row.source_record_id)
        if record is None and row.source_record_id in linked:
            record = session.scalar(
                select(SourceRecord).where(
                    SourceRecord.source_id == source.id, SourceRecord.source_record_id == row.source_record_id
                )
            )
        try:
            if record is not None:
                if record.row_digest == row_digest(row):
                    report.rows_unchanged += 1
                    continue
                child = session.get(Child, record.child_pk)
                apply_row(session, source=source, batch=batch, row=row, child=child, now=now, stats=stats)
                report.rows_updated += 1
                continue
            _decide(session, source, batch, number, row, decided[id(row)], report, stats, now)
            linked.add(row.source_record_id)
        except RowRejected as rejected:
            report.reject(number, rejected.code)


def _decide(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    number: int,
    row: FeedRow,
    decision: matching.Classification,
    report: LoadReport,
    stats: ApplyStats,
    now: dt.datetime,
) -> None:
    shielded = next((candidate for candidate in decision.candidates if candidate.shielded), None)
    if decision.decision == "match" and decision.best is not None:
        child = session.get(Child, decision.best.child_pk)
        apply_row(session, source=source, batch=batch, row=row, child=child, now=now, stats=stats)
        report.rows_updated += 1
        report.rows_matched += 1
    elif decision.decision == "new" and shielded is None:
        apply_row(session, source=source, batch=batch, row=row, child=None, now=now, stats=stats)
        report.rows_created += 1
    elif shielded is not None and decision.decision == "new":
        _hold(session, source, batch, number, row, shielded, "shielded_candidate")
        report.rows_held += 1
    else:
        candidate = shielded or decision.best
        assert candidate is not None
        _hold(
            session,
            source,
            batch,
            number,
            row,
            candidate,
            "shielded_candidate" if shielded is not None else "possible_match",
        )
        report.rows_held += 1


def _hold(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    number: int,
    row: FeedRow,
    candidate: matching.Candidate,
    because: str,
) -> None:
    """Queue the row for the candidate authority's management team (one open review per record id)."""
    review = session.scalar(
        select(MatchReview).where(
            MatchReview.source_id == source.id,
            MatchReview.source_record_id == row.source_record_id,
            MatchReview.status == "open",
        )
    )
    fields = {
        "batch_id": batch.id,
        "row_number": number,
        "incoming": row.to_json(),
        "candidate_child_pk": candidate.child_pk,
        "match_probability": candidate.probability,
        "held_because": because,
        "local_authority_id": candidate.local_authority_id,
    }
    if review is None:
        session.add(
            MatchReview(source_id=source.id, source_record_id=row.source_record_id, status="open", **fields)
        )
    else:
        for name, value in fields.items():
            setattr(review, name, value)
    session.flush()
