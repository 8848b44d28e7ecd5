"""Keyset pages of a work queue: oldest first, each page asked for after the last item of the one before.

A page is `(created_at, id)` greater than the item named by `after`, in that order, at most
`PAGE_MAX` items, and says whether `more` follow. Keyset rather than offset, so an item decided
while the person reads (the list shrinks) neither moves another item off the next page nor shows
one twice. The cursor is an item's id: one that is not in the caller's scope (another authority's,
or no item) gives an empty page, the same answer as the end of the list, so it tells nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, literal, select, tuple_
from sqlalchemy.orm import Session

# The most items a page holds (and the default).
PAGE_MAX: Final = 500

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, oldest first, and whether more follow (ask `after` the last item's id)."""

    items: list[T]
    more: bool


def queue_page(
    session: Session,
    query: Select[Any],
    model: Any,
    *,
    scope: ColumnElement[bool],
    after: int | None,
    limit: int,
) -> tuple[list[Any], bool]:
    """The rows of `query` (which selects `model` first, within `scope`) for one page, and whether
    more follow. `limit` is held within 1 and `PAGE_MAX`."""
    limit = max(1, min(limit, PAGE_MAX))
    if after is not None:
        mark = select(model.created_at).where(model.id == after, scope).scalar_subquery()
        query = query.where(tuple_(model.created_at, model.id) > tuple_(mark, literal(after)))
    rows = list(session.execute(query.order_by(model.created_at, model.id).limit(limit + 1)).tuples())
    return rows[:limit], len(rows) > limit
