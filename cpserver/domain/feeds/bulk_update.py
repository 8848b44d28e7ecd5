"""Many rows of one table updated by key in one statement (a feed delta's changed children).

On PostgreSQL `update_rows` sends one `UPDATE ... FROM unnest(array, ...)` per set of changed
columns, one array parameter per column (not one parameter per value: a thousand rows cost one
statement, one plan, one round trip); on SQLite an `executemany`. Values go through each column's
own bind processing, so the stored values are those the ORM would write; triggers fire as for any
UPDATE.

`BulkChildUpdates` is a `before_flush` hook for the loader's session: the changed columns of the
`Child` and `SourceRecord` objects about to be flushed are written this way, then marked as
committed, so the ORM's flush has nothing left to send for them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import JSON, Table, bindparam, event, inspect, text
from sqlalchemy.orm import ColumnProperty, InstanceState, Mapper, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from cpserver.store.models import Child, SourceRecord
from cpserver.store.types import uncollated

BATCH: Final = 1_000


def update_rows(session: Session, table: Table, keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """Set each row's non-key columns (column names → values) where its `keys` columns match.

    Rows may name different columns; they are sent grouped by the columns they name.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(name for name in row if name not in keys)), []).append(row)
    connection = session.connection()
    dialect = connection.dialect
    for names, members in groups.items():
        if not names:
            continue
        columns = [table.c[name] for name in (*keys, *names)]
        for start in range(0, len(members), BATCH):
            part = members[start : start + BATCH]
            if dialect.name != "postgresql":
                where = " AND ".join(f"{key} = :k_{key}" for key in keys)
                sets = ", ".join(f"{name} = :v_{name}" for name in names)
                sql = f"UPDATE {table.name} SET {sets} WHERE {where}"  # noqa: S608 - names from the table
                statement = text(sql).bindparams(
                    *(bindparam(f"k_{c.name}", type_=c.type) for c in columns[: len(keys)]),
                    *(bindparam(f"v_{c.name}", type_=c.type) for c in columns[len(keys) :]),
                )
                connection.execute(
                    statement,
                    [
                        {**{f"k_{k}": row[k] for k in keys}, **{f"v_{n}": row[n] for n in names}}
                        for row in part
                    ],
                )
                continue
            arrays: dict[str, Any] = {}
            casts: list[str] = []
            unnested: list[str] = []
            sets_pg: list[str] = []
            for number, column in enumerate(columns):
                values = [row[column.name] for row in part]
                first = values[0]
                if (
                    number >= len(keys)
                    and not isinstance(column.type, JSON)
                    and all(type(value) is type(first) and value == first for value in values)
                ):
                    # The same value for every row (a chunk's batch, source and time): one
                    # parameter, not an array of copies to build, send and unnest.
                    process = column.type.bind_processor(dialect)
                    arrays[f"a{number}"] = (
                        process(first) if process is not None and first is not None else first
                    )
                    sql_type = uncollated(column.type).compile(dialect=dialect)
                    sets_pg.append(f"{column.name} = CAST(:a{number} AS {sql_type})")
                    continue
                if isinstance(column.type, JSON):
                    arrays[f"a{number}"] = [None if v is None else json.dumps(v) for v in values]
                    casts.append(f"CAST(:a{number} AS TEXT[])")
                    value_sql = f"CAST(v.c{number} AS JSON)"
                else:
                    process = column.type.bind_processor(dialect)
                    arrays[f"a{number}"] = [
                        process(v) if process is not None and v is not None else v for v in values
                    ]
                    casts.append(f"CAST(:a{number} AS {uncollated(column.type).compile(dialect=dialect)}[])")
                    value_sql = f"v.c{number}"
                unnested.append(f"c{number}")
                if number >= len(keys):
                    sets_pg.append(f"{column.name} = {value_sql}")
            where_pg = " AND ".join(f"t.{key} = v.c{number}" for number, key in enumerate(keys))
            aliases = ", ".join(unnested)
            connection.execute(
                text(
                    f"UPDATE {table.name} AS t SET {', '.join(sets_pg)} "  # noqa: S608
                    f"FROM unnest({', '.join(casts)}) AS v({aliases}) WHERE {where_pg}"
                ),
                arrays,
            )


class BulkChildUpdates:
    """While installed on a session, its flushes write changed children and source-record links
    with `update_rows` (see the module's doc). Use as a context manager around a chunk."""

    MODELS: Final = (Child, SourceRecord)

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> BulkChildUpdates:
        event.listen(self.session, "before_flush", self._before_flush)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.session, "before_flush", self._before_flush)

    def _before_flush(self, session: Session, _context: Any, _instances: Any) -> None:
        write(session)


@functools.cache
def _column_props(mapper: Mapper[Any]) -> dict[str, ColumnProperty[Any]]:
    return {prop.key: prop for prop in mapper.column_attrs}


def write(session: Session) -> None:
    """Write the pending column changes of the session's `Child`/`SourceRecord` objects in bulk."""
    pending: dict[Any, list[tuple[Any, dict[str, Any], dict[str, Any]]]] = {}
    for obj in list(session.dirty):
        if not isinstance(obj, BulkChildUpdates.MODELS):
            continue
        state: InstanceState[Any] = inspect(obj)
        if not state.persistent:
            continue
        mapper = state.mapper
        changes: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        # Only an attribute set since the last flush has a history (its old value is kept in
        # `committed_state`): those are looked at, not every column (`state.attrs` builds a
        # mapping of every attribute at each call).
        columns = _column_props(mapper)
        for key in list(state.committed_state):
            prop = columns.get(key)
            if prop is None:
                continue
            history = state.get_history(key, PASSIVE_NO_INITIALIZE)
            if history.added or history.deleted:
                if not history.added:
                    break  # a value removed without a new one: left to the ORM
                value = history.added[0]
                changes[prop.columns[0].name] = value
                attributes[prop.key] = value
        else:
            if changes:
                pending.setdefault(mapper, []).append((obj, changes, attributes))
    for mapper, items in pending.items():
        table = mapper.local_table
        keys = [column.name for column in mapper.primary_key]
        rows = []
        for obj, changes, _attributes in items:
            identity = inspect(obj).identity
            rows.append(dict(zip(keys, identity, strict=True)) | changes)
        update_rows(session, table, keys, rows)
        for obj, _changes, attributes in items:
            for key, value in attributes.items():
                set_committed_value(obj, key, value)
