"""A carer row says whether its child is shielded, so the household probe reads only shielded carers.

The probe of every view and search asks which shielded children have a carer at one of the
postcodes or telephones about to be shown. It read every carer at those postcodes (about 2,000 for
a 50-result search at 11M children) and joined each to its child to find the few that are
shielded. `carers.child_shielded` copies one bit, the child's `shielded`, onto its carers; partial
indexes of the carers' postcode and telephone keys hold only the flagged rows (about 0.5%), so the
probe reads nothing else. The facts themselves (postcodes, telephones, addresses) are not copied:
the indexes compute the same keys as before, from the rows, whatever wrote them.

The one copied bit is kept by triggers on both databases, on every path that can change it:

- a child's `shielded` changes (or a shielded child is inserted after carers that name it): its
  carers' flags follow;
- a carer is inserted, re-parented (`child_id`) or its flag is written by anyone: the flag is read
  again from the child. On PostgreSQL that read takes a share lock on the child's row, so a carer
  added while another transaction changes the shield waits for it and reads the committed value
  (under the server's READ COMMITTED; the change's own trigger then sees the new carer).

The seed's `BulkLoad`, which sets triggers aside, sets the
flags for the whole table at their end (`cpserver.store.household_facts.resync_carer_shields`).

Revision ID: 0011_shielded_facts
Revises: 0010_shielded_partial_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_shielded_facts"
down_revision: str | None = "0010_shielded_partial_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGGED = sa.text("child_shielded IS true")
CHILD_SHIELDED = "COALESCE((SELECT shielded FROM children WHERE children.id = {carer}.child_id), false)"

SQLITE_TRIGGERS = (
    # The child's shield changes, or a shielded child arrives after carers that name it.
    "CREATE TRIGGER children_shielded_to_carers AFTER UPDATE OF shielded ON children "
    "WHEN NEW.shielded IS NOT OLD.shielded BEGIN "
    "UPDATE carers SET child_shielded = COALESCE(NEW.shielded, false) WHERE child_id = NEW.id; END",
    "CREATE TRIGGER children_shielded_insert_to_carers AFTER INSERT ON children "
    "WHEN NEW.shielded IS true BEGIN "
    "UPDATE carers SET child_shielded = true WHERE child_id = NEW.id; END",
    # A carer arrives, moves to another child, or its flag is written: read it from the child.
    "CREATE TRIGGER carers_child_shielded_insert AFTER INSERT ON carers "
    f"WHEN NEW.child_shielded IS NOT {CHILD_SHIELDED.format(carer='NEW')} BEGIN "
    f"UPDATE carers SET child_shielded = {CHILD_SHIELDED.format(carer='carers')} WHERE id = NEW.id; END",
    "CREATE TRIGGER carers_child_shielded_update AFTER UPDATE OF child_id, child_shielded ON carers "
    f"WHEN NEW.child_shielded IS NOT {CHILD_SHIELDED.format(carer='NEW')} BEGIN "
    f"UPDATE carers SET child_shielded = {CHILD_SHIELDED.format(carer='carers')} WHERE id = NEW.id; END",
)

POSTGRES_STATEMENTS = (
    "CREATE FUNCTION children_shielded_to_carers() RETURNS trigger AS $$ BEGIN "
    "UPDATE carers SET child_shielded = COALESCE(NEW.shielded, false) "
    "WHERE child_id = NEW.id AND child_shielded IS DISTINCT FROM COALESCE(NEW.shielded, false); "
    "RETURN NULL; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER children_shielded_to_carers AFTER UPDATE OF shielded ON children "
    "FOR EACH ROW WHEN (NEW.shielded IS DISTINCT FROM OLD.shielded) "
    "EXECUTE FUNCTION children_shielded_to_carers()",
    "CREATE TRIGGER children_shielded_insert_to_carers AFTER INSERT ON children "
    "FOR EACH ROW WHEN (NEW.shielded IS true) EXECUTE FUNCTION children_shielded_to_carers()",
    # FOR SHARE: waits for a transaction changing the child's shield, then reads its committed value.
    "CREATE FUNCTION carers_child_shielded() RETURNS trigger AS $$ BEGIN "
    "NEW.child_shielded := COALESCE((SELECT shielded FROM children WHERE id = NEW.child_id FOR SHARE), false); "
    "RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER carers_child_shielded BEFORE INSERT OR UPDATE OF child_id, child_shielded ON carers "
    "FOR EACH ROW EXECUTE FUNCTION carers_child_shielded()",
)


def upgrade() -> None:
    # Not a batch operation: SQLite's would copy the table, and lose the expression indexes on it
    # (SQLAlchemy cannot reflect them). ADD COLUMN with a constant default copies nothing on either.
    op.add_column("carers", sa.Column("child_shielded", sa.Boolean(), nullable=False, server_default=sa.false()))
    where = {"postgresql_where": FLAGGED, "sqlite_where": FLAGGED}
    op.create_index(
        "ix_carers_shielded_postcode_key", "carers", [sa.text("replace(upper(postcode), ' ', '')")], **where
    )
    op.create_index(
        "ix_carers_shielded_telephone_key", "carers", [sa.text("replace(telephone, ' ', '')")], **where
    )
    # The indexes first, then the flags: the other way round, PostgreSQL's updates would be HOT
    # (the column in no index yet), the indexes would be built over HOT chains their condition
    # breaks, and no query could use them until every transaction older than this one had ended
    # (`pg_index.indcheckxmin`; measured: hours on a busy server, the probe then 10x slower).
    op.execute(
        "UPDATE carers SET child_shielded = true "
        "WHERE child_id IN (SELECT id FROM children WHERE shielded IS true)"
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_STATEMENTS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)
    if postgres:
        # The new column has no statistics until autovacuum comes (the backfill changes too few rows
        # to call it): without them PostgreSQL takes half the carers for flagged, and prefers the
        # whole-table indexes to the partial ones.
        op.execute("ANALYZE carers")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "carers_child_shielded_update",
            "carers_child_shielded_insert",
            "children_shielded_insert_to_carers",
            "children_shielded_to_carers",
        ):
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute("DROP TRIGGER carers_child_shielded ON carers")
        op.execute("DROP FUNCTION carers_child_shielded()")
        op.execute("DROP TRIGGER children_shielded_insert_to_carers ON children")
        op.execute("DROP TRIGGER children_shielded_to_carers ON children")
        op.execute("DROP FUNCTION children_shielded_to_carers()")
    op.drop_index("ix_carers_shielded_telephone_key", table_name="carers")
    op.drop_index("ix_carers_shielded_postcode_key", table_name="carers")
    # SQLite (3.35+) drops a column in place when no index or constraint names it.
    op.drop_column("carers", "child_shielded")
