"""An ordinary (delta) load with several workers (`cpserver feed load --jobs N`, PostgreSQL).

**Who reads what.** The loader (the parent process) reads the file once (the batch's digest as it
goes), counts the rows it rejects, and hands every other row, with its row number, to one of N
worker processes: a CSV record as its cells (`format.Unparsed`: the record id and the date of
birth, all the loader needs, read from their cells), which the worker parses (`parse_sent`), so
the one reading process neither parses nor pickles parsed rows (a JSON Lines row is parsed by the
loader); each worker applies its rows as the one-process path applies a chunk
(`load._load_chunk`: links, matcher, winning rule, new children, held rows), a chunk of
`chunk_rows` of its rows per transaction, with the batch's counters added to in that transaction.
The loader shows progress, tells the management teams of each committed chunk's moves as the
worker reports them, and merges the workers' reports (counts, rejections by row number).

**Partitioning.** Rows for one child never go to two workers: a row whose record id is linked goes
to the worker of its child (`child key mod N`, the link read by the loader for each of its chunks),
so one worker applies all of a child's rows, in file order. A row whose record id the source has
not sent (the matcher decides it) goes to the worker of its birthday (`birthday_lane`: the year
and the day and month as an unordered pair, hashed, mod N), and every later row under that record
id to the same worker (remembered by the loader): the matcher's blocks ask for the date of birth,
or the same with day and month transposed (`matching._fetch_candidates`), so two rows that may be
the same new child meet in one worker, which decides them one chunk after the other as the
one-process path does. Until session 8 the lane was the year alone: a day's births, nearly all
the matcher's rows, all went to one worker (at 11M children one worker sampled 5,477 times, the
other 1,434, and the machine stood 29% idle).

What a cross-partition case costs: (1) two rows for the same new child born on birthdays in
different lanes (a day, a month or a year typed wrong, found only by the names-and-year block or the
postcode block) can both be decided at once by two workers, each before the other's child is
committed: two children may be created where one process would have matched or held the second (one
process has the same gap within one chunk); a practitioner's report ("the same child as another
record") brings them to the authority's data-matching queue. (2) The
matcher can match a new record id to a child whose known rows another worker applies: the workers
lock the children they write (`read_children` with `lock`, in key order) and the second waits for
the first's chunk to commit, then reads the child afresh, so no field is lost. Shielded candidates,
held rows and moves are decided per row as in one process: a shielded child is never created
visible, a doubtful row is held for review.

**Failures.** A chunk refused by a deadlock, a serialization failure or a unique index (another
worker got there first) is rolled back and applied again (a few times): no row is lost and nothing
is counted twice. Any other failure stops the worker; the loader then stops the others and marks
the batch `failed` (its counters are those of the chunks committed); the same file loaded again
completes it, every row already applied counted unchanged (record ids and row digests). A worker
whose loader is gone stops (`workers.LoaderGone`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cpserver.audit import chain
from cpserver.config import Settings
from cpserver.domain.feeds.apply import ApplyStats, BulkWrites, Move, notify_moves
from cpserver.domain.feeds.delta import read_links
from cpserver.domain.feeds.format import CsvCells, FeedRefused, Read, ReadContext, Rejection, Unparsed
from cpserver.domain.feeds.parallel import _add_counters
from cpserver.domain.feeds.rows import FeedRow
from cpserver.domain.feeds.workers import LoaderGone, Workers, run_worker
from cpserver.domain.notify import Mailer
from cpserver.store.models import FeedBatch, FeedSource, utcnow

# A chunk refused for one of these is applied again: deadlock, serialization failure, a unique
# index (another worker linked or drew it first: read again, the row is then known).
RETRIED: Final = frozenset({"40P01", "40001", "23505"})
ATTEMPTS: Final = 5
# Row lists waiting for each worker (each about chunk_rows / N rows): the loader waits beyond that.
QUEUED: Final = 4


@dataclass
class DeltaTask:
    """One worker's part (picklable: it crosses to a new process)."""

    url: str
    source_id: int
    batch_id: int
    lane: tuple[int, int]
    chunk_rows: int
    settings: Settings | None = None
    # The loader's process id: a worker whose loader is gone stops (nothing more is written).
    loader_pid: int | None = None
    # What the rows the loader sends unparsed (`Unparsed`, a CSV file's) are checked against.
    context: ReadContext | None = None


# A row as the loader sends it: parsed (JSON Lines) or a CSV record's cells (parsed by the worker).
Sent = tuple[int, FeedRow | Unparsed]


@dataclass
class ChunkDone:
    """One committed chunk of a worker: its counters, rejections (row numbers and codes), moves."""

    counts: dict[str, int]
    rejections: list[dict[str, Any]] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)


def delta_worker(task: DeltaTask, rows: Any, messages: Any) -> None:
    """A worker process's body: apply the row lists read from `rows` (None: the end), report each
    committed chunk, then ("done", lane), on `messages`."""
    lane_k = task.lane[0]
    run_worker(
        task.url,
        lane_k,
        messages,
        lambda session: run_lane(
            session,
            task,
            _received(rows, task.loader_pid),
            lambda done: messages.put(("chunk", lane_k, done)),
        ),
    )


