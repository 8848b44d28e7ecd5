"""Parameters the routes share: a database id and a ContactPoint ID in a path; a keyset page's
cursor and size in a query (an id and a number, never personal data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from cpserver.api.schemas import MAX_ID
from cpserver.domain.paging import PAGE_MAX

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# A ContactPoint ID in a path (`/children/{id}/...`): letters, digits and hyphens.
CpId = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
# A page of a work queue (`cpserver.domain.paging`): after the item with this id; at most this many.
PageAfter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="The last item of the page before.")]
PageLimit = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"At most {PAGE_MAX} items a page.")]
