"""The audit trail becomes many hash chains (national scale): `chain` and `link` columns, a sequence for `seq`.

Existing rows become chain 0, the legacy chain, unchanged (their hashes still verify); new rows
go to chains 1..N (cpserver.audit.chain). No existing row is rewritten: `chain` gets a constant
default (no table rewrite on PostgreSQL 11+) and `link` stays empty on legacy rows.

Revision ID: 0005_audit_chains
Revises: 0005_household
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_audit_chains"
down_revision: str | None = "0005_household"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "cpserver_app"


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(sa.Column("chain", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("link", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_audit_events_chain_seq", ["chain", "seq"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_event_seq AS bigint")
        op.execute("SELECT setval('audit_event_seq', COALESCE((SELECT max(seq) FROM audit_events), 0) + 1, false)")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE audit_event_seq TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE audit_event_seq")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_index("ix_audit_events_chain_seq")
        batch_op.drop_column("link")
        batch_op.drop_column("chain")
