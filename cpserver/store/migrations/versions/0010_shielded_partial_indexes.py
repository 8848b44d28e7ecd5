"""Partial indexes of the shielded children, for the household probe of every view and search.

The probe asks which shielded children share a postcode or telephone with the records about to be
shown, and whether a carer's child is shielded. With whole-table indexes PostgreSQL read every child
at those postcodes (about 1,500 rows for a 50-result search at 11M children) to find the dozen that
are shielded; these indexes hold only the shielded children (about 0.5%).

Revision ID: 0010_shielded_partial_indexes
Revises: 0009_former_names_dob
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_shielded_partial_indexes"
down_revision: str | None = "0009_former_names_dob"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHIELDED = sa.text("shielded IS true")


def upgrade() -> None:
    where = {"postgresql_where": SHIELDED, "sqlite_where": SHIELDED}
    op.create_index("ix_children_shielded_postcode", "children", ["postcode_norm"], **where)
    op.create_index(
        "ix_children_shielded_telephone_key",
        "children",
        [sa.text("replace(telephone, ' ', '')")],
        **where,
    )
    op.create_index("ix_children_shielded_id", "children", ["id"], **where)


def downgrade() -> None:
    for name in ("ix_children_shielded_id", "ix_children_shielded_telephone_key", "ix_children_shielded_postcode"):
        op.drop_index(name, table_name="children")
