"""The audit hash chains: each row's hash covers its canonical form and the previous row's hash in its chain.

The trail is `CHAINS` independent hash chains (1..CHAINS), so appends do not queue behind one
lock for the whole country. An append picks a chain nobody else is appending to at that moment
(PostgreSQL: a transaction-scoped advisory lock per chain, tried without waiting, starting from a
random chain), reads that chain's head, links to it and commits with the lock held (PostgreSQL:
the lock, the row's `seq` and the head in one round trip, the function `audit_take_chain` of
migration 0007_scale); two writers
never share a chain's head, and no writer waits for another unless every chain is busy. Rows
written before chains existed form chain 0, the legacy chain, ordered by `seq`; it is closed, and
every new chain's first row links to its last row, so cutting the legacy tail breaks every chain.

On SQLite every transaction starts with `BEGIN IMMEDIATE` (cpserver.store.database), which
serialises appends anyway; the chains are the same, only without locks.

`seq` stays unique and increasing in each chain (PostgreSQL: a sequence, taken after the chain's
lock; SQLite: the largest plus one), so people and alerts can name a row by it; its gaps mean
nothing. Completeness is proven by `link`, the row's gap-free position in its chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Select,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from cpserver.store.models import AuditEvent

GENESIS = "0" * 64
# Any fixed number; with a chain's number it names the lock that serialises that chain's appends.
ADVISORY_LOCK_ID = 0x43504155  # "CPAU"
# How many chains new rows spread over. More chains than concurrent appenders anywhere (API
# servers x workers x requests in flight) keeps waits at zero. Raising it is safe; never lower it
# (checkpoints would still cover the higher chains, but they would stop growing for no gain).
CHAINS = 256
LEGACY_CHAIN = 0
# Tries at a free chain before waiting for one (each try is one round trip to the database).
FREE_CHAIN_TRIES = 4

CANONICAL_FIELDS = (
    "seq", "occurred_at", "action", "outcome", "user_id", "username", "role", "local_authority_id",
    "child_id", "reason_code", "reason_text", "workstation", "client_address", "shielded", "shown",
    "withheld", "detail",
)  # fmt: skip
# Rows of the chains (not the legacy chain) also sign where they stand, so no row can be moved.
CHAIN_FIELDS = ("chain", "link")
# A canonical field read from a differently named attribute (the JSON keeps the column's name, so
# rows written before the rename still verify).
ATTRIBUTE_OF = {"child_id": "child_pk"}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical(event: AuditEvent) -> bytes:
    """The row as canonical JSON bytes (sorted keys, no spaces, UTC timestamps to the microsecond).

    A legacy row (chain 0) has exactly the form it was hashed with before chains existed.
    """
    names = CANONICAL_FIELDS if event.chain == LEGACY_CHAIN else CANONICAL_FIELDS + CHAIN_FIELDS
    row = {name: _plain(getattr(event, ATTRIBUTE_OF.get(name, name))) for name in names}
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(canonical_row: bytes, prev_hash: str) -> str:
    """SHA-256(canonical row ‖ previous hash), as hex."""
    return hashlib.sha256(canonical_row + prev_hash.encode("ascii")).hexdigest()


@dataclass
class LockTiming:
    """Time spent obtaining a chain (waiting for and taking its lock; on PostgreSQL also reading its
    head, in the same round trip), for the benchmark's lock share."""

    seconds: float = 0.0
    appends: int = 0


# Process-wide totals, and the current request's when a middleware keeps one (`Server-Timing`).
lock_timing = LockTiming()
request_lock_timing: ContextVar[LockTiming | None] = ContextVar("request_lock_timing", default=None)


TAKE_CHAIN = text("SELECT * FROM audit_take_chain(:id, :first, :chains, :tries)")


def _spread() -> int:
    """Where to start looking for a free chain: anywhere, so that writers rarely meet."""
    return random.randrange(1 << 30)  # noqa: S311 - spreading load, not a secret


def _take_free_chain(session: Session) -> tuple[int, int, int, str]:
    """Lock a chain nobody else is appending to, draw the row's `seq`, and read the chain's head.

    One round trip (PostgreSQL function `audit_take_chain`, migration 0007_scale): up to
    `FREE_CHAIN_TRIES` chains are tried without waiting, starting at a random one, and `seq` is
    drawn only once a lock is held, so `seq` grows along each chain; only when every try found its
    chain busy does it wait for one. The head is read after the lock, in a fresh snapshot. Returns
    (chain, seq, next link, hash to link to).
    """
    # On the session's connection: a plain statement needs none of the ORM's execution steps.
    found = (
        session.connection()
        .execute(
            TAKE_CHAIN,
            {"id": ADVISORY_LOCK_ID, "first": _spread(), "chains": CHAINS, "tries": FREE_CHAIN_TRIES},
        )
        .one()
    )
    number, seq, head_link, head_hash = found
    if head_link is None:  # a new chain: it links to the legacy chain's last row, or the genesis
        return int(number), int(seq), 1, head_hash or GENESIS
    return int(number), int(seq), int(head_link) + 1, str(head_hash)


