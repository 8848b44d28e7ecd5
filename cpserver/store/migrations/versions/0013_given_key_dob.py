"""The matcher's given-name block by Soundex key: an index on (given_key, date_of_birth).

A feed row whose child's family name changed (after a carer's marriage, say) and whose given name
was also mistyped ("Olivai" for "Olivia") was found by no block when it came without the child's
postcode: the family name's Soundex key is another, and the block of migration 0012 asked for the
exact normalised given name. The block now asks for the given name's Soundex key (stored on every
child since the first migration: "Olivai", "Olivia" and "Olive" are all O410) born the same day
(`cpserver.domain.feeds.matching`). It finds every child the exact name found, so the index on
(given_norm, date_of_birth), which served only that block, is replaced by this one.

A first load's kept definition of the old index (an initial load that crashed with its search
indexes dropped, `feeds.parallel`) is forgotten, so the next load does not build it again.

Revision ID: 0013_given_key_dob
Revises: 0012_given_name_dob
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_given_key_dob"
down_revision: str | None = "0012_given_name_dob"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _replace(old: str, new: str, columns: list[str]) -> None:
    op.execute(
        "DELETE FROM system_settings WHERE key LIKE 'feeds.dropped_index.%' "
        f"AND value LIKE '%{old}%'"
    )
    # Not batch operations: SQLite's would copy the table and lose its expression indexes.
    op.execute(f"DROP INDEX IF EXISTS {old}")
    op.create_index(new, "children", columns)


def upgrade() -> None:
    _replace("ix_children_given_norm_dob", "ix_children_given_key_dob", ["given_key", "date_of_birth"])


def downgrade() -> None:
    _replace("ix_children_given_key_dob", "ix_children_given_norm_dob", ["given_norm", "date_of_birth"])
