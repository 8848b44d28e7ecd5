"""Retention (rule 9): retired ContactPoint IDs, never issued again, and the archive's index.

A purged record's ContactPoint ID goes into `retired_cp_ids`; a trigger refuses any child row that
takes one, whatever path writes it (API, feed, seed, a hand-written INSERT).

Revision ID: 0007_retention
Revises: 0007_former_names
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cpserver.store import types as cptypes

revision: str = "0007_retention"
down_revision: str | None = "0007_former_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURGED_TABLES = (
    "children",
    "carers",
    "involvements",
    "notices",
    "former_names",
    "field_provenance",
    "source_records",
    "match_reviews",
    "record_reports",
)
MESSAGE = "cp_id_retired: a purged ContactPoint ID is never issued again"


def upgrade() -> None:
    op.create_table(
        "retired_cp_ids",
        sa.Column("cp_id", sa.String(length=20), nullable=False),
        sa.Column("retired_at", cptypes.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cp_id", name=op.f("pk_retired_cp_ids")),
    )
    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.create_index(
            "ix_children_archived_at",
            ["archived_at"],
            unique=False,
            postgresql_where=sa.text("archived_at IS NOT NULL"),
            sqlite_where=sa.text("archived_at IS NOT NULL"),
        )
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("INSERT", "UPDATE OF cp_id"):
            name = "children_cp_id_not_retired_" + verb.split()[0].lower()
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {verb} ON children "
                "WHEN EXISTS (SELECT 1 FROM retired_cp_ids WHERE cp_id = NEW.cp_id) "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION children_cp_id_not_retired() RETURNS trigger AS $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM retired_cp_ids WHERE cp_id = NEW.cp_id) THEN "
        f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'unique_violation'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER children_cp_id_not_retired BEFORE INSERT OR UPDATE OF cp_id ON children "
        "FOR EACH ROW EXECUTE FUNCTION children_cp_id_not_retired()"
    )
    # The server's role retires IDs and purges every table that holds rows about a child (0005_notices
    # and 0006_feeds made some of them without granting it anything).
    purged = ", ".join(PURGED_TABLES)
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cpserver_app') THEN "
        "GRANT SELECT, INSERT ON retired_cp_ids TO cpserver_app; "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {purged} TO cpserver_app; "
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cpserver_app; END IF; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER children_cp_id_not_retired_insert")
        op.execute("DROP TRIGGER children_cp_id_not_retired_update")
    else:
        op.execute("DROP TRIGGER children_cp_id_not_retired ON children")
        op.execute("DROP FUNCTION children_cp_id_not_retired()")
    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.drop_index("ix_children_archived_at")
    op.drop_table("retired_cp_ids")
