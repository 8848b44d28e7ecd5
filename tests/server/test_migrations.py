"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cpserver.store.migrate import is_current
from cpserver.store.models import Base


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
