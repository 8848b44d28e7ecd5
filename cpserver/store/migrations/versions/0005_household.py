"""Household shielding and harvesting limits: indexes on the facts a shield hides, and on workstations.

Carers' postcodes and telephones and children's telephones are indexed as normalised expressions
(no stored copy that a write path could forget); audit rows by workstation, action and time serve
the per-workstation rate limits.

Revision ID: 0005_household
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_household"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_carers_postcode_key", "carers", [sa.text("replace(upper(postcode), ' ', '')")])
    op.create_index("ix_carers_telephone_key", "carers", [sa.text("replace(telephone, ' ', '')")])
    op.create_index("ix_children_telephone_key", "children", [sa.text("replace(telephone, ' ', '')")])
    op.create_index(
        "ix_audit_events_workstation_action_time", "audit_events", ["workstation", "action", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_workstation_action_time", table_name="audit_events")
    op.drop_index("ix_children_telephone_key", table_name="children")
    op.drop_index("ix_carers_telephone_key", table_name="carers")
    op.drop_index("ix_carers_postcode_key", table_name="carers")
