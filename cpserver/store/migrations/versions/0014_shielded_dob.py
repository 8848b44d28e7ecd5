"""The shielded children by date of birth: a partial index for the matcher's shield sweep.

A fled child's row shares with her record only her given name (or a slip of it), her date of
birth and her gender; the matcher holds such a row for her team (`_same_person_facts`). But it
could only hold what a block had found, and when her given name was keyed with a slip that changes
its Soundex key ("Kaitlyn" for "Caitlin": K345, C345), no block found her and she was created
visible at her new address. The matcher now also reads the shielded children born on each row's
birthday (about eight a day at national scale, one child in 200) and holds the row when the facts
agree. The index holds only shielded children, so it reads no other child.

Revision ID: 0014_shielded_dob
Revises: 0013_given_key_dob
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_shielded_dob"
down_revision: str | None = "0013_given_key_dob"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHIELDED = sa.text("shielded IS true")


def upgrade() -> None:
    # Not a batch operation: SQLite's would copy the table and lose its expression indexes.
    op.create_index(
        "ix_children_shielded_dob",
        "children",
        ["date_of_birth"],
        postgresql_where=SHIELDED,
        sqlite_where=SHIELDED,
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM system_settings WHERE key LIKE 'feeds.dropped_index.%' "
        "AND value LIKE '%ix\\_children\\_shielded\\_dob%' ESCAPE '\\'"
    )
    op.drop_index("ix_children_shielded_dob", table_name="children")
