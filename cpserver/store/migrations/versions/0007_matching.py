"""Children indexed by family name, given name and date of birth: the matcher's "same names, born
the same year" block (a slip in the day or month of a child who has also moved) stays an index
range scan at national scale.

Revision ID: 0007_matching
Revises: 0006_feeds
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_matching"
down_revision: str | None = "0006_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_children_names_dob", "children", ["family_norm", "given_norm", "date_of_birth"])


def downgrade() -> None:
    op.drop_index("ix_children_names_dob", table_name="children")
