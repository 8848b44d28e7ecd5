"""A trail written before chains existed still verifies after the migration, and binds every new chain."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from cpserver.audit import chain
from cpserver.audit.checkpoints import PUBLIC_KEY_NAME, ensure_key, load_public_key
from cpserver.audit.verify import verify
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.migrate import alembic_config, upgrade
from cpserver.store.models import AuditEvent
from tests.server.conftest import _pg_url, _postgres_admin

LEGACY_ROWS = 6


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
        return
    admin = _postgres_admin()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"cp_legacy_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def old_row(seq: int, prev_hash: str) -> dict[str, object]:
    """A row as revision 0004's single chain wrote it (its canonical form had no chain or link)."""
    event = AuditEvent(
        seq=seq, chain=0, occurred_at=dt.datetime(2026, 1, 1, 9, 0, seq, tzinfo=dt.UTC), action="view",
        outcome="disclosed", user_id=7, username="legacy.user", role="practitioner", local_authority_id=1,
        child_pk=seq, reason_code="safeguarding", reason_text=None, workstation="WS-OLD",
        client_address="10.0.0.1",
        shielded=False, shown=["identity"], withheld=[], detail={},
    )  # fmt: skip
    event.prev_hash = prev_hash
    event.hash = chain.chain_hash(chain.canonical(event), prev_hash)
    columns = [*chain.CANONICAL_FIELDS, "prev_hash", "hash"]
    return {name: getattr(event, chain.ATTRIBUTE_OF.get(name, name)) for name in columns}


def test_old_trail_and_old_checkpoint_still_verify_and_bind_new_chains(blank_url, tmp_path):
    engine = make_engine(blank_url, sqlite_immediate=False)
    with engine.begin() as connection:
        cfg = alembic_config(blank_url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0004")
    names = [*chain.CANONICAL_FIELDS, "prev_hash", "hash"]
    table = sa.table("audit_events", *(sa.column(n, AuditEvent.__table__.c[n].type) for n in names))
    assert "child_id" in AuditEvent.__table__.c, "the column keeps its name"
    prev = chain.GENESIS
    rows = []
    for seq in range(1, LEGACY_ROWS + 1):
        rows.append(old_row(seq, prev))
        prev = str(rows[-1]["hash"])
    with engine.begin() as connection:
        connection.execute(sa.insert(table), rows)
    # A version 1 checkpoint, signed as the old code signed it.
    directory = tmp_path / "checkpoints"
    key = ensure_key(tmp_path / "key.pem", directory)
    payload = {"seq": LEGACY_ROWS, "head_hash": prev, "time": "2026-01-01T10:00:00.000000Z"}
    signed = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    (directory / f"checkpoint-{LEGACY_ROWS:015d}.json").write_text(
        json.dumps({**payload, "signature": base64.b64encode(key.sign(signed)).decode()})
    )
    public = load_public_key(directory / PUBLIC_KEY_NAME)

    upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        for child in range(3):
            chain.append(session, AuditEvent(
                occurred_at=dt.datetime.now(dt.UTC), action="view", outcome="disclosed", user_id=8,
                username="new.user", role="practitioner", local_authority_id=1, child_pk=child,
                reason_code="safeguarding", reason_text=None, workstation="WS-NEW", client_address="10.0.0.2",
                shielded=False, shown=[], withheld=[], detail={},
            ))  # fmt: skip
    with make_session_factory(engine)() as session:
        new_rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.chain != 0)).all()
        assert new_rows and all(row.seq > LEGACY_ROWS for row in new_rows)
        firsts = [row for row in new_rows if row.link == 1]
        assert firsts and all(row.prev_hash == prev for row in firsts), "new chains start at the old head"
    report = verify(engine, directory, public)
    assert report.ok, report.summary()
    assert report.rows == LEGACY_ROWS + 3 and report.checkpoints == 1

    # Cutting the old tail now shows without any checkpoint: every new chain starts from it.
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text("DROP TRIGGER audit_events_no_delete"))
        else:
            connection.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(sa.text(f"DELETE FROM audit_events WHERE seq = {LEGACY_ROWS}"))
    report = verify(engine)
    assert not report.ok
    assert {p.kind for p in report.problems} == {"chain_fork"}
    assert all(p.position == 1 for p in report.problems)
    assert len(verify(engine, directory, public).problems) == len(report.problems) + 1  # + truncated_tail
    engine.dispose()
