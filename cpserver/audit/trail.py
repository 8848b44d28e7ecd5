"""Writing audit rows. A disclosure's row is added and flushed before the data is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cpserver.audit import chain
from cpserver.store.models import AuditEvent, User, utcnow


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the workstation the client enrolled and its network address."""

    workstation: str
    client_address: str


def record(
    session: Session,
    *,
    action: str,
    outcome: str,
    origin: Origin,
    user: User | None = None,
    child_pk: int | None = None,
    reason_code: str | None = None,
    reason_text: str | None = None,
    shielded: bool = False,
    shown: list[str] | None = None,
    withheld: list[str] | None = None,
    detail: dict[str, Any] | None = None,
    username: str | None = None,
    local_authority_id: int | None = None,
) -> AuditEvent:
    """Append one audit row to the chain and flush it, so a failure to write it stops the caller.

    A machine (a feed source) acts with no `user`: `username` names it ("source:<name>") and
    `local_authority_id` says whose management team the row concerns.
    """
    event = AuditEvent(
        occurred_at=utcnow(),
        action=action,
        outcome=outcome,
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else (username or ""),
        role=user.role if user is not None else "",
        local_authority_id=user.local_authority_id if user is not None else local_authority_id,
        child_pk=child_pk,
        reason_code=reason_code,
        reason_text=reason_text,
        workstation=origin.workstation,
        client_address=origin.client_address,
        shielded=shielded,
        shown=shown or [],
        withheld=withheld or [],
        detail=detail or {},
    )
    return chain.append(session, event)
