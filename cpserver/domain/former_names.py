"""Former names: shown on the record, and searched (rule 9), except an identity closed for adoption.

`Child.former_names` is the list the record shows; the `former_names` table is what search and
matching look in. Every write goes through `replace_former_names` (or, for a feed's new children,
`former_name_rows`), so the two never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cpserver.domain.feeds.rows import FeedName
from cpserver.domain.names import normalise_name, phonetic_key
from cpserver.store.models import Child, FormerName


def display_name(name: FeedName) -> str:
    return f"{name.given_name} {name.family_name}".strip()


def replace_former_names(session: Session, child: Child, names: Iterable[FeedName]) -> None:
    """Set `child`'s former names (the shown list leaves out identities closed for adoption)."""
    session.flush()  # a new child has its key
    session.execute(delete(FormerName).where(FormerName.child_pk == child.id))
    rows, child.former_names = former_name_rows(child.id, child.date_of_birth, names)
    for values in rows:
        session.add(FormerName(**values))


def former_name_rows(
    child_pk: int, born: dt.date, names: Iterable[FeedName]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The `former_names` rows (with the child's date of birth, `born`) and the shown list.

    `replace_former_names` writes these; a feed's chunk writes them in bulk (a new child's, and a
    known child's after one DELETE for the chunk), with the child's shown list set to the second value.
    """
    kept = list(dict.fromkeys(names))
    rows = [
        {
            "child_pk": child_pk,
            "given_name": name.given_name,
            "family_name": name.family_name,
            "family_norm": normalise_name(name.family_name),
            "family_key": phonetic_key(name.family_name),
            "given_norm": normalise_name(name.given_name),
            "date_of_birth": born,
            "closed_for_adoption": name.closed_for_adoption,
        }
        for name in kept
    ]
    return rows, [display_name(name) for name in kept if not name.closed_for_adoption]


def from_display_name(shown: str) -> FeedName:
    """The name in a shown string, "Given Family" or "Family" (the family name is the last word)."""
    given, _space, family = " ".join(shown.split()).rpartition(" ")
    return FeedName(family_name=family, given_name=given)
