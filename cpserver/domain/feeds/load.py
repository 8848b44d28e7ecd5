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
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, cast

from sqlalchemy import Engine, Select, TextClause, select, text
from sqlalchemy.orm import Session

from cpserver.audit import chain, trail
from cpserver.config import Settings
from cpserver.domain import notices
from cpserver.domain.errors import DomainError, ErrorKind, forbidden
from cpserver.domain.feeds import matching
from cpserver.domain.feeds.apply import (
    FEED_ORIGIN,
    ApplyStats,
    BulkWrites,
    RowRejected,
    among,
    apply_row,
    notify_moves,
    row_digest,
    source_username,
)
from cpserver.domain.feeds.bulk_update import BulkChildUpdates
from cpserver.domain.feeds.delta import (
    LinkRow,
    apply_known,
    new_plain_children,
    queue_links,
    queue_new_child,
    read_children,
    read_links,
    read_provenance,
)
from cpserver.domain.feeds.format import (
    FeedRefused,
    Format,
    Parsed,
    Read,
    ReadContext,
    Rejection,
    read_feed,
    read_feed_unparsed,
)
from cpserver.domain.feeds.initial import (
    BackgroundWriter,
    check_no_retired_ids,
    prepare_chunk,
    refuse_unless_empty,
    write_chunk,
)
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
from cpserver.store.system import get_mode, is_locked_down

