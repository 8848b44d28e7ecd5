"""An audit append takes its chain, its `seq` and the chain's head in one round trip (PostgreSQL).

`audit_take_chain` does what cpserver.audit.chain did in two statements: try a few chains'
transaction-scoped advisory locks, draw `seq` once one is held (or wait for one when all were
busy), then read that chain's head, or, for a new chain, the legacy chain's last hash. It is
VOLATILE, so its last query takes a fresh snapshot after the lock is held: it sees the previous
holder's row, which was committed before that lock was released. SQLite needs no function (its
writers are serialised by `BEGIN IMMEDIATE`).

Revision ID: 0007_scale
Revises: 0008_app_role_grants
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_scale"
down_revision: str | None = "0008_app_role_grants"  # written beside the others; chained after main's last at merge
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAKE_CHAIN = """
CREATE FUNCTION audit_take_chain(lock_id integer, first_try integer, chains integer, tries integer)
RETURNS TABLE (chain_number integer, seq_number bigint, head_link bigint, head_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    candidate integer;
    drawn bigint;
BEGIN
    FOR attempt IN 0 .. tries - 1 LOOP
        candidate := 1 + (first_try + attempt * 37) % chains;
        IF pg_try_advisory_xact_lock(lock_id, candidate) THEN
            drawn := nextval('audit_event_seq');
            EXIT;
        END IF;
    END LOOP;
    IF drawn IS NULL THEN
        candidate := 1 + first_try % chains;
        PERFORM pg_advisory_xact_lock(lock_id, candidate);
        drawn := nextval('audit_event_seq');
    END IF;
    RETURN QUERY
        SELECT candidate, drawn, e.link, e.hash
        FROM audit_events AS e WHERE e.chain = candidate ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        RETURN QUERY
            SELECT candidate, drawn, NULL::bigint,
                (SELECT e.hash FROM audit_events AS e WHERE e.chain = 0 ORDER BY e.seq DESC LIMIT 1);
    END IF;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TAKE_CHAIN)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_take_chain(integer, integer, integer, integer)")