def _received(rows: Any, loader_pid: int | None) -> Iterator[list[Sent]]:
    """The row lists the loader sends, until its None; `LoaderGone` if the loader dies meanwhile."""
    while True:
        try:
            item = rows.get(timeout=1.0)
        except queue.Empty:
            if loader_pid is not None and os.getppid() != loader_pid:
                raise LoaderGone() from None
            continue
        if item is None:
            return
        yield item


def run_lane(
    session: Session,
    task: DeltaTask,
    received: Iterator[list[Sent]],
    committed: Callable[[ChunkDone], None],
) -> None:
    """Apply the rows of `received` in chunks of `task.chunk_rows`, each committed (`apply_chunk`)
    then reported to `committed`."""
    pending: list[Sent] = []
    parsers: dict[tuple[str, ...], CsvCells] = {}
    for part in received:
        pending.extend(part)
        while len(pending) >= task.chunk_rows:
            committed(apply_chunk(session, task, pending[: task.chunk_rows], parsers))
            del pending[: task.chunk_rows]
    if pending:
        committed(apply_chunk(session, task, pending, parsers))


def apply_chunk(
    session: Session,
    task: DeltaTask,
    sent: list[Sent],
    parsers: dict[tuple[str, ...], CsvCells] | None = None,
) -> ChunkDone:
    """One chunk in one transaction, as the one-process path applies it, the batch's counters added
    to; applied again from the start (a fresh report) if the database refuses it for a reason in
    `RETRIED`. A CSV record sent unparsed is parsed first (its rejection counted with the chunk).
    `parsers`: a CSV header's parser, kept from chunk to chunk."""
    from cpserver.domain.feeds.load import BATCH_COUNTERS, LoadReport, _load_chunk, _tell_practitioners

    rows, refused = parse_sent(sent, task.context, {} if parsers is None else parsers)
    for attempt in range(1, ATTEMPTS + 1):
        if task.loader_pid is not None and os.getppid() != task.loader_pid:
            session.rollback()
            raise LoaderGone()
        source = session.get(FeedSource, task.source_id)
        batch = session.get(FeedBatch, task.batch_id)
        assert source is not None and batch is not None
        done = LoadReport(batch_id=task.batch_id)
        for rejected in refused:
            done.rows_read += 1
            done.reject(rejected.row, rejected.code)
        stats = ApplyStats(bulk=BulkWrites(), audit=[])
        now = utcnow()
        try:
            _load_chunk(session, source, batch, rows, done, stats, now, lane=task.lane, lock=True)
            assert stats.bulk is not None and stats.audit is not None
            stats.bulk.write(session)
            _tell_practitioners(session, task.settings, stats, now)
            chain.append_many(session, stats.audit)
            done.fields_kept += stats.fields_kept
            done.records_moved += len(stats.moves)
            _add_counters(session, task.batch_id, done)
            session.commit()
        except DBAPIError as failed:
            session.rollback()
            if _sqlstate(failed) not in RETRIED or attempt == ATTEMPTS:
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 - a back-off, not a secret
            continue
        return ChunkDone({name: getattr(done, name) for name in BATCH_COUNTERS}, done.rejections, stats.moves)
    raise AssertionError("unreachable")


def parse_sent(
    sent: list[Sent], context: ReadContext | None, parsers: dict[tuple[str, ...], CsvCells]
) -> tuple[list[tuple[int, FeedRow]], list[Rejection]]:
    """The rows as `read_feed` would have given them: each `Unparsed` parsed (by its header's
    `CsvCells`, made once), in the order sent; the rows refused apart."""
    rows: list[tuple[int, FeedRow]] = []
    refused: list[Rejection] = []
    for number, item in sent:
        if isinstance(item, FeedRow):
            rows.append((number, item))
            continue
        parser = parsers.get(item.header)
        if parser is None:
            assert context is not None, "a CSV record sent unparsed needs the task's context"
            parser = parsers[item.header] = CsvCells(item.header, context)
        parsed = parser.parse(number, item.values)
        if isinstance(parsed, Rejection):
            refused.append(parsed)
        else:
            rows.append((number, parsed))
    return rows, refused


def _sqlstate(failed: DBAPIError) -> str | None:
    return getattr(failed.orig, "sqlstate", None)