CHUNK_ROWS: Final = 1_000
# An ordinary (delta) load's chunk: larger, as its fixed costs per chunk (the matcher's scoring
# above all, ~0.2 s a call whatever its size) are paid once for this many rows.
DELTA_CHUNK_ROWS: Final = 5_000
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
    # Why a load with several workers stopped (status "failed"; kinds and numbers, never a value).
    failed: str | None = None

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
            "rejections": sorted(self.rejections, key=lambda item: int(item["row"])),
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
    settings: Settings | None = None,
    chunk_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    initial: bool = False,
    jobs: int = 1,
    path: Path | None = None,
) -> LoadReport:
    """Load one batch from `stream`; commits as it goes (each chunk, then the report).

    `settings`: the policy the notices to practitioners follow (a fed service on a child they
    work with; `notices.after_feed_services`).

    Raises `DomainError` (audited, committed, nothing loaded) on a training database
    (`training_database`), during a national lockdown (`locked_down`), and for `initial` when the
    directory is not empty (`initial_load_not_empty`, see `initial.py`).

    `jobs` > 1 on PostgreSQL: that many worker processes load the batch. With `initial`, they read
    the file at `path` (the same file as `stream`), see `parallel.py`; without, this process reads
    `stream` and hands each row to a worker, see `parallel_delta.py` (a worker that fails stops the
    load: the report's status is then "failed", the chunks committed stay, and the same file loaded
    again completes it). On SQLite (one writer at a time) the load runs in this process.
    """
    from cpserver.domain.feeds.parallel import drop_search_indexes, load_in_parallel, restore_search_indexes
    from cpserver.domain.feeds.parallel_delta import WorkerFailed

    if initial and jobs > 1 and path is None:
        raise ValueError("a load with several jobs needs the file's path")
    if chunk_rows is None:
        chunk_rows = CHUNK_ROWS if initial else DELTA_CHUNK_ROWS
    try:
        refuse_closed(session)
        if initial:
            refuse_unless_empty(session, source)
    except DomainError as refused:
        session.rollback()
        trail.record(
            session,
            action="feed_batch",
            outcome=f"refused:{refused.code}",
            origin=FEED_ORIGIN,
            username=source_username(source),
            local_authority_id=source.local_authority_id,
            detail={"via": via},
        )
        session.commit()
        raise
    restore_search_indexes(session)  # a crashed initial load's
    batch = FeedBatch(
        source_id=source.id, via=via, digest="", status="running", received_at=now(), rejections=[]
    )
    session.add(batch)
    session.commit()
    report = LoadReport(batch_id=batch.id)
    hashing = _Hashing(stream)
    context = _context(session, source)
    bind = session.get_bind()
    postgresql = isinstance(bind, Engine) and bind.dialect.name == "postgresql"
    if initial:
        drop_search_indexes(session)  # rebuilt before this returns (or by the next load)
    parallel = initial and jobs > 1 and postgresql
    delta_jobs = not initial and jobs > 1 and postgresql
    writer = (
        BackgroundWriter(bind, batch.id)
        if initial and isinstance(bind, Engine) and postgresql and not parallel
        else None
    )
    bulk_updates = BulkChildUpdates(session).__enter__()  # changed children: one UPDATE a chunk
    try:
        if parallel:
            assert path is not None
            sliced = load_in_parallel(
                session,
                source=source,
                batch=batch,
                path=path,
                fmt=fmt,
                context=context,
                jobs=jobs,
                chunk_rows=chunk_rows,
                progress=progress,
            )
            for name, value in sliced.counts.items():
                setattr(report, name, value)
            report.rejections = sliced.rejections[:MAX_REJECTIONS_KEPT]
            for _block in iter(lambda: hashing.read(1 << 20), b""):
                pass  # the batch's digest
            if sliced.moves:
                notify_moves(session, mailer, sliced.moves)
            if sliced.refused is not None:
                raise FeedRefused(sliced.refused, "")
            check_no_retired_ids(session)
        reading = io.BufferedReader(hashing, buffer_size=256 * 1024)
        if delta_jobs:  # the workers parse a CSV file's records (this process reads and deals them)
            _load_delta_in_parallel(
                session,
                source,
                batch,
                read_feed_unparsed(reading, fmt, context),
                context,
                report,
                jobs,
                chunk_rows,
                settings,
                mailer,
                progress,
            )
        parsed = read_feed(reading, fmt, context) if not (parallel or delta_jobs) else iter(())
        for chunk in _chunks(parsed, chunk_rows):
            stats = ApplyStats(bulk=BulkWrites(), audit=[])
            for _number, item in chunk:
                if isinstance(item, Rejection):
                    report.rows_read += 1
                    report.reject(item.row, item.code)
            rows = [(n, r) for n, r in chunk if isinstance(r, FeedRow)]
            if writer is not None and writer.pending_record_ids() & {
                row.source_record_id for _n, row in rows
            }:
                writer.drain()  # a record id sent again: what the writer holds is committed first
            if initial and _all_new_records(session, source, rows):
                report.rows_read += len(rows)
                prepared = prepare_chunk(
                    session,
                    source,
                    batch,
                    rows,
                    now(),
                    report.reject,
                    writer.pending_cp_ids() if writer is not None else (),
                )
                report.rows_created += prepared.created
                if writer is not None:
                    session.commit()  # nothing written here: ends the read transaction
                    writer.put(prepared, _counters(report))
                    if progress is not None:
                        progress(report.rows_read)
                    continue
                write_chunk(session, prepared)
            else:
                if writer is not None:
                    writer.drain()
                _load_chunk(session, source, batch, rows, report, stats, now())
            assert stats.bulk is not None and stats.audit is not None
            stats.bulk.write(session)
            _tell_practitioners(session, settings, stats, now())
            chain.append_many(session, stats.audit)
            report.fields_kept += stats.fields_kept
            report.records_moved += len(stats.moves)
            _save(batch, report)
            session.commit()
            if stats.moves:
                # Committed: the teams are told now, one message per pair of authorities for the
                # chunk (`notify_moves`), so a load killed later loses no chunk's mail already due.
                notify_moves(session, mailer, stats.moves)
            if progress is not None:
                progress(report.rows_read)
        if writer is not None:
            writer.close()
            writer = None
            check_no_retired_ids(session)
    except FeedRefused as refused:
        session.rollback()
        report.status, report.refused = "refused", refused.code
    except WorkerFailed as failed:
        session.rollback()
        report.status, report.failed = "failed", str(failed)
        for _block in iter(lambda: hashing.read(1 << 20), b""):
            pass  # the batch's digest is the whole file's
    else:
        report.status = "done"
    finally:
        bulk_updates.__exit__()
        if writer is not None:  # an error: what was handed over is written (or failed) first
            writer.close()
        if initial:
            session.rollback()
            restore_search_indexes(session, jobs=jobs)
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


