"""The one copied household fact: `carers.child_shielded`, its child's `shielded` (migration 0011).

Triggers keep it on every write. The seed's `BulkLoad` sets triggers aside for speed and calls
`resync_carer_shields` at its end (the feed loaders run the triggers); `carer_shield_drift`
recomputes it from scratch and counts the carers whose copy differs (0 always; tests check it).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_RESYNC = (
    # Carers of shielded children not yet flagged (the shielded few, by their partial index).
    "UPDATE carers SET child_shielded = true WHERE child_shielded IS NOT true "
    "AND child_id IN (SELECT id FROM children WHERE shielded IS true)",
    # Flagged carers whose child is not (or no longer) shielded, or who name no child.
    "UPDATE carers SET child_shielded = false WHERE child_shielded IS true "
    "AND child_id NOT IN (SELECT id FROM children WHERE shielded IS true)",
)

_DRIFT = text(
    "SELECT count(*) FROM carers LEFT JOIN children ON children.id = carers.child_id "
    "WHERE carers.child_shielded <> COALESCE(children.shielded, false)"
)


def resync_carer_shields(connection: Connection) -> None:
    """Set every carer's `child_shielded` from its child, in the caller's transaction."""
    for statement in _RESYNC:
        connection.exec_driver_sql(statement)


def carer_shield_drift(connection: Connection) -> int:
    """The number of carers whose `child_shielded` is not their child's `shielded` (should be 0)."""
    return int(connection.scalar(_DRIFT) or 0)
