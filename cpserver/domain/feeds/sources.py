"""The source registry: which systems may feed the directory, their priority, and their machine credential.

A source signs in as itself, never as a person: `Authorization: Source <credential>`. The credential
is shown once, when the source is added or its credential rotated; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.domain.errors import DomainError, ErrorKind, conflict, invalid, not_found
from cpserver.store.models import FeedSource, LocalAuthority

KINDS: Final = ("national", "local_authority")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,59}$")
CREDENTIAL_PREFIX: Final = "cpsrc_"


def credential_hash(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


def _new_credential() -> str:
    return CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


def add_source(
    session: Session, *, name: str, kind: str, priority: int, local_authority: str | None
) -> tuple[FeedSource, str]:
    """Register a source; returns it and its credential (shown once, never stored)."""
    if not _NAME.match(name):
        raise invalid(
            "bad_source_name", "A source name is 2 to 60 lower-case letters, digits, '.', '_' or '-'."
        )
    if kind not in KINDS:
        raise invalid("bad_source_kind", "A source is national or local_authority.")
    if not 0 <= priority <= 1000:
        raise invalid("bad_priority", "A source's priority is a whole number from 0 to 1000.")
    authority_id: int | None = None
    if kind == "local_authority":
        if not local_authority:
            raise invalid("local_authority_required", "A local authority's source names its authority.")
        authority_id = session.scalar(select(LocalAuthority.id).where(LocalAuthority.code == local_authority))
        if authority_id is None:
            raise invalid("unknown_local_authority", "There is no local authority with that code.")
    elif local_authority:
        raise invalid("national_source_has_no_authority", "A national source feeds every authority.")
    if session.scalar(select(FeedSource.id).where(FeedSource.name == name)) is not None:
        raise conflict("source_exists", "A source with that name is already registered.")
    credential = _new_credential()
    source = FeedSource(
        name=name,
        kind=kind,
        priority=priority,
        local_authority_id=authority_id,
        token_hash=credential_hash(credential),
        active=True,
    )
    session.add(source)
    session.flush()
    return source, credential


def list_sources(session: Session) -> list[tuple[FeedSource, str | None]]:
    """Every source, by name, with its authority's code (None for a national source)."""
    rows = session.execute(
        select(FeedSource, LocalAuthority.code)
        .outerjoin(LocalAuthority, LocalAuthority.id == FeedSource.local_authority_id)
        .order_by(FeedSource.name)
    ).tuples()
    return list(rows)


def source_named(session: Session, name: str) -> FeedSource:
    source = session.scalar(select(FeedSource).where(FeedSource.name == name))
    if source is None:
        raise not_found("unknown_source", "There is no source with that name: `cpserver feed source list`.")
    return source


def rotate_credential(session: Session, name: str) -> str:
    """A new credential for the source (the old one stops working at once); shown once."""
    source = source_named(session, name)
    credential = _new_credential()
    source.token_hash = credential_hash(credential)
    session.flush()
    return credential


def source_authority_code(session: Session, source: FeedSource) -> str | None:
    if source.local_authority_id is None:
        return None
    return session.scalar(select(LocalAuthority.code).where(LocalAuthority.id == source.local_authority_id))


def authenticate_source(session: Session, authorization: str | None) -> FeedSource:
    """The active source whose credential is in `Authorization: Source <credential>`, or 401.

    A person's session token (`Bearer`, or sent as a source credential) is refused the same way.
    """
    scheme, _, credential = (authorization or "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "source" or not credential.startswith(CREDENTIAL_PREFIX) or len(credential) > 200:
        raise _not_a_source()
    wanted = credential_hash(credential)
    source = session.scalar(select(FeedSource).where(FeedSource.token_hash == wanted))
    if source is None or not source.active or not hmac.compare_digest(source.token_hash or "", wanted):
        raise _not_a_source()
    return source


def _not_a_source() -> DomainError:
    return DomainError(
        ErrorKind.UNAUTHENTICATED,
        "not_authenticated",
        "This endpoint is for registered source systems: send `Authorization: Source <credential>`.",
    )
