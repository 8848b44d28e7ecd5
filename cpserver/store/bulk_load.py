"""Bulk loading: rows written the fastest way each database takes them, indexes and foreign keys aside.

PostgreSQL takes rows through `COPY`, SQLite through `executemany` on the driver: both measured about
twice as fast as Core inserts with per-row dictionaries. During the load (`BulkLoad`) the bulk tables'
search indexes are dropped, foreign keys and triggers (the retired ContactPoint IDs) are checked once
at the end rather than per row, which roughly halves the time again at a million children (the
carers' copy of their child's shield, which triggers keep, is set for the whole tables at the end).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from cpserver.store.household_facts import resync_carer_shields

# Rows hold database-ready values: dates as ISO text, booleans as 0/1, JSON as text. SQLite stores them
# exactly as SQLAlchemy would; PostgreSQL's COPY parses them into its own types.
Row = tuple[Any, ...]

BULK_TABLES: Final = ("children", "carers", "involvements", "former_names")
_SEEDED_TABLES: Final = (
    "local_authorities",
    "organisations",
    "education_settings",
    "gp_practices",
    "users",
    *BULK_TABLES,
)


class BulkLoad:
    """Loading mode for one connection, as both databases' manuals advise for bulk loads.

    While loading, the bulk tables' non-unique indexes are dropped and foreign keys are not checked
    row by row; on leaving, the indexes are rebuilt from their exact original definitions, foreign keys
    are checked for the whole tables at once (PostgreSQL re-adds and validates its constraints, SQLite
    runs `foreign_key_check`), the ids' sequences are moved past the seeded rows and the query planner
    gets fresh statistics.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.indexes: list[str] = []
        self.foreign_keys: list[tuple[str, str, str]] = []
        self.triggers: list[str] = []

    def __enter__(self) -> BulkLoad:
        connection = self.connection
        if not self.postgresql:
            # Connection-level pragmas, set on the driver's connection outside any transaction
            # (foreign_keys cannot change inside one, and this engine may begin every one IMMEDIATE).
            self._sqlite_pragmas(foreign_keys="OFF", cache_kib=262_144)
        with connection.begin():
            self.indexes = drop_secondary_indexes(connection)
            if self.postgresql:
                self.foreign_keys = drop_foreign_keys(connection, BULK_TABLES)
                for table in BULK_TABLES:
                    connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                self.triggers = _drop_triggers(connection)
        return self

    def __exit__(self, *_exc: object) -> None:
        connection = self.connection
        if connection.in_transaction():
            connection.rollback()
        try:
            with connection.begin():
                for statement in self.indexes:
                    connection.exec_driver_sql(statement)
                for table, name, definition in self.foreign_keys:
                    connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                for statement in self.triggers:
                    connection.exec_driver_sql(statement)
                if self.postgresql:
                    for table in BULK_TABLES:
                        connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                # What the triggers would have kept: the carers' copy of their child's shield.
                resync_carer_shields(connection)
                # The triggers' rule, checked once for the whole load: no retired ContactPoint ID.
                if connection.exec_driver_sql(
                    "SELECT 1 FROM children c JOIN retired_cp_ids r ON r.cp_id = c.cp_id LIMIT 1"
                ).first():
                    raise RuntimeError("seeding wrote a child with a retired ContactPoint ID")
                if not self.postgresql:
                    for table in BULK_TABLES:
                        if connection.exec_driver_sql(f"PRAGMA foreign_key_check({table})").first():
                            raise RuntimeError(f"seeding wrote {table} rows that refer to missing rows")
            with connection.begin():
                _finish(connection)
        finally:
            if not self.postgresql:
                if connection.in_transaction():
                    connection.rollback()
                self._sqlite_pragmas(foreign_keys="ON", cache_kib=2_000)

    def _sqlite_pragmas(self, *, foreign_keys: str, cache_kib: int) -> None:
        driver = self.connection.connection.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA foreign_keys={foreign_keys}")
        driver.execute(f"PRAGMA cache_size=-{cache_kib}")
        if driver.execute("PRAGMA foreign_keys").fetchone()[0] != (foreign_keys == "ON"):
            raise RuntimeError("could not set SQLite foreign key checking for the bulk load")


def write_rows(connection: Connection, table: str, columns: Sequence[str], rows: list[Row]) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def write_columns(
    connection: Connection, table: str, columns: Sequence[str], values: list[list[Any]]
) -> None:
    """PostgreSQL: write rows given column by column (`values[i]`: column i's value in each row) with
    one `COPY` of one text buffer, built a column at a time (`copy_text`).

    Cheaper than `write_rows`' per-row `write_row` (psycopg dumps each value in Python): a column of
    text is escaped in one `str.translate` over the whole column, and the rows are joined in C.
    """
    if not values or not values[0]:
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    names = ", ".join(columns)
    with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        copy.write(copy_text(values))


