"""A former name carries the child's date of birth, so searching by it is one index range.

Searching by a former family name looked the name up by its phonetic key alone and then read each
child to compare the date of birth: at 11M children a common surname's key holds thousands of
former names, and the query took about 100 ms (the search by current name takes 0.3 ms). The date
goes onto the row and into the indexes, as the search keys of `children` do. A trigger copies a
changed `children.date_of_birth` to its former names, so no write path can leave them apart; the
writers give it on insert (the column is NOT NULL, so one that does not fails loudly).

Revision ID: 0009_former_names_dob
Revises: 0007_scale
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_former_names_dob"
down_revision: str | None = "0007_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("former_names") as batch_op:
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
    op.execute(
        "UPDATE former_names SET date_of_birth = "
        "(SELECT date_of_birth FROM children WHERE children.id = former_names.child_id)"
    )
    with op.batch_alter_table("former_names") as batch_op:
        batch_op.alter_column("date_of_birth", existing_type=sa.Date(), nullable=False)
        batch_op.drop_index("ix_former_names_family_key")
        batch_op.drop_index("ix_former_names_family_norm")
        batch_op.create_index("ix_former_names_family_key_dob", ["family_key", "date_of_birth"])
        batch_op.create_index("ix_former_names_family_norm_dob", ["family_norm", "date_of_birth"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER children_date_of_birth_to_former_names AFTER UPDATE OF date_of_birth "
            "ON children WHEN NEW.date_of_birth IS NOT OLD.date_of_birth BEGIN "
            "UPDATE former_names SET date_of_birth = NEW.date_of_birth WHERE child_id = NEW.id; END"
        )
        return
    op.execute(
        "CREATE FUNCTION children_date_of_birth_to_former_names() RETURNS trigger AS $$ BEGIN "
        "UPDATE former_names SET date_of_birth = NEW.date_of_birth WHERE child_id = NEW.id; "
        "RETURN NULL; END $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER children_date_of_birth_to_former_names AFTER UPDATE OF date_of_birth ON children "
        "FOR EACH ROW WHEN (NEW.date_of_birth IS DISTINCT FROM OLD.date_of_birth) "
        "EXECUTE FUNCTION children_date_of_birth_to_former_names()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER children_date_of_birth_to_former_names")
    else:
        op.execute("DROP TRIGGER children_date_of_birth_to_former_names ON children")
        op.execute("DROP FUNCTION children_date_of_birth_to_former_names()")
    with op.batch_alter_table("former_names") as batch_op:
        batch_op.drop_index("ix_former_names_family_norm_dob")
        batch_op.drop_index("ix_former_names_family_key_dob")
        batch_op.create_index("ix_former_names_family_norm", ["family_norm"])
        batch_op.create_index("ix_former_names_family_key", ["family_key"])
        batch_op.drop_column("date_of_birth")
