"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cpserver.store.household_facts import carer_shield_drift
from cpserver.store.migrate import alembic_config, is_current
from cpserver.store.models import Base
from tests.server import world


def test_migrated_schema_matches_the_models(engine):
    assert is_current(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_servers_production_role_may_use_every_table_but_only_append_audit_rows(engine):
    """A table a migration makes without granting it would fail only in production, where the server
    connects as `cpserver_app`: every table is readable and writable by it, the audit trail only
    appendable."""
    if engine.dialect.name != "postgresql":
        pytest.skip("database roles are PostgreSQL's; SQLite has none")
    with engine.connect() as connection:

        def may(table: str, privilege: str) -> bool:
            query = sa.text("SELECT has_table_privilege('cpserver_app', :table, :privilege)")
            return bool(connection.scalar(query, {"table": table, "privilege": privilege}))

        for table in Base.metadata.tables:
            assert may(table, "SELECT") and may(table, "INSERT"), table
            if table != "audit_events":
                assert may(table, "UPDATE") and may(table, "DELETE"), table
        assert not may("audit_events", "UPDATE") and not may("audit_events", "DELETE")
        assert not may("alembic_version", "UPDATE")


FLAG_TRIGGERS = {
    "sqlite": {
        "children_shielded_to_carers",
        "children_shielded_insert_to_carers",
        "carers_child_shielded_insert",
        "carers_child_shielded_update",
    },
    "postgresql": {
        "children_shielded_to_carers",
        "children_shielded_insert_to_carers",
        "carers_child_shielded",
    },
}


def _migrate(engine: sa.Engine, step: str, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        getattr(command, step)(cfg, revision)


def _flag_triggers(connection: sa.Connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return {name for (name,) in connection.exec_driver_sql(query)} & FLAG_TRIGGERS[connection.dialect.name]


def test_0011_flags_the_carers_of_the_shielded_from_the_data_and_comes_off_cleanly(engine) -> None:
    """Down to 0010 and up again on a directory holding shielded households: the upgrade flags
    exactly the carers of shielded children (those written before it too), its triggers work, and
    the downgrade leaves 0010's schema (no column, index, trigger or function of 0011)."""
    _migrate(engine, "downgrade", "0010_shielded_partial_indexes")
    with engine.begin() as connection:
        carers = {column["name"] for column in sa.inspect(connection).get_columns("carers")}
        assert "child_shielded" not in carers
        indexes = {index["name"] for index in sa.inspect(connection).get_indexes("carers")}
        assert not {"ix_carers_shielded_postcode_key", "ix_carers_shielded_telephone_key"} & indexes
        assert _flag_triggers(connection) == set()
        if connection.dialect.name == "postgresql":
            functions = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_proc WHERE proname IN "
                "('children_shielded_to_carers', 'carers_child_shielded')"
            ).scalar()
            assert functions == 0
        # Written under 0010: a carer of the shielded child, and one of a child shielded later.
        for cp_id in (world.SHIELDED, world.NO_SCHOOL):
            connection.execute(
                sa.text(
                    "INSERT INTO carers (child_id, given_name, family_name, relationship_to_child, "
                    "parental_responsibility, address_line1, address_line2, town, postcode, telephone) "
                    "SELECT id, 'Sam', 'Lodger', 'Stepfather', false, '', '', '', 'ZZ1 1TT', '' "
                    "FROM children WHERE cp_id = :cp_id"
                ),
                {"cp_id": cp_id},
            )
    _migrate(engine, "upgrade", "head")
    assert is_current(engine)
    with engine.begin() as connection:
        assert _flag_triggers(connection) == FLAG_TRIGGERS[connection.dialect.name]
        flagged = connection.execute(
            sa.text(
                "SELECT children.cp_id, count(*) FROM carers JOIN children ON children.id = carers.child_id "
                "WHERE carers.child_shielded GROUP BY children.cp_id ORDER BY children.cp_id"
            )
        ).all()
        # The north shielded child's mother, father and stepfather; the south one's mother.
        assert [tuple(row) for row in flagged] == [(world.SHIELDED, 3), (world.SHIELDED_SOUTH, 1)]
        assert carer_shield_drift(connection) == 0
        connection.execute(
            sa.text("UPDATE children SET shielded = true WHERE cp_id = :c"), {"c": world.NO_SCHOOL}
        )
        assert carer_shield_drift(connection) == 0
        assert connection.execute(
            sa.text(
                "SELECT carers.child_shielded FROM carers JOIN children ON children.id = carers.child_id "
                "WHERE children.cp_id = :c"
            ),
            {"c": world.NO_SCHOOL},
        ).scalar_one()


def _collations(connection: sa.Connection) -> dict[tuple[str, str], str | None]:
    rows = connection.exec_driver_sql(
        "SELECT table_name, column_name, collation_name FROM information_schema.columns "
        "WHERE table_schema = 'public'"
    )
    return {(table, column): collation for table, column, collation in rows}


def _keys() -> set[tuple[str, str]]:
    """The columns the models declare as machine keys (`models.Key`: "C" on PostgreSQL)."""
    found = set()
    for table in Base.metadata.tables.values():
        for column in table.columns:
            variant = getattr(column.type, "_variant_mapping", {}).get("postgresql")
            if getattr(variant, "collation", None) == "C":
                found.add((table.name, column.name))
    return found


def _without_statistics(connection: sa.Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The key columns of tables holding rows that have no statistics (pg_stats)."""
    found = set(connection.execute(sa.text("SELECT tablename, attname FROM pg_stats")).tuples())
    holding = {
        table
        for table in {table for table, _column in keys}
        if connection.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {table})").scalar_one()
    }
    assert {"children", "carers", "former_names"} <= holding  # the test has rows to look at
    return {(table, column) for table, column in keys if table in holding and (table, column) not in found}


def test_0015_compares_machine_keys_byte_by_byte_and_keeps_the_retired_id_guard(engine) -> None:
    """Upgraded, the keys collate "C" (the IDs, record ids, normalised names, phonetic keys,
    postcodes and telephones of children, carers and former names, provenance codes); nothing
    else changes collation; the retired-ID trigger, which depends on `cp_id`, is made again and
    still refuses a retired ID; down to 0014 and up again round trips."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares text byte by byte already (BINARY)")
    keys = _keys()
    assert {
        ("children", "cp_id"),
        ("children", "family_norm"),
        ("source_records", "source_record_id"),
    } <= keys
    assert len(keys) == 15
    with engine.connect() as connection:
        collations = _collations(connection)
    assert {column for column, collation in collations.items() if collation == "C"} == keys
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        assert _without_statistics(connection, keys) == set()
    _migrate(engine, "downgrade", "0014_shielded_dob")
    with engine.connect() as connection:
        assert "C" not in _collations(connection).values()
        # The type change dropped them: gathered again, or the planner guesses (a delta ran 1.7
        # times as long on a directory upgraded in place).
        assert _without_statistics(connection, keys) == set()
    _migrate(engine, "upgrade", "head")
    with engine.begin() as connection:
        assert _without_statistics(connection, keys) == set()
        assert {column for column, collation in _collations(connection).items() if collation == "C"} == keys
        connection.exec_driver_sql(
            "INSERT INTO retired_cp_ids (cp_id, retired_at) VALUES ('CP9999999999', now())"
        )
        with pytest.raises(sa.exc.DBAPIError, match="cp_id_retired"), connection.begin_nested():
            connection.exec_driver_sql(
                "UPDATE children SET cp_id = 'CP9999999999' WHERE id = (SELECT MIN(id) FROM children)"
            )
