"""The server's production role may use every table the migrations made, now and later.

0002 granted `cpserver_app` every table that existed then; tables made since (notices, feeds,
the queue, former names) were granted one by one or not at all, so a production server would have
failed on them. This grants them all, and sets the default privileges so a table a later migration
makes is granted too. The audit trail stays append-only for the role (0002's revocation stands).

Revision ID: 0008_app_role_grants
Revises: 0007_retention
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_app_role_grants"
down_revision: str | None = "0007_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "cpserver_app"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}; "
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}; "
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}; "
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}; "
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {APP_ROLE}; "
        f"REVOKE ALL ON alembic_version FROM {APP_ROLE}; "
        f"GRANT SELECT ON alembic_version TO {APP_ROLE}; "
        "END IF; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE}; "
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE}; "
        "END IF; END $$"
    )
