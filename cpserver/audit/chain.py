"""The audit hash chain: each row's hash covers its canonical form and the previous row's hash.

Appends are serialised so concurrent writers never fork the chain: on SQLite every transaction
of the server starts with `BEGIN IMMEDIATE` (cpserver.store.database); on PostgreSQL the append
takes a transaction-scoped advisory lock before reading the head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cpserver.store.models import AuditEvent

GENESIS = "0" * 64
# Any fixed number; it names the lock that serialises audit appends on PostgreSQL.
ADVISORY_LOCK_ID = 0x43504155  # "CPAU"

CANONICAL_FIELDS = (
    "seq", "occurred_at", "action", "outcome", "user_id", "username", "role", "local_authority_id",
    "child_id", "reason_code", "reason_text", "workstation", "client_address", "shielded", "shown",
    "withheld", "detail",
)  # fmt: skip
# A canonical field read from a differently named attribute (the JSON keeps the column's name, so
# rows written before the rename still verify).
ATTRIBUTE_OF = {"child_id": "child_pk"}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical(event: AuditEvent) -> bytes:
    """The row as canonical JSON bytes (sorted keys, no spaces, UTC timestamps to the microsecond)."""
    row = {name: _plain(getattr(event, ATTRIBUTE_OF.get(name, name))) for name in CANONICAL_FIELDS}
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(canonical_row: bytes, prev_hash: str) -> str:
    """SHA-256(canonical row ‖ previous hash), as hex."""
    return hashlib.sha256(canonical_row + prev_hash.encode("ascii")).hexdigest()


def append(session: Session, event: AuditEvent) -> AuditEvent:
    """Link `event` to the head of the chain and flush it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event.seq = head.seq + 1 if head is not None else 1
    event.prev_hash = head.hash if head is not None else GENESIS
    if event.occurred_at.microsecond is None:  # pragma: no cover - datetimes always have one
        raise ValueError("timestamp")
    event.hash = chain_hash(canonical(event), event.prev_hash)
    session.add(event)
    session.flush()
    return event
