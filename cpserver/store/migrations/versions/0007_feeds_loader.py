"""Feeds loader: which source set an involvement (a source's set of services replaces only its own),
and a batch's report counts rows matched, fields kept by the winning rule and records moved.

Revision ID: 0007_feeds_loader
Revises: 0007_matching
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_feeds_loader"
down_revision: str | None = "0007_matching"  # written beside it; chained after at merge
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COUNTS = ("rows_matched", "fields_kept", "records_moved")


def upgrade() -> None:
    with op.batch_alter_table("feed_batches") as batch_op:
        for name in COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("involvements") as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_involvements_source_id_feed_sources"), "feed_sources", ["source_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_involvements_source_id"), ["source_id"])


def downgrade() -> None:
    with op.batch_alter_table("feed_batches") as batch_op:
        for name in COUNTS:
            batch_op.drop_column(name)
    with op.batch_alter_table("involvements") as batch_op:
        batch_op.drop_index(op.f("ix_involvements_source_id"))
        batch_op.drop_constraint(op.f("fk_involvements_source_id_feed_sources"), type_="foreignkey")
        batch_op.drop_column("source_id")