def _chain_head(session: Session, number: int) -> Any:
    """A chain's last row (link, hash), or None; `seq` grows along each chain, and (chain, seq) is indexed."""
    return session.execute(
        select(AuditEvent.link, AuditEvent.hash)
        .where(AuditEvent.chain == number)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()


@lru_cache(maxsize=1)
def _next_link_statement() -> Select[Any]:
    """A chain's head, or (for a new chain) the legacy chain's last hash, for `_next_link`."""
    head = (
        select(literal(0).label("legacy"), AuditEvent.link, AuditEvent.hash)
        .where(AuditEvent.chain == bindparam("chain"))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    legacy = (
        select(literal(1).label("legacy"), literal(0, BigInteger).label("link"), AuditEvent.hash)
        .where(AuditEvent.chain == LEGACY_CHAIN)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    # Each branch in its own subquery: SQLite allows no ORDER BY or LIMIT on a compound's members.
    both = union_all(head.subquery().select(), legacy.subquery().select()).subquery()
    return select(both.c.legacy, both.c.link, both.c.hash).order_by(both.c.legacy).limit(1)


def _next_link(session: Session, number: int) -> tuple[int, str]:
    """The next row's position in chain `number` and the hash it links to, in one round trip.

    After the chain's head if it has one; a new chain's first row links to the legacy chain's last
    hash (or the genesis).
    """
    found = session.execute(_next_link_statement(), {"chain": number}).first()
    if found is None:
        return 1, GENESIS
    if found.legacy:
        return 1, str(found.hash)
    return int(found.link) + 1, str(found.hash)


def legacy_head_hash(session: Session) -> str:
    """The hash a new chain's first row links to: the legacy chain's last row, or the genesis."""
    found = session.scalar(
        select(AuditEvent.hash)
        .where(AuditEvent.chain == LEGACY_CHAIN)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return found if found is not None else GENESIS


def append(session: Session, event: AuditEvent) -> AuditEvent:
    """Link `event` to the head of a free chain and flush it; the chain stays locked until commit."""
    started = time.perf_counter()
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        event.chain, event.seq, event.link, event.prev_hash = _take_free_chain(session)
    else:
        event.chain = 1 + _spread() % CHAINS
    waited = time.perf_counter() - started
    for totals in (lock_timing, request_lock_timing.get()):
        if totals is not None:
            totals.seconds += waited
            totals.appends += 1
    if not postgres:  # BEGIN IMMEDIATE already serialises every writer
        event.seq = int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0) + 1
        event.link, event.prev_hash = _next_link(session, event.chain)
    event.hash = chain_hash(canonical(event), event.prev_hash)
    # Whatever the caller added before goes first, as the ORM's flush would have ordered it (nothing
    # is sent when nothing is pending). The row itself is a plain INSERT ... RETURNING id: the
    # ORM's unit of work cost a view more CPU than the statement it sent. `event` stays outside the
    # session (it is never changed after this) and carries its `id`.
    session.flush()
    event.id = session.connection().execute(_insert_statement(), _insert_values(event)).scalar_one()
    return event


@lru_cache(maxsize=1)
def _insert_columns() -> tuple[tuple[str, str], ...]:
    """(column, attribute) of every column an append writes: all but the generated `id`."""
    mapper = inspect(AuditEvent)
    return tuple(
        (attribute.columns[0].key, attribute.key)
        for attribute in mapper.column_attrs
        if attribute.key != "id"
    )


@lru_cache(maxsize=1)
def _insert_statement() -> ReturningInsert[tuple[int]]:
    table = cast(Table, AuditEvent.__table__)
    return insert(table).returning(table.c.id)


def _insert_values(event: AuditEvent) -> dict[str, Any]:
    return {column: getattr(event, attribute) for column, attribute in _insert_columns()}


def append_many(session: Session, events: list[AuditEvent]) -> None:
    """Link `events` one after another to the head of one free chain and flush them together.

    The same chain rules as `append` (one lock, one head read, one flush for all of them): a bulk
    writer's rows (a feed chunk's moves) cost a few statements, not a few per row.
    """
    if not events:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        number, first_seq, link, prev_hash = _take_free_chain(session)
        more = (
            list(
                session.scalars(
                    text("SELECT nextval('audit_event_seq') FROM generate_series(1, :n)"),
                    {"n": len(events) - 1},
                )
            )
            if len(events) > 1
            else []
        )
        seqs = [first_seq, *(int(value) for value in more)]
    else:  # BEGIN IMMEDIATE already serialises every writer
        number = 1 + _spread() % CHAINS
        highest = int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)
        seqs = list(range(highest + 1, highest + 1 + len(events)))
        link, prev_hash = _next_link(session, number)
    for event, seq in zip(events, seqs, strict=True):
        event.chain, event.seq, event.link, event.prev_hash = number, seq, link, prev_hash
        event.hash = prev_hash = chain_hash(canonical(event), prev_hash)
        link += 1
        session.add(event)
    session.flush()


def heads(session: Session) -> dict[int, tuple[int, str]]:
    """Every chain's head as {chain: (position, hash)}; the legacy chain's position is its `seq`."""
    found: dict[int, tuple[int, str]] = {}
    legacy = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.chain == LEGACY_CHAIN)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if legacy is not None:
        found[LEGACY_CHAIN] = (legacy.seq, legacy.hash)
    highest = session.scalar(select(func.max(AuditEvent.chain))) or 0
    for number in range(1, max(CHAINS, highest) + 1):
        head = _chain_head(session, number)
        if head is not None:
            found[number] = (head.link, head.hash)
    return found
