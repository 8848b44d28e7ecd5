"""Path parameters the routes share: a database id, and a ContactPoint ID."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from cpserver.api.schemas import MAX_ID

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# A ContactPoint ID in a path (`/children/{id}/...`): letters, digits and hyphens.
CpId = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
