"""Which existing child, if any, is a feed row? (The interface the loader and the queue rely on.)

`classify(session, rows)` answers, for each row, a decision and the candidates it weighed:
- "match": sure enough to update `best` without a person;
- "new": sure this is a child not on the directory;
- "review": in between: a person in the authority's management team decides (the queue).

Every candidate above the review floor is listed, so the loader can hold a row that may be a
shielded child (never create it as a new visible record). This first version decides on exact
keys; the probabilistic model (Fellegi-Sunter, splink) replaces `_score` behind the same interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cpserver.domain.feeds.rows import FeedRow
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.store.models import Child

Decision = Literal["match", "new", "review"]


@dataclass(frozen=True)
class Candidate:
    child_pk: int
    probability: float
    shielded: bool
    local_authority_id: int


@dataclass(frozen=True)
class Classification:
    decision: Decision
    best: Candidate | None
    # Every candidate at or above REVIEW_FLOOR, most probable first.
    candidates: tuple[Candidate, ...]


MATCH_AT = 0.99
REVIEW_FLOOR = 0.05


def classify(session: Session, rows: Sequence[FeedRow]) -> list[Classification]:
    return [_classify_one(session, row) for row in rows]


def _classify_one(session: Session, row: FeedRow) -> Classification:
    if row.new_identity:
        return Classification("new", None, ())
    blocks = [Child.family_key == phonetic_key(row.family_name)]
    if normalise_postcode(row.postcode):
        blocks.append(Child.postcode_norm == normalise_postcode(row.postcode))
    found = session.scalars(select(Child).where(Child.date_of_birth == row.date_of_birth, or_(*blocks))).all()
    candidates = sorted(
        (
            Candidate(child.id, _score(row, child), child.shielded, child.local_authority_id)
            for child in found
        ),
        key=lambda candidate: -candidate.probability,
    )
    kept = tuple(candidate for candidate in candidates if candidate.probability >= REVIEW_FLOOR)
    best = kept[0] if kept else None
    if best is None:
        return Classification("new", None, ())
    return Classification("match" if best.probability >= MATCH_AT else "review", best, kept)


def _score(row: FeedRow, child: Child) -> float:
    same_family = normalise_name(row.family_name) == child.family_norm
    same_given = normalise_name(row.given_name) == child.given_norm
    if same_family and same_given:
        return 1.0
    if same_family or same_given:
        return 0.5
    return 0.1
