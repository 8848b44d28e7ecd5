"""Engine and session factory; SQLite is tuned for durability (WAL, synchronous=FULL)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    """True for a SQLite database URL."""
    return url.startswith("sqlite")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed audit row survives power loss, not only a process crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (the pysqlite recipe in SQLAlchemy's docs).
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# psycopg converts each distinct SQL text to PostgreSQL's placeholders once and caches the result,
# but only for texts up to 4 kB (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH, against ORMs' ever
# different multi-row INSERTs). Every record view and search sends one statement longer than that,
# the same text every time (the recent-activity counts, `cpserver.domain.recent_activity`): without
# this, every request parses it again (about 5% of a view's CPU). The cache stays bounded (an LRU
# of 128 texts).
CACHED_STATEMENT_LENGTH = 16 * 1024


def _cache_long_statements() -> None:
    try:
        from psycopg import _queries
    except ImportError:  # psycopg missing or reorganised: only the cache is lost
        return
    if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", CACHED_STATEMENT_LENGTH) < CACHED_STATEMENT_LENGTH:
        _queries.MAX_CACHED_STATEMENT_LENGTH = CACHED_STATEMENT_LENGTH


def make_engine(url: str, *, sqlite_immediate: bool = True, **kwargs: Any) -> Engine:
    """An engine for `url` with the pragmas or pool settings this service needs.

    Args:
        sqlite_immediate: on SQLite, start every transaction with `BEGIN IMMEDIATE`, so writers
            queue (busy timeout) instead of failing when a read turns into a write; this is what
            serialises audit-chain appends. Tools and tests that only look may turn it off.
    """
    url = normalise_url(url)
    # Database errors must not quote their parameters: they may hold names, addresses, reasons.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        if sqlite_immediate:
            event.listen(engine, "connect", _sqlite_manual_transactions)
            event.listen(engine, "begin", _begin_immediate)
        return engine
    _cache_long_statements()
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)  # the API server turns it off: see cpserver.api.app.pool_sizes
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@dataclass
class StatementCount:
    """SQL statements sent for one request, transaction control (BEGIN, COMMIT) left out."""

    statements: int = 0


# The current request's count, when a middleware keeps one (`Server-Timing`, benchmarks only).
request_statements: ContextVar[StatementCount | None] = ContextVar("request_statements", default=None)


def _count_statement(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
    counter = request_statements.get()
    if counter is not None and not statement.startswith("BEGIN"):
        counter.statements += 1


def count_statements(engine: Engine) -> None:
    """Count every statement `engine` sends into the current request's `request_statements`."""
    if not event.contains(engine, "before_cursor_execute", _count_statement):
        event.listen(engine, "before_cursor_execute", _count_statement)
