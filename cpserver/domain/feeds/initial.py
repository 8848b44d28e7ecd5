"""The initial load: a source's first full extract into a directory that holds no children yet.

`load_feed(..., initial=True)` (`cpserver feed load --initial`) is the same load as the ordinary one
(the same reader and its rejections, the same field-by-field rule, provenance, source-record links,
former names, carers, services, school/GP codes, ContactPoint IDs that were never issued, the same
batch report), with two differences that make it about ten times faster:

- **No matching.** The directory holds no child to match when the load starts, and a source's full
  extract holds one row per child; a row is not matched against the rows before it in the file. (The
  ordinary path would match a child sent twice under two record ids; the initial path makes two.)
  A record id sent twice is still one child: a chunk that repeats a record id, or names one an
  earlier chunk linked, goes through the ordinary path.
- **Bulk writes.** Each chunk's rows are built in memory (children with keys taken from the
  sequence up front) and written with one `COPY` per table on PostgreSQL, one `executemany` per
  table on SQLite, instead of the ORM's insert-then-update.

The search indexes are dropped and rebuilt around it, and `--jobs N` loads shares of the file in N
processes: see `parallel.py`.

It is refused (`initial_load_not_empty`, nothing written) when the directory holds any child or the
source has any record linked. A crashed initial load is completed by running the same file through
the ordinary path (`cpserver feed load` without `--initial`): every row already written is then
"unchanged" and costs a digest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import queue
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from types import SimpleNamespace
from typing import Any, Final, cast

from sqlalchemy import Column, Engine, func, inspect, select, text, update
from sqlalchemy.orm import Session

from cpserver.domain.errors import conflict
from cpserver.domain.feeds.apply import (
    ApplyStats,
    BulkWrites,
    RowRejected,
    apply_to_child,
    code_id,
    new_child_values,
    new_cp_ids,
)
from cpserver.domain.feeds.rows import FeedRow
from cpserver.store.bulk_load import write_columns, write_rows
from cpserver.store.models import (
    Carer,
    Child,
    EducationSetting,
    FeedBatch,
    FeedSource,
    FieldProvenance,
    FormerName,
    GpPractice,
    Involvement,
    LocalAuthority,
    RetiredCpId,
    SourceRecord,
)


def refuse_unless_empty(session: Session, source: FeedSource) -> None:
    """Raise `initial_load_not_empty` unless the directory has no child and `source` no record."""
    if session.scalar(select(Child.id).limit(1)) is not None or (
        session.scalar(select(SourceRecord.id).where(SourceRecord.source_id == source.id).limit(1))
        is not None
    ):
        raise conflict(
            "initial_load_not_empty",
            "An initial load needs a directory with no children and a source with no records yet; "
            "load this file without --initial (rows are then matched to the children already held).",
        )


def child_keys(session: Session, count: int) -> list[int]:
    """`count` new keys for children, taken before the rows are written."""
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('children', 'id')) FROM generate_series(1, :n)"),
                {"n": count},
            )
        )
    # SQLite: the writer holds the database's write lock for the transaction.
    highest = session.scalar(select(func.coalesce(func.max(Child.id), 0))) or 0
    return list(range(highest + 1, highest + 1 + count))


@dataclass
class PreparedChunk:
    """A chunk's rows for every table, ready to write; `record_ids`/`cp_ids`: what it will hold."""

    tables: list[tuple[Any, list[dict[str, Any]]]]
    created: int
    record_ids: set[str]
    cp_ids: set[str]