def _load_delta_in_parallel(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    parsed: Iterator[Read],
    context: ReadContext,
    report: LoadReport,
    jobs: int,
    chunk_rows: int,
    settings: Settings | None,
    mailer: Mailer,
    progress: Callable[[int], None] | None,
) -> None:
    """A delta applied by `jobs` workers (`parallel_delta.py`), their chunks' counts and rejections
    merged into `report`, the rows this process rejected added to them. The counters are then read
    back from the batch row (the workers add theirs with each chunk they commit), also when a worker
    failed (`WorkerFailed`, re-raised): the report says exactly what was committed."""
    from cpserver.domain.feeds.parallel_delta import ChunkDone, load_delta_in_parallel

    own = LoadReport(batch_id=batch.id)  # the rows this process rejected

    def rejected(number: int, code: str) -> None:
        own.rows_read += 1
        own.rows_rejected += 1
        report.rows_read += 1
        report.reject(number, code)

    def committed(done: ChunkDone) -> None:
        for name, value in done.counts.items():
            setattr(report, name, getattr(report, name) + value)
        room = MAX_REJECTIONS_KEPT - len(report.rejections)
        report.rejections.extend(done.rejections[: max(room, 0)])

    try:
        load_delta_in_parallel(
            session,
            source=source,
            batch_id=batch.id,
            parsed=parsed,
            context=context,
            jobs=jobs,
            chunk_rows=chunk_rows,
            settings=settings,
            mailer=mailer,
            rejected=rejected,
            committed=committed,
            progress=(lambda: progress(report.rows_read)) if progress is not None else None,
        )
    finally:
        session.rollback()
        session.refresh(batch)
        for name in BATCH_COUNTERS:
            setattr(report, name, getattr(batch, name) + getattr(own, name))


def _tell_practitioners(
    session: Session, settings: Settings | None, stats: ApplyStats, now: dt.datetime
) -> None:
    """The practitioners working with a child whose services the chunk added or ended are told
    (in the chunk's transaction: a notice row is committed with the service it is about)."""
    assert stats.bulk is not None
    changes = stats.bulk.services.take()
    if changes.added or changes.ended:
        notices.after_feed_services(
            session, settings or Settings(), added=changes.added, ended=changes.ended, now=now
        )


def refuse_closed(session: Session) -> None:
    """No feed is loaded into a training database (fictitious data only) or during a lockdown."""
    if get_mode(session) == "training":
        raise forbidden(
            "training_database",
            "This is a training database: it holds fictitious data only, and takes no feeds.",
        )
    if is_locked_down(session):
        raise DomainError(
            ErrorKind.UNAVAILABLE,
            "locked_down",
            "ContactPoint is locked down by the national team: feeds are not loaded until access is "
            "restored. Send the batch again then.",
        )


def _all_new_records(session: Session, source: FeedSource, rows: list[tuple[int, FeedRow]]) -> bool:
    """True when no record id repeats in `rows` and none is linked yet (the initial path's chunk)."""
    ids = {row.source_record_id for _n, row in rows}
    if len(ids) < len(rows):
        return False
    return not ids or session.execute(linked_among(session, source, ids)).first() is None


def linked_among(
    session: Session, source: FeedSource, ids: Collection[str]
) -> TextClause | Select[tuple[int]]:
    """The links of `source` under any of `ids` (their ids), each looked up alone in the unique index.

    On PostgreSQL, one index probe per id (a lateral lookup: no other plan exists for it). Asked as
    `record_id = ANY(ids)` the planner chose by its guesses on a table an initial load is still
    filling and nobody has analysed: with `LIMIT 1` it walked every link of the source through the
    index's first column testing each against the list (40 ms a chunk at 270,000 links, growing with
    them: half the database's time in a 1M load), and without it, at 300,000 links, read the whole
    table (the chunk's 1,000 ids all expected to be linked).
    """
    if session.get_bind().dialect.name == "postgresql":
        return text(
            "SELECT found.id FROM unnest(CAST(:ids AS varchar[])) AS wanted(record_id) "
            "CROSS JOIN LATERAL (SELECT id FROM source_records WHERE source_id = :source "
            "AND source_record_id = wanted.record_id LIMIT 1) AS found"
        ).bindparams(ids=list(ids), source=source.id)
    return select(SourceRecord.id).where(
        SourceRecord.source_id == source.id, SourceRecord.source_record_id.in_(ids)
    )


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


# The batch row's counters (a parallel load's workers add to them with each chunk they commit).
BATCH_COUNTERS: Final = (
    "rows_read",
    "rows_updated",
    "rows_matched",
    "rows_unchanged",
    "rows_created",
    "rows_held",
    "rows_rejected",
    "fields_kept",
    "records_moved",
)