@dataclass
class Lanes:
    """Which worker each row goes to (see the module's doc)."""

    jobs: int
    # Record ids first seen unlinked, and their worker: every later row under one goes there too.
    unlinked: dict[str, int] = field(default_factory=dict)

    def split(self, session: Session, source: FeedSource, rows: list[Sent]) -> list[list[Sent]]:
        links = read_links(session, source, {row.source_record_id for _n, row in rows} - {""})
        session.rollback()  # ends the read: the loader holds no snapshot while workers write
        lanes: list[list[Sent]] = [[] for _ in range(self.jobs)]
        for number, row in rows:
            lane = self.unlinked.get(row.source_record_id)
            if not row.source_record_id:  # an unparsed row its worker will refuse for its record id
                lane = 0
            if lane is None:
                link = links.get(row.source_record_id)
                if link is not None:
                    lane = link.child_pk % self.jobs
                else:
                    # No date (a row its worker will reject): any lane, remembered as any other.
                    born = row.date_of_birth
                    lane = birthday_lane(born, self.jobs) if born is not None else 0
                    self.unlinked[row.source_record_id] = lane
            lanes[lane].append((number, row))
        return lanes


def birthday_lane(born: dt.date, jobs: int) -> int:
    """The worker of a row the matcher decides: by its year and its day and month as an unordered
    pair, so a date with day and month transposed has the same lane; hashed (CRC-32), so a day's
    births spread over the workers."""
    low, high = sorted((born.day, born.month))
    return zlib.crc32(f"{born.year}-{low}-{high}".encode()) % jobs


class WorkerFailed(Exception):
    """A worker failed or stopped: the load is stopped (what was committed stays)."""


def load_delta_in_parallel(
    session: Session,
    *,
    source: FeedSource,
    batch_id: int,
    parsed: Iterator[Read],
    context: ReadContext,
    jobs: int,
    chunk_rows: int,
    settings: Settings | None,
    mailer: Mailer,
    rejected: Callable[[int, str], None],
    committed: Callable[[ChunkDone], None],
    progress: Callable[[], None] | None,
) -> None:
    """Read `parsed`, hand its rows to `jobs` workers, wait for them (see the module's doc).

    `parsed`: the rows, parsed or (a CSV file's, `format.read_feed_unparsed`) left to the workers
    to parse. `rejected(row, code)`: a row the loader rejected; `committed`: a worker's chunk,
    committed (with the rows its worker rejected).
    Raises `WorkerFailed` (the others stopped) when a worker fails; `FeedRefused` from `parsed`
    once the workers have applied what they were given.
    """
    workers = Workers(session)
    messages = workers.messages
    inboxes: list[Any] = [workers.queue(maxsize=QUEUED) for _ in range(jobs)]
    workers.start(
        jobs,
        "feed-delta",
        delta_worker,
        lambda k: (
            DeltaTask(
                workers.url, source.id, batch_id, (k, jobs), chunk_rows, settings, os.getpid(), context
            ),
            inboxes[k],
            messages,
        ),
    )
    finished: set[int] = set()
    failure: list[str] = []

    def take(wait: float) -> None:
        """Handle the workers' messages (waiting up to `wait` s for the first); notice a dead one."""
        while True:
            try:
                kind, lane_k, payload = messages.get(timeout=wait) if wait else messages.get_nowait()
            except queue.Empty:
                dead = workers.first_stopped(finished)
                if dead is not None and not failure:
                    failure.append(f"worker {dead} stopped")
                return
            wait = 0
            if kind == "chunk":
                committed(payload)
                if payload.moves:
                    notify_moves(session, mailer, payload.moves)  # committed: the teams are told now
                    session.commit()
                if progress is not None:
                    progress()
            elif kind == "failed":
                failure.append(f"worker {lane_k} failed ({payload})")
            else:
                finished.add(lane_k)

    def send(lane_k: int, item: list[Sent] | None) -> None:
        while not failure:
            try:
                inboxes[lane_k].put(item, timeout=0.2)
                return
            except queue.Full:
                take(0.2)

    lanes = Lanes(jobs)
    refused: FeedRefused | None = None
    try:
        try:
            chunk: list[Sent] = []
            for number, item in parsed:
                if isinstance(item, Rejection):
                    rejected(item.row, item.code)
                    continue
                chunk.append((number, item))
                if len(chunk) >= chunk_rows:
                    for lane_k, part in enumerate(lanes.split(session, source, chunk)):
                        if part:
                            send(lane_k, part)
                    chunk = []
                    take(0)
                    if failure:
                        break
            if chunk and not failure:
                for lane_k, part in enumerate(lanes.split(session, source, chunk)):
                    if part:
                        send(lane_k, part)
        except FeedRefused as stopped:  # the rows before it are applied, as by one process
            refused = stopped
        for lane_k in range(jobs):
            send(lane_k, None)  # the end of the rows
        while len(finished) < jobs and not failure:
            take(1.0)
    except BaseException:
        failure.append("the loader stopped")
        raise
    finally:
        workers.stop(failed=bool(failure))
        # What the workers committed before they stopped (a message cut short by a stopped worker
        # is dropped: the batch's counters are complete, `load._load_delta_in_parallel`).
        with contextlib.suppress(EOFError, OSError, ValueError):
            take(0)
        for inbox in [*inboxes, messages]:
            inbox.cancel_join_thread()
            inbox.close()
    if failure:
        raise WorkerFailed(failure[0])
    if refused is not None:
        raise refused
