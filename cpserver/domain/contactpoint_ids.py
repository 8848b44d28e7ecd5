"""Issuing ContactPoint IDs: each new one above every ID ever issued, so a purged ID (rule 9) is never
issued again. A trigger (migration `0007_retention`) refuses a retired ID from any other path too."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cpserver.store.models import Child, RetiredCpId

PREFIX = "CP"
DIGITS = 10
# IDs are spaced by a random gap, so one ID does not tell the next (an ID walk finds little).
MAX_GAP = 400


def issue_cp_id(session: Session) -> str:
    """A ContactPoint ID never issued before (above those of every child, present or purged).

    Two writers may draw the same one at the same moment: the unique index refuses the second,
    which tries again.
    """
    lowest, top = f"{PREFIX}{0:0{DIGITS}d}", f"{PREFIX}{10**DIGITS - 1}"
    found = [
        session.scalar(
            select(func.max(column)).where(column.between(lowest, top), func.length(column) == len(lowest))
        )
        for column in (Child.cp_id, RetiredCpId.cp_id)
    ]
    highest = max(
        (value for value in found if value is not None and value[len(PREFIX) :].isdigit()), default=lowest
    )
    number = int(highest[len(PREFIX) :]) + 1 + secrets.randbelow(MAX_GAP)
    return f"{PREFIX}{number:0{DIGITS}d}"
