"""Involvement notices between practitioners, and each user's choice of how they arrive.

Revision ID: 0005_notices
Revises: 0005_audit_chains
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cpserver.store import types as cptypes

revision: str = "0005_notices"
# Written on "0004" beside 0005_household; chained after it once both were on main.
down_revision: str | None = "0005_audit_chains"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("involvement_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("local_authority_id", sa.Integer(), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("created_at", cptypes.UtcDateTime(timezone=True), nullable=False),
        sa.Column("follow_up_due_at", cptypes.UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_at", cptypes.UtcDateTime(timezone=True), nullable=True),
        sa.Column("follow_up", sa.String(length=20), nullable=True),
        sa.Column("followed_up_at", cptypes.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_notices_child_id_children")),
        sa.ForeignKeyConstraint(
            ["involvement_id"], ["involvements.id"], name=op.f("fk_notices_involvement_id_involvements")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"], ["users.id"], name=op.f("fk_notices_recipient_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index("ix_notices_recipient_created", "notices", ["recipient_user_id", "created_at"])
    op.create_index(op.f("ix_notices_local_authority_id"), "notices", ["local_authority_id"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("notice_delivery", sa.String(length=20), server_default="immediate", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("notice_delivery")
    op.drop_index(op.f("ix_notices_local_authority_id"), table_name="notices")
    op.drop_index("ix_notices_recipient_created", table_name="notices")
    op.drop_table("notices")
