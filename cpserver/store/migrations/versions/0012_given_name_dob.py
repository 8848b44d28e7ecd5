"""An index on the children's given name and date of birth, for the matcher's block of the same name.

A feed row whose child's family name changed outright ("Davies" sent as "Morgan") or lost a part
(the directory's "Davies-Smith" sent as "Davies": another Soundex key) was found by no block when
it came with no postcode and no former name, and became a new record: a duplicate, and for a
shielded child a new visible one. The matcher now also looks up children with the row's
normalised given name born the same day (`cpserver.domain.feeds.matching`); this index serves that
block. A key holds a handful of children at national scale (one of about 100 common given names
per gender, one of about 6,600 birthdays).

Revision ID: 0012_given_name_dob
Revises: 0011_shielded_facts
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_given_name_dob"
down_revision: str | None = "0011_shielded_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not a batch operation: SQLite's would copy the table and lose its expression indexes.
    op.create_index("ix_children_given_norm_dob", "children", ["given_norm", "date_of_birth"])


def downgrade() -> None:
    op.drop_index("ix_children_given_norm_dob", table_name="children")
