"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cpserver.store.migrate import is_current
from cpserver.store.models import Base


def test_migrated_schema_matches_the_models(engine):
    assert is_current(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