def _counters(report: LoadReport) -> dict[str, Any]:
    """The batch row's values for `report` (its counters and the rejections so far)."""
    stored = sorted(report.rejections, key=lambda item: int(item["row"]))
    if report.refused is not None:
        stored = [{"row": 0, "code": report.refused}, *stored]
    return {name: getattr(report, name) for name in BATCH_COUNTERS} | {"rejections": stored}


def _save(batch: FeedBatch, report: LoadReport) -> None:
    batch.status = report.status if report.refused is None else "refused"
    for name, value in _counters(report).items():
        setattr(batch, name, value)  # `rejections` is a new list, so the JSON column is written


def _load_chunk(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    rows: list[tuple[int, FeedRow]],
    report: LoadReport,
    stats: ApplyStats,
    now: dt.datetime,
    *,
    lane: tuple[int, int] = (0, 1),
    lock: bool = False,
) -> None:
    """Apply one chunk's parsed rows (the ordinary path). `lane`: the new ContactPoint IDs' lane;
    `lock`: the known and matched children's rows locked (`read_children`): several workers."""
    if not rows:
        return
    known = read_links(session, source, {row.source_record_id for _n, row in rows})
    unknown = [row for _n, row in rows if row.source_record_id not in known]
    decided = dict(zip((id(row) for row in unknown), matching.classify(session, unknown), strict=True))
    # The chunk's new children are made together (one statement), each for the first row of its
    # record id; a later row with the same id in this chunk updates the child the first one made.
    creating: dict[str, FeedRow] = {}
    for row in unknown:
        if row.source_record_id not in creating and _creates(decided[id(row)]):
            creating[row.source_record_id] = row
    # Plain objects, written once their row is applied (`queue_new_child`).
    made = dict(
        zip(
            (id(row) for row in creating.values()),
            new_plain_children(session, list(creating.values()), lane),
            strict=True,
        )
    )
    linked: set[str] = set()  # record ids first linked in this chunk (a row sent twice in one file)
    holds: dict[str, dict[str, Any]] = {}  # the chunk's held rows by record id, written at its end
    # The children of known records whose row changed, loaded in one query; `touched`: children
    # this chunk has written to (their pending writes must be flushed before they are read again).
    changed = {
        link.child_pk
        for _n, row in rows
        if (link := known.get(row.source_record_id)) is not None and link.row_digest != row_digest(row)
    }
    # ... and the children the matcher matched unknown rows to, the same way.
    matched = {
        decision.best.child_pk
        for decision in decided.values()
        if decision.decision == "match" and decision.best is not None
    }
    changed |= matched
    children = read_children(session, changed, lock=lock)  # plain rows: applied by `apply_known`
    touched: set[int] = set()
    stats.links = known
    stats.unlinked = {row.source_record_id for row in unknown}
    # Their provenance (what the rule reads), for `apply_known` (`dict` of shared rows: read only).
    stats.provenance = read_provenance(session, changed)
    for number, row in rows:
        report.rows_read += 1
        record: LinkRow | SourceRecord | None = known.get(row.source_record_id)
        if record is None and row.source_record_id in linked:
            if stats.bulk is not None:
                stats.bulk.write(session)  # the link made earlier in this chunk is pending there
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
                plain = children.get(record.child_pk)
                if isinstance(record, LinkRow) and plain is not None and record.child_pk not in touched:
                    apply_known(
                        session,
                        source=source,
                        batch=batch,
                        row=row,
                        child=plain,
                        link=record,
                        now=now,
                        stats=stats,
                    )
                else:  # written to earlier in the chunk: through the ORM, after the pending writes
                    assert stats.bulk is not None
                    stats.bulk.write(session)  # what the plain rows wrote, before the child is read
                    apply_row(
                        session,
                        source=source,
                        batch=batch,
                        row=row,
                        child=session.get(Child, record.child_pk),
                        now=now,
                        stats=stats,
                    )
                touched.add(record.child_pk)
                report.rows_updated += 1
                continue
            prepared = made.get(id(row))
            if isinstance(prepared, RowRejected):
                raise prepared
            decision = decided[id(row)]
            best = decision.best.child_pk if decision.decision == "match" and decision.best else None
            plain = children.get(best) if best is not None and best not in touched else None
            if plain is not None and row.source_record_id in (stats.unlinked or ()):
                apply_known(
                    session, source=source, batch=batch, row=row, child=plain, link=None, now=now, stats=stats
                )
                report.rows_updated += 1
                report.rows_matched += 1
                touched.add(plain.id)
                linked.add(row.source_record_id)
                continue
            if best is not None and stats.bulk is not None:
                stats.bulk.write(session)  # what the plain rows wrote, before the child is read
            written = _decide(
                session,
                source,
                batch,
                number,
                row,
                decided[id(row)],
                report,
                stats,
                now,
                cast(Child | None, prepared),
                holds=holds,
            )
            if prepared is not None and written is not None:
                assert stats.bulk is not None
                queue_new_child(stats.bulk, prepared)
            if written is not None:
                touched.add(written)
            linked.add(row.source_record_id)
        except RowRejected as rejected:
            report.reject(number, rejected.code)
    write_holds(session, source, holds)
    assert stats.bulk is not None
    queue_links(stats.bulk, known.values())


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
    prepared: Child | None = None,
    children: dict[int, Child] | None = None,
    touched: set[int] | None = None,
    holds: dict[str, dict[str, Any]] | None = None,
) -> int | None:
    """Apply, create or hold the row; returns the key of the child written to (None: held).

    `children`: matched children loaded for the chunk; `touched`: children the chunk has written to
    (any other loaded child is applied without a flush, its provenance read with the chunk's);
    `holds`: a held row is put there (`write_holds` at the chunk's end), else written now.
    """
    shielded = next((candidate for candidate in decision.candidates if candidate.shielded), None)
    if decision.decision == "match" and decision.best is not None:
        pk = decision.best.child_pk
        child = (children or {}).get(pk) or session.get(Child, pk)
        settled = children is not None and pk in children and touched is not None and pk not in touched
        apply_row(
            session, source=source, batch=batch, row=row, child=child, now=now, stats=stats, settled=settled
        )
        report.rows_updated += 1
        report.rows_matched += 1
        return decision.best.child_pk
    if _creates(decision):
        created = apply_row(
            session,
            source=source,
            batch=batch,
            row=row,
            child=prepared,
            now=now,
            stats=stats,
            created=prepared is not None,
        )
        report.rows_created += 1
        return created.id
    if shielded is not None and decision.decision == "new":
        _hold(source, batch, number, row, shielded, "shielded_candidate", holds, session)
        report.rows_held += 1
    else:
        candidate = shielded or decision.best
        assert candidate is not None
        _hold(
            source,
            batch,
            number,
            row,
            candidate,
            "shielded_candidate" if shielded is not None else "possible_match",
            holds,
            session,
        )
        report.rows_held += 1
    return None


