"""Machine keys compared byte by byte: collation "C" on PostgreSQL.

The ContactPoint IDs, source record ids, normalised names, phonetic keys, postcodes, telephone
numbers and provenance field codes are keys, never words shown in a sorted list. Under the
database's locale PostgreSQL compares them with strcoll and sorts them without abbreviated keys;
under "C" it compares bytes. Measured on 11M children (database collation C.UTF-8, glibc): the
(family_norm, given_norm, date_of_birth) index built in 16.1 s instead of 24.9 s, the postcode
index in 8.1 s instead of 18.9 s; an initial load rebuilds a dozen such indexes, and every insert
into the unique ContactPoint ID and record id indexes compares keys. Equality is unchanged (both
collations are deterministic), so no stored value or lookup result changes. SQLite compares bytes
already (BINARY): nothing changes there.

Changing a column's collation rebuilds its indexes. A trigger fired by `UPDATE OF` one of these
columns depends on it (the retired-ID guard on `cp_id`): it is dropped and made again, exactly.

It also drops the columns' statistics (and those of the indexes rebuilt on expressions of them),
and nothing gathers them again until autovacuum finds a tenth of the table changed: a directory
upgraded in place then planned its lookups blind, and the next 200,000-row delta at 11M children
took 257.7 s instead of about 150 s (session 11). Each changed table is analysed again at once
(a sample: a few seconds at national scale), going up or down.

Revision ID: 0015_key_collation
Revises: 0014_shielded_dob
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_key_collation"
down_revision: str | None = "0014_shielded_dob"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, length)
KEYS: dict[str, tuple[tuple[str, int], ...]] = {
    "children": (
        ("cp_id", 20),
        ("family_norm", 100),
        ("family_key", 8),
        ("given_norm", 100),
        ("given_key", 8),
        ("postcode_norm", 10),
        ("telephone", 40),
    ),
    "carers": (("postcode", 10), ("telephone", 40)),
    "former_names": (("family_norm", 100), ("family_key", 8), ("given_norm", 100)),
    "retired_cp_ids": (("cp_id", 20),),
    "source_records": (("source_record_id", 64),),
    "field_provenance": (("field", 40),),
}


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')


def _collate(collation: str) -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for table, columns in KEYS.items():
        names = [name for name, _length in columns]
        triggers = connection.execute(
            sa.text(
                "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "WHERE t.tgrelid = CAST(:table AS regclass) AND NOT t.tgisinternal AND EXISTS ("
                "SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.tgrelid "
                "AND a.attnum = ANY(CAST(t.tgattr AS int2[])) AND a.attname = ANY(:names))"
            ),
            {"table": table, "names": names},
        ).all()
        for name, _definition in triggers:
            op.execute(f'DROP TRIGGER "{name}" ON {table}')
        changes = ", ".join(
            f"ALTER COLUMN {name} TYPE varchar({length}) COLLATE {collation}" for name, length in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
        for _name, definition in triggers:
            op.execute(definition)
        op.execute(f"ANALYZE {table}")  # the statistics the type change dropped
