"""Former names: shown on the record, and searched (rule 9), except an identity closed for adoption.

`Child.former_names` is the list the record shows; the `former_names` table is what search and
matching look in. Every write goes through `replace_former_names`, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cpserver.domain.feeds.rows import FeedName
from cpserver.domain.names import normalise_name, phonetic_key
from cpserver.store.models import Child, FormerName


def display_name(name: FeedName) -> str:
    return f"{name.given_name} {name.family_name}".strip()


def replace_former_names(session: Session, child: Child, names: Iterable[FeedName]) -> None:
    """Set `child`'s former names (the shown list leaves out identities closed for adoption)."""
    kept = list(dict.fromkeys(names))
    session.flush()  # a new child has its key
    session.execute(delete(FormerName).where(FormerName.child_pk == child.id))
    for name in kept:
        session.add(
            FormerName(
                child_pk=child.id,
                given_name=name.given_name,
                family_name=name.family_name,
                family_norm=normalise_name(name.family_name),
                family_key=phonetic_key(name.family_name),
                given_norm=normalise_name(name.given_name),
                date_of_birth=child.date_of_birth,
                closed_for_adoption=name.closed_for_adoption,
            )
        )
    child.former_names = [display_name(name) for name in kept if not name.closed_for_adoption]


def from_display_name(shown: str) -> FeedName:
    """The name in a shown string, "Given Family" or "Family" (the family name is the last word)."""
    given, _space, family = " ".join(shown.split()).rpartition(" ")
    return FeedName(family_name=family, given_name=given)