def _creates(decision: matching.Classification) -> bool:
    """A new record only for a sure non-match with no shielded child among the candidates."""
    return decision.decision == "new" and not any(candidate.shielded for candidate in decision.candidates)


def _hold(
    source: FeedSource,
    batch: FeedBatch,
    number: int,
    row: FeedRow,
    candidate: matching.Candidate,
    because: str,
    holds: dict[str, dict[str, Any]] | None,
    session: Session | None = None,
) -> None:
    """Queue the row for the candidate authority's management team: its review's columns put in
    `holds` (by record id: a later held row under the same id replaces them, as it would update the
    review), written by `write_holds`; with no `holds`, written now by `session`."""
    fields = {
        "batch_id": batch.id,
        "row_number": number,
        "incoming": row.to_json(),
        "candidate_child_pk": candidate.child_pk,
        "match_probability": candidate.probability,
        "held_because": because,
        "local_authority_id": candidate.local_authority_id,
    }
    if holds is not None:
        holds[row.source_record_id] = fields
    else:
        assert session is not None
        write_holds(session, source, {row.source_record_id: fields})


def write_holds(session: Session, source: FeedSource, holds: dict[str, dict[str, Any]]) -> None:
    """The held rows' reviews (one open review per record id: an open one is updated, else one is
    added), their open reviews read in one query and written in one flush."""
    if not holds:
        return
    reviews = {
        review.source_record_id: review
        for review in session.scalars(
            select(MatchReview).where(
                MatchReview.source_id == source.id,
                among(session, MatchReview.source_record_id, holds),
                MatchReview.status == "open",
            )
        )
    }
    for record_id, fields in holds.items():
        review = reviews.get(record_id)
        if review is None:
            session.add(MatchReview(source_id=source.id, source_record_id=record_id, status="open", **fields))
        else:
            for name, value in fields.items():
                setattr(review, name, value)
    session.flush()