def prepare_chunk(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    rows: list[tuple[int, FeedRow]],
    now: dt.datetime,
    reject: Callable[[int, str], None],
    taken: Collection[str] = (),
    lane: tuple[int, int] = (0, 1),
) -> PreparedChunk:
    """Apply `rows` as new children, in memory; `reject(number, code)` counts a rejected row.

    `taken`: ContactPoint IDs drawn for chunks not written yet (never drawn again); `lane`: this
    loader's share of the IDs when several load at once (see `new_cp_ids`).
    """
    stats = ApplyStats(bulk=BulkWrites())
    assert stats.bulk is not None
    keys = iter(child_keys(session, len(rows)))
    cp_ids = iter(new_cp_ids(session, len(rows), exclude=taken, lane=lane))
    children: list[SimpleNamespace] = []
    # Plain copies of the source's and batch's columns the rule reads (ten times a child): an ORM
    # attribute costs a descriptor call each time it is read.
    plain_source = cast(FeedSource, _plain_copy(source, FeedSource))
    plain_batch = cast(FeedBatch, SimpleNamespace(id=batch.id))
    with session.no_autoflush:
        for number, row in rows:
            try:
                code_id(session, EducationSetting, row.education_setting, "unknown_education_setting")
                code_id(session, GpPractice, row.gp_practice, "unknown_gp_practice")
                authority = row.local_authority
                authority_id = code_id(session, LocalAuthority, authority, "unknown_local_authority")
                # A plain object, not a `Child`: the rule sets its attributes without the ORM's
                # instrumentation, and its columns are read back for the bulk write.
                child = SimpleNamespace(
                    **(BLANK_CHILD | new_child_values(row, authority_id, next(cp_ids))), id=next(keys)
                )
                apply_to_child(
                    session, plain_source, plain_batch, row, cast(Child, child), now, None, stats, True, False
                )
            except RowRejected as rejected:
                reject(number, rejected.code)
                continue
            children.append(child)
    bulk = stats.bulk
    return PreparedChunk(
        tables=[
            (Child, [vars(child) for child in children]),
            (FormerName, bulk.former_names),
            (FieldProvenance, bulk.provenance),
            (Carer, bulk.carers),
            (Involvement, bulk.involvements),
            (SourceRecord, bulk.links),
        ],
        created=len(children),
        record_ids=set(map(itemgetter("source_record_id"), bulk.links)),
        cp_ids=set(map(attrgetter("cp_id"), children)),
    )


def _plain_copy(item: Any, model: Any) -> SimpleNamespace:
    """`item`'s column values (of `model`) as a plain object."""
    return SimpleNamespace(**{prop.key: getattr(item, prop.key) for prop in inspect(model).column_attrs})


def check_no_retired_ids(session: Session) -> None:
    """The retired-ID trigger's rule, checked again once for the whole initial load."""
    if (
        session.scalar(select(Child.id).join(RetiredCpId, RetiredCpId.cp_id == Child.cp_id).limit(1))
        is not None
    ):
        raise RuntimeError("the initial load wrote a child with a retired ContactPoint ID")


def write_chunk(session: Session, prepared: PreparedChunk) -> None:
    """Write a prepared chunk (children first) by COPY / executemany, in the session's transaction."""
    for model, rows in prepared.tables:
        write_models(session, model, rows)


