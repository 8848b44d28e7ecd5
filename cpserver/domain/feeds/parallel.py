"""The initial load with several loaders (`cpserver feed load --initial --jobs N`), and its indexes.

**Jobs.** On PostgreSQL, N worker processes each read the whole file but parse and load only their
share of it: the chunks (of `chunk_rows` row numbers) whose index is k modulo N. Each worker does
what the one-process initial path does with its chunks (`prepare_chunk`, COPY, commit a chunk at a
time with the batch's counters added to in the same transaction), so a crash leaves whole chunks,
each child with its source-record link, and the same file loaded again without `--initial` completes
the load (every row already written is then "unchanged"). ContactPoint IDs cannot collide between
workers: worker k draws only IDs whose number is k modulo N (`new_cp_ids`' lane), each checked
against the children and the retired IDs. A chunk naming a record id that is already linked, or that
repeats one, goes through the ordinary path (matching, the field-by-field rule); so does a chunk
whose COPY meets a record id another worker linked meanwhile (the unique index refuses it, the
chunk is rolled back and applied again). With N workers, which of two rows sent under one record id
in distant parts of the file is applied last is not the file's order (the winning rule still
decides each field). The parent process reads the file once for its digest, shows progress, merges
the workers' reports (counts, rejections by row number) and tells the management teams of moves.
Triggers and foreign keys run as for any write.

**Indexes.** A first load into an empty children table drops the search indexes of the bulk tables
(non-unique ones only: no unique index, no trigger is touched) and, on PostgreSQL, the foreign keys
of the tables it writes, loads, and rebuilds them from their exact definitions before the command
ends (each foreign key validated once over its whole table). The definitions are kept in
`system_settings` (`feeds.dropped_index.<n>`, then `feeds.dropped_index.fk.<n>`) in the same
transaction as the drop, and every feed load first rebuilds any index (and key) kept there: after
a crash, the next load (the same file without `--initial`) puts them back before it matches anything.
On PostgreSQL the rebuild is shared by `--jobs` connections (`restore_search_indexes`): the
indexes side by side, then the keys, added unvalidated at once and validated table by table.
"""

from __future__ import annotations

import io
import os
import queue
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cpserver.audit import chain
from cpserver.domain.feeds.apply import ApplyStats, BulkWrites, Move
from cpserver.domain.feeds.format import FeedRefused, Format, ReadContext, Rejection, read_feed
from cpserver.domain.feeds.initial import prepare_chunk, write_chunk
from cpserver.domain.feeds.load import BATCH_COUNTERS
from cpserver.domain.feeds.rows import FeedRow
from cpserver.domain.feeds.workers import LoaderGone, Workers, run_worker
from cpserver.store.bulk_load import drop_foreign_keys, drop_secondary_indexes
from cpserver.store.models import FeedBatch, FeedSource, SystemSetting, utcnow

DROPPED_INDEX: Final = "feeds.dropped_index."
DROPPED_FOREIGN_KEY: Final = f"{DROPPED_INDEX}fk."
# Each rebuilding connection's memory to sort in (PostgreSQL's `maintenance_work_mem`, which also
# serves a foreign key's validating join); the server's default, 64 MB, sorts 11M rows on disk.
REBUILD_MEMORY: Final = "512MB"
_ADD_KEY: Final = re.compile(r'^ALTER TABLE (\S+) ADD CONSTRAINT "([^"]+)" ')
_VALIDATE_KEY: Final = re.compile(r'^ALTER TABLE (\S+) VALIDATE CONSTRAINT "([^"]+)"$')
_INDEX_ON: Final = re.compile(r" ON (?:ONLY )?(?:public\.)?(\S+) USING ")
# The tables an initial load writes (their own foreign keys are dropped during it).
INITIAL_TABLES: Final = (
    "children",
    "carers",
    "involvements",
    "former_names",
    "field_provenance",
    "source_records",
)


# --- indexes -----------------------------------------------------------------------------------


