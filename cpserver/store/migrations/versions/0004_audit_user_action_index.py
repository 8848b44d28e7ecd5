"""Audit rows indexed by user, action and time: detection rules and audit review stay cheap.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_events_user_action_time", "audit_events", ["user_id", "action", "occurred_at"])
    op.drop_index("ix_audit_events_user_time", table_name="audit_events")


def downgrade() -> None:
    op.create_index("ix_audit_events_user_time", "audit_events", ["user_id", "occurred_at"])
    op.drop_index("ix_audit_events_user_action_time", table_name="audit_events")
