"""Possible-match queue items and a feed source for the data matching tests (on top of `world`).

The items are made directly, as the loader would hold them: one ordinary possible match in
Northmere, one row that may be Northmere's shielded child, one that may be Southwold Vale's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cpserver.domain.feeds.rows import FeedCarer, FeedRow
from cpserver.store.models import Child, FeedBatch, FeedSource, MatchReview
from tests.server import world

SOURCE = "Test school census"
# A fictitious row that resembles the shielded child: the same names and date of birth, another home.
LOOKALIKE_ADDRESS = "7 Elsewhere Row"
LOOKALIKE_POSTCODE = "ZZ5 5LK"


def source_and_batch(session: Session) -> tuple[FeedSource, FeedBatch]:
    source = session.scalar(sa.select(FeedSource).where(FeedSource.name == SOURCE))
    if source is None:
        source = FeedSource(name=SOURCE, kind="national", priority=50)
        session.add(source)
        session.flush()
    batch = FeedBatch(source_id=source.id, via="file", digest="0" * 64, status="done")
    session.add(batch)
    session.flush()
    return source, batch


def row_for(child: Child, number: int, **changes: object) -> FeedRow:
    """A row that resembles `child` (its names, date of birth, gender) from another home."""
    row = FeedRow(
        source_record_id=f"CENSUS-{number:05d}",
        given_name=child.given_name,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        gender=child.gender,
        as_of=world.TODAY,
        address_line1=LOOKALIKE_ADDRESS,
        town="Lookalike Town",
        postcode=LOOKALIKE_POSTCODE,
        local_authority=child.local_authority.code,
        carers=(
            FeedCarer("Jo", child.family_name, "Mother", True, LOOKALIKE_ADDRESS, "", "", LOOKALIKE_POSTCODE),
        ),
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def hold(
    session: Session,
    cp_id: str,
    *,
    number: int,
    held_because: str = "possible_match",
    probability: float = 0.8,
    **changes: object,
) -> int:
    """Hold a row resembling child `cp_id` for its authority's management team; the item's id."""
    child = session.scalar(sa.select(Child).where(Child.cp_id == cp_id))
    assert child is not None
    source, batch = source_and_batch(session)
    review = MatchReview(
        batch_id=batch.id,
        source_id=source.id,
        row_number=number,
        source_record_id=f"CENSUS-{number:05d}",
        incoming=row_for(child, number, **changes).to_json(),
        candidate_child_pk=child.id,
        match_probability=probability,
        held_because=held_because,
        local_authority_id=child.local_authority_id,
        status="open",
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(review)
    session.commit()
    return review.id


def queue(session: Session) -> dict[str, int]:
    """The three items: ordinary and shielded in Northmere, shielded in Southwold Vale."""
    return {
        "ordinary": hold(session, world.ORDINARY, number=1),
        "shielded": hold(
            session, world.SHIELDED, number=2, held_because="shielded_candidate", probability=0.6
        ),
        "south": hold(session, world.SHIELDED_SOUTH, number=3, held_because="shielded_candidate"),
    }