# COPY's text format (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"): a
# backslash, a tab, a newline and a carriage return in a value are escaped; NULL is \N.
_COPY_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL: Final = "\\N"
# A value's text by its Python type (what psycopg's text dumpers write, which PostgreSQL parses
# back to the same stored value). A bool before int: `True` is an int too.
_TEXT_OF: Final[dict[type, Callable[[Any], str]]] = {
    str: lambda value: value.translate(_COPY_ESCAPES),
    bool: lambda value: "t" if value else "f",
    int: int.__repr__,
    float: float.__repr__,
    decimal.Decimal: str,
    dt.date: dt.date.isoformat,
    dt.datetime: dt.datetime.isoformat,
    type(None): lambda _value: _NULL,
}


def copy_text(values: list[list[Any]]) -> str:
    """The COPY text of rows given column by column (every column as long as the first)."""
    texts = [_column_text(column) for column in values]
    return "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"


def _column_text(column: list[Any]) -> list[str] | tuple[str, ...]:
    """One column's values as COPY text. A column of strings is escaped whole: joined on NUL (a
    character PostgreSQL's text never holds), translated once, split again. Any other column is
    converted a distinct value at a time (its dates, flags and codes repeat): its values are of
    the column's one type (or None), so no two distinct values are equal (as `True` and `1` are).
    """
    try:
        joined = "\0".join(column)
    except TypeError:  # not all strings: each distinct value once (a column holds one type)
        texts = {value: _TEXT_OF.get(type(value), _unknown)(value) for value in dict.fromkeys(column)}
        return list(map(texts.__getitem__, column))
    if joined.count("\0") != len(column) - 1:
        raise ValueError("a NUL character cannot be stored in PostgreSQL text")
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        return joined.translate(_COPY_ESCAPES).split("\0")
    return column


def _unknown(value: Any) -> str:
    raise TypeError(f"no COPY text for a {type(value).__name__}")


def drop_secondary_indexes(connection: Connection) -> list[str]:
    """Drop the bulk tables' non-unique, whole-table indexes; return the exact statements that
    recreate them.

    A partial index (shielded children, archived records) is kept: it holds only the rows that meet
    its condition, few in a bulk load and none in a first feed load (a feed shields nobody), so
    keeping it up costs a test of each row, where rebuilding it would read the whole table (five
    such indexes: five reads of 11M children and their carers at the end of a national load).
    """
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            text(
                "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                "JOIN pg_class c ON c.oid = x.indexrelid "
                "WHERE x.indrelid::regclass::text IN :tables AND NOT x.indisunique "
                "AND x.indpred IS NULL ORDER BY c.relname"
            ).bindparams(bindparam("tables", expanding=True)),
            {"tables": list(BULK_TABLES)},
        ).all()
    else:
        found = connection.execute(
            text(
                "SELECT m.name, m.sql FROM sqlite_master m "
                "JOIN pragma_index_list(m.tbl_name) i ON i.name = m.name "
                "WHERE m.type = 'index' AND m.sql IS NOT NULL AND m.tbl_name IN :tables "
                "AND i.[unique] = 0 AND i.partial = 0 ORDER BY m.name"
            ).bindparams(bindparam("tables", expanding=True)),
            {"tables": list(BULK_TABLES)},
        ).all()
    for name, _definition in found:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def _drop_triggers(connection: Connection) -> list[str]:
    """SQLite: drop the bulk tables' triggers; return the exact statements that recreate them."""
    found = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :tables ORDER BY name"
        ).bindparams(bindparam("tables", expanding=True)),
        {"tables": list(BULK_TABLES)},
    ).all()
    for name, _definition in found:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    return [definition for _name, definition in found]


def drop_foreign_keys(connection: Connection, tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """PostgreSQL: drop `tables`' own foreign keys; return (table, name, definition) of each."""
    found = connection.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text IN :tables ORDER BY conname"
        ).bindparams(bindparam("tables", expanding=True)),
        {"tables": list(tables)},
    ).all()
    for table, name, _definition in found:
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return [(table, name, definition) for table, name, definition in found]


def _finish(connection: Connection) -> None:
    """Let later inserts take the next ids, and give the query planner fresh statistics."""
    if connection.dialect.name == "postgresql":
        for table in _SEEDED_TABLES:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
            )
        connection.exec_driver_sql("ANALYZE " + ", ".join(_SEEDED_TABLES))
    else:
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
