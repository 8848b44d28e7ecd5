"""A batch sent by a source system to the machine endpoint: who it is, what it sent, the load.

The caller is a source (`Authorization: Source <credential>`), never a person; the batch and every
refusal are audited as `feed_batch` with the username `source:<name>` (the credential's holder is
unknown when the credential is wrong: username empty).
"""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain.errors import DomainError, invalid
from cpserver.domain.feeds.apply import source_username
from cpserver.domain.feeds.format import format_of
from cpserver.domain.feeds.load import LoadReport, load_feed
from cpserver.domain.feeds.sources import authenticate_source
from cpserver.domain.notify import Mailer
from cpserver.store.models import FeedSource


def source_of(session: Session, authorization: str | None, client_address: str) -> FeedSource:
    """The source signing this request, or 401 (audited, committed)."""
    try:
        return authenticate_source(session, authorization)
    except DomainError as refused:
        session.rollback()
        trail.record(
            session,
            action="feed_batch",
            outcome=f"refused:{refused.code}",
            origin=trail.Origin(workstation="feed", client_address=client_address),
        )
        session.commit()
        raise


def receive_batch(
    session: Session,
    source: FeedSource,
    *,
    body: bytes,
    content_type: str,
    mailer: Mailer,
    settings: Settings | None = None,
) -> LoadReport:
    """Load the body as one batch from `source` (JSON Lines, or CSV with `text/csv`)."""
    fmt = format_of(content_type)
    if fmt is None:
        trail.record(
            session,
            action="feed_batch",
            outcome="refused:unsupported_content_type",
            origin=trail.Origin(workstation="feed", client_address=""),
            username=source_username(source),
            local_authority_id=source.local_authority_id,
        )
        session.commit()
        raise invalid(
            "unsupported_content_type",
            "Send the batch as JSON Lines (Content-Type: application/x-ndjson) or CSV (text/csv).",
        )
    report = load_feed(
        session,
        source=source,
        stream=io.BytesIO(body),
        fmt=fmt,
        via="api",
        mailer=mailer,
        settings=settings,
    )
    if report.refused is not None:
        raise invalid(
            report.refused,
            f"The batch was refused (batch {report.batch_id}): the first line must be the feed format's "
            "header. See docs/feed-format.md.",
        )
    return report