# The cyclic collector's thresholds during an initial load: a chunk makes hundreds of thousands of
# short-lived containers (dicts, rows) that reference counting frees; with the default thresholds
# (700, 10, 10) the collector walks the young ones every 700 and the whole heap often, about a
# fifth of the loader's time, for no garbage. Measured: 42-55 µs a row to prepare instead of 60-72.
BULK_GC_THRESHOLD: Final = (100_000, 50, 100)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a bulk load runs (the thresholds above)."""
    before = gc.get_threshold()
    gc.set_threshold(*BULK_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class BackgroundWriter:
    """PostgreSQL: writes each prepared chunk (and the batch's counters) on a connection of its own,
    one transaction a chunk, while the loader prepares the next one: the database's work and
    Python's overlap, on two cores. At most one chunk waits; an error stops the load at the next
    `put` (the chunks committed stay, as after a crash).
    """

    def __init__(self, engine: Engine, batch_id: int) -> None:
        self._engine = engine
        self._batch_id = batch_id
        self._queue: queue.Queue[tuple[PreparedChunk, dict[str, Any]] | None] = queue.Queue(maxsize=1)
        self._lock = threading.Lock()
        self._in_flight: list[PreparedChunk] = []
        self.error: BaseException | None = None
        # Triggers and foreign keys run as for any write (no `session_replication_role = replica`):
        # a trigger may maintain facts other tables rely on (the household shield's).
        self._thread = threading.Thread(target=self._run, name="feed-initial-writer", daemon=True)
        # For the load's length: it ends with `close`.
        self._collections: contextlib.AbstractContextManager[None] | None = fewer_collections()
        self._collections.__enter__()
        self._thread.start()

    def put(self, prepared: PreparedChunk, counters: dict[str, Any]) -> None:
        self._raise()
        with self._lock:
            self._in_flight.append(prepared)
        self._queue.put((prepared, counters))

    def pending_record_ids(self) -> set[str]:
        with self._lock:
            return set().union(*(chunk.record_ids for chunk in self._in_flight))

    def pending_cp_ids(self) -> set[str]:
        with self._lock:
            return set().union(*(chunk.cp_ids for chunk in self._in_flight))

    def drain(self) -> None:
        """Wait until every chunk handed over is committed."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._collections is not None:
            self._collections.__exit__(None, None, None)
            self._collections = None
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise RuntimeError("the initial load's writer failed") from self.error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self.error is not None:
                    continue  # drop the rest: the loader stops at its next `put`
                prepared, counters = item
                with Session(self._engine) as session:
                    write_chunk(session, prepared)
                    session.execute(
                        update(FeedBatch).where(FeedBatch.id == self._batch_id).values(**counters)
                    )
                    session.commit()
                with self._lock:
                    self._in_flight.remove(prepared)
            except BaseException as failed:  # handed to the loader's thread
                self.error = failed
            finally:
                self._queue.task_done()


BLANK_CHILD: dict[str, Any] = {prop.key: None for prop in inspect(Child).column_attrs if prop.key != "id"}


def write_models(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Write `rows` (attribute names → values) into `model`'s table by COPY / executemany.

    Values go through each column's own bind processing (dates, JSON, UTC datetimes), and a column
    a row leaves unset gets its Python default, so the stored rows are those the ORM would write.
    Built a column at a time (one list per column, not one tuple per row): on PostgreSQL the
    columns become one COPY text buffer (`write_columns`), the cheapest form to build in Python.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names: list[str] = []
    values: list[list[Any]] = []
    first = rows[0]
    for prop in inspect(model).column_attrs:
        column = prop.columns[0]
        key = prop.key
        if key not in first and (column.primary_key or column.default is None):
            continue  # the key from its sequence; a server default
        names.append(column.name)
        values.append(_column_values(rows, key, column, column.type.bind_processor(dialect)))
    table = model.__table__.name
    if dialect.name == "postgresql":
        write_columns(connection, table, names, values)
    else:
        write_rows(connection, table, names, list(zip(*values, strict=True)))


def _column_values(rows: list[dict[str, Any]], key: str, column: Column[Any], process: Any) -> list[Any]:
    """One column's values for `rows`: the row's (or the column's default), bind-processed."""
    try:
        found = list(map(itemgetter(key), rows))
    except KeyError:  # a row leaves it unset
        found = [values.get(key) for values in rows]
    default = column.default
    if default is not None and None in found:
        made = default.arg if default.is_callable else None  # type: ignore[attr-defined]
        fixed = default.arg  # type: ignore[attr-defined]
        found = [
            value if value is not None else (made(None) if made is not None else fixed) for value in found
        ]
    if process is None:
        return found
    try:  # each distinct value converted once: a chunk repeats the same dates, times and codes
        done = {value: process(value) for value in dict.fromkeys(found) if value is not None}
    except TypeError:  # unhashable (a JSON list): value by value
        return [None if value is None else process(value) for value in found]
    done[None] = None
    return list(map(done.__getitem__, found))