def drop_search_indexes(session: Session) -> None:
    """Drop the bulk tables' non-unique indexes, and on PostgreSQL the foreign keys of the tables
    an initial load writes, keeping their definitions; commits.

    The foreign keys are checked row by row otherwise (a query per row: about forty a child, as
    much of the database's time as the rows themselves); re-added, each is validated once over the
    whole table. Kept as `ALTER TABLE ... ADD CONSTRAINT` statements, after the indexes' (`fk.`
    sorts after the numbers): rebuilt in that order. Triggers are never touched.
    """
    restore_search_indexes(session)  # a crashed load's first
    connection = session.connection()
    for number, definition in enumerate(drop_secondary_indexes(connection)):
        session.add(SystemSetting(key=f"{DROPPED_INDEX}{number:04d}", value=definition))
    if connection.dialect.name == "postgresql":
        dropped = drop_foreign_keys(connection, INITIAL_TABLES)
        for number, (table, name, definition) in enumerate(dropped):
            statement = f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            session.add(SystemSetting(key=f"{DROPPED_FOREIGN_KEY}{number:04d}", value=statement))
    session.commit()


def restore_search_indexes(session: Session, *, jobs: int = 1) -> int:
    """Rebuild every index (then foreign key) a (crashed) initial load dropped; commits. Returns how
    many.

    On PostgreSQL the work is shared by `jobs` connections (at least one), each with
    `REBUILD_MEMORY` to sort in, biggest table first: the indexes, each alone; then every foreign
    key added `NOT VALID` (a catalogue change, at once); then the keys validated, one table's keys
    on one connection (a table's validations would wait for each other). Each step commits with the
    removal of its kept definition (an added key's is replaced by its `VALIDATE`), so a crash
    leaves only what is still to do. On SQLite, one transaction rebuilds them all.

    Then the tables an initial load writes are analysed (`ANALYZE`, on PostgreSQL a table a lane):
    a first load leaves them with no statistics, and the planner, guessing, read the source
    records, the children and their provenance by plans that took about a second a statement at
    11M children (a 200,000-row delta took 245-251 s; 154.5 s once analysed). Autovacuum would
    analyse them eventually where it is on (the CI machine's server has it off).
    """
    kept = sorted(
        session.execute(
            select(SystemSetting.key, SystemSetting.value).where(SystemSetting.key.startswith(DROPPED_INDEX))
        )
        .tuples()
        .all()
    )
    if not kept:
        return 0
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        for _key, definition in kept:
            connection.exec_driver_sql(definition)
        session.execute(delete(SystemSetting).where(SystemSetting.key.startswith(DROPPED_INDEX)))
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")  # as the seed's bulk load
        for table in INITIAL_TABLES:
            connection.exec_driver_sql(f"ANALYZE {table}")
        session.commit()
        return len(kept)
    engine = connection.engine
    sizes = dict(
        connection.execute(
            text(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        )
        .tuples()
        .all()
    )
    session.commit()  # the lanes take their locks on their own connections
    indexes = [(key, value) for key, value in kept if not key.startswith(DROPPED_FOREIGN_KEY)]
    keys = [(key, value) for key, value in kept if key.startswith(DROPPED_FOREIGN_KEY)]
    _in_lanes(engine, [[item] for item in indexes], jobs, lambda task: sizes.get(_table_of(task[0][1]), 0))
    validations: dict[str, list[tuple[str, str]]] = {}
    with engine.begin() as adding:
        for key, kept_statement in keys:
            table, name = _table_of(kept_statement), _constraint_of(kept_statement)
            statement = kept_statement
            if _ADD_KEY.match(kept_statement):
                adding.exec_driver_sql(f"{kept_statement} NOT VALID")
                statement = f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"'
                adding.execute(update(SystemSetting).where(SystemSetting.key == key).values(value=statement))
            validations.setdefault(table, []).append((key, statement))
    _in_lanes(engine, list(validations.values()), jobs, lambda task: sizes.get(_table_of(task[0][1]), 0))
    statistics = [[("", f"ANALYZE {table}")] for table in INITIAL_TABLES]
    _in_lanes(engine, statistics, jobs, lambda task: sizes.get(task[0][1].split()[-1], 0))
    return len(kept)


def _table_of(statement: str) -> str:
    found = _ADD_KEY.match(statement) or _VALIDATE_KEY.match(statement) or _INDEX_ON.search(statement)
    if found is None:
        raise ValueError("not a kept index or foreign key statement")
    return found.group(1).removeprefix("public.")


def _constraint_of(statement: str) -> str:
    found = _ADD_KEY.match(statement) or _VALIDATE_KEY.match(statement)
    if found is None:
        raise ValueError("not a kept foreign key statement")
    return found.group(2)


def _in_lanes(
    engine: Any, tasks: list[list[tuple[str, str]]], jobs: int, size: Callable[[list[tuple[str, str]]], int]
) -> None:
    """Run each task's statements in order on one connection, `jobs` tasks at a time, biggest
    first; each statement commits with the removal of its kept key (if it has one: not an
    `ANALYZE`). The first failure is raised once the running tasks end (no new task starts after
    it)."""
    failed: list[BaseException] = []

    def run(task: list[tuple[str, str]]) -> None:
        for key, statement in task:
            if failed:
                return
            with engine.begin() as lane:
                lane.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{REBUILD_MEMORY}'")
                lane.exec_driver_sql(statement)
                if key:
                    lane.execute(delete(SystemSetting).where(SystemSetting.key == key))

    def guarded(task: list[tuple[str, str]]) -> None:
        try:
            run(task)
        except BaseException as error:
            failed.append(error)

    ordered = sorted(tasks, key=size, reverse=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="rebuild") as pool:
        list(pool.map(guarded, ordered))
    if failed:
        raise failed[0]


# --- workers -----------------------------------------------------------------------------------


@dataclass
class SliceTask:
    """One worker's share of the file (picklable: it crosses to a new process)."""

    url: str
    source_id: int
    batch_id: int
    path: str
    fmt: Format
    context: ReadContext
    lane: tuple[int, int]
    chunk_rows: int
    # The loader's process id: a worker whose loader is gone (killed, crashed) stops at its next
    # chunk, so nothing goes on writing that no loader will report, restore indexes for, or stop.
    loader_pid: int | None = None


@dataclass
class SliceResult:
    """What a worker did: counters, rejections (row numbers and codes), moves to tell."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BATCH_COUNTERS, 0))
    rejections: list[dict[str, Any]] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    refused: str | None = None


def load_slice(task: SliceTask, messages: Any) -> None:
    """A worker process's body: load its chunks, report progress and the result on `messages`."""
    lane_k = task.lane[0]
    run_worker(
        task.url,
        lane_k,
        messages,
        lambda session: _load_slice(session, task, lambda done: messages.put(("progress", lane_k, done))),
    )


def _load_slice(session: Session, task: SliceTask, progress: Callable[[int], None]) -> SliceResult:
    from cpserver.domain.feeds.load import LoadReport, _all_new_records, _chunks, _load_chunk

    lane_k, lanes = task.lane
    size = task.chunk_rows
    source = session.get(FeedSource, task.source_id)
    batch = session.get(FeedBatch, task.batch_id)
    assert source is not None and batch is not None
    result = SliceResult()
    with open(task.path, "rb") as stream:
        parsed = read_feed(
            io.BufferedReader(stream, buffer_size=256 * 1024),
            task.fmt,
            task.context,
            keep=lambda number: ((number - 1) // size) % lanes == lane_k,
        )
        try:
            for chunk in _chunks(parsed, size):
                if task.loader_pid is not None and os.getppid() != task.loader_pid:
                    session.rollback()
                    raise LoaderGone()
                rows = [(n, r) for n, r in chunk if isinstance(r, FeedRow)]
                done: LoadReport | None = None
                stats = ApplyStats(bulk=BulkWrites(), audit=[])
                if _all_new_records(session, source, rows):
                    done = LoadReport(batch_id=batch.id)
                    _count_rejections(done, chunk)
                    done.rows_read += len(rows)
                    prepared = prepare_chunk(
                        session, source, batch, rows, utcnow(), done.reject, lane=task.lane
                    )
                    done.rows_created += prepared.created
                    try:
                        write_chunk(session, prepared)
                        _add_counters(session, batch.id, done)
                        session.commit()
                    except Exception as failed:
                        if not _unique_violation(failed):
                            raise
                        session.rollback()  # a record id another worker linked meanwhile
                        done = None
                if done is None:
                    done = LoadReport(batch_id=batch.id)
                    _count_rejections(done, chunk)
                    _load_chunk(session, source, batch, rows, done, stats, utcnow())
                    assert stats.bulk is not None and stats.audit is not None
                    stats.bulk.write(session)
                    chain.append_many(session, stats.audit)
                    done.fields_kept += stats.fields_kept
                    done.records_moved += len(stats.moves)
                    _add_counters(session, batch.id, done)
                    session.commit()
                    result.moves.extend(stats.moves)
                for name in BATCH_COUNTERS:
                    result.counts[name] += getattr(done, name)
                result.rejections.extend(done.rejections)
                progress(done.rows_read)
        except FeedRefused as refused:
            session.rollback()
            result.refused = refused.code
    return result


def _unique_violation(failed: Exception) -> bool:
    """A unique index refused the write (SQLAlchemy's error, or the driver's from a COPY)."""
    if isinstance(failed, IntegrityError):
        return True
    return getattr(failed, "sqlstate", None) == "23505"


def _count_rejections(report: Any, chunk: list[Any]) -> None:
    for _number, item in chunk:
        if isinstance(item, Rejection):
            report.rows_read += 1
            report.reject(item.row, item.code)


def _add_counters(session: Session, batch_id: int, done: Any) -> None:
    session.execute(
        update(FeedBatch)
        .where(FeedBatch.id == batch_id)
        .values({name: getattr(FeedBatch, name) + getattr(done, name) for name in BATCH_COUNTERS})
    )


def load_in_parallel(
    session: Session,
    *,
    source: FeedSource,
    batch: FeedBatch,
    path: Path,
    fmt: Format,
    context: ReadContext,
    jobs: int,
    chunk_rows: int,
    progress: Callable[[int], None] | None,
) -> SliceResult:
    """Run `jobs` workers over the file at `path` and merge what they did (see the module's doc).

    Raises `RuntimeError` (after stopping the others) when a worker fails; what the workers
    committed stays, as after a crash.
    """
    workers = Workers(session)
    workers.start(
        jobs,
        "feed-initial",
        load_slice,
        lambda k: (
            SliceTask(
                workers.url, source.id, batch.id, str(path), fmt, context, (k, jobs), chunk_rows, os.getpid()
            ),
            workers.messages,
        ),
    )
    messages = workers.messages
    merged = SliceResult()
    finished: set[int] = set()
    read = 0
    failure: str | None = None
    try:
        while len(finished) < jobs and failure is None:
            try:
                kind, lane_k, payload = messages.get(timeout=1.0)
            except queue.Empty:
                dead = workers.first_stopped(finished)
                if dead is not None:
                    failure = f"worker {dead} stopped"
                continue
            if kind == "progress":
                read += payload
                if progress is not None:
                    progress(read)
            elif kind == "failed":
                failure = f"worker {lane_k}: {payload}"
            else:
                finished.add(lane_k)
                for name in BATCH_COUNTERS:
                    merged.counts[name] += payload.counts[name]
                merged.rejections.extend(payload.rejections)
                merged.moves.extend(payload.moves)
                merged.refused = merged.refused or payload.refused
    finally:
        workers.stop(failed=failure is not None)
        messages.close()
    if failure is not None:
        raise RuntimeError(f"the initial load's {failure}")
    merged.rejections.sort(key=lambda item: int(item["row"]))
    return merged
