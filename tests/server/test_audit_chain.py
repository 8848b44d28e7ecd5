"""The tamper-evident audit trail: every kind of tampering is found at the right place."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cpserver.audit import chain
from cpserver.audit.chain import GENESIS
from cpserver.audit.checkpoints import PUBLIC_KEY_NAME, ensure_key, load_public_key, write_checkpoint
from cpserver.audit.verify import verify
from cpserver.cli import main
from cpserver.store.models import AuditEvent
from tests.server import world


@pytest.fixture
def trail(monkeypatch, client, db, as_role):
    """Twelve or so audit rows from real requests (logins, searches, views), over three chains.

    Three chains instead of hundreds, so that each holds several rows to tamper with.
    """
    monkeypatch.setattr(chain, "CHAINS", 3)
    monkeypatch.setattr(chain, "_spread", itertools.count().__next__)
    for role in ("practitioner", "cmt"):
        headers = as_role(role)
        client.post(
            "/api/v1/searches",
            json={"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()},
            headers=headers,
        )
        for reason in ("safeguarding", "who_else_involved", "providing_service"):
            client.post(f"/api/v1/children/{world.ORDINARY}/views", json={"reason": reason}, headers=headers)
    return db.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


@pytest.fixture
def signed(engine, tmp_path: Path):
    """A signing key and checkpoint folder; returns (write a checkpoint, public key)."""
    directory = tmp_path / "checkpoints"
    key = ensure_key(tmp_path / "key.pem", directory)
    return (
        (lambda: write_checkpoint(engine, key, directory)),
        directory,
        load_public_key(directory / PUBLIC_KEY_NAME),
    )


def tamper(db, *statements: str) -> None:
    """Change audit rows as someone with full database rights would: triggers out of the way."""
    if db.bind.dialect.name == "sqlite":
        db.execute(sa.text("DROP TRIGGER audit_events_no_update"))
        db.execute(sa.text("DROP TRIGGER audit_events_no_delete"))
    else:
        db.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    for statement in statements:
        db.execute(sa.text(statement))
    db.commit()


def chains_of(db) -> dict[int, list[AuditEvent]]:
    """The trail's rows by chain, each in order."""
    found: dict[int, list[AuditEvent]] = {}
    for row in db.scalars(sa.select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)).all():
        found.setdefault(row.chain, []).append(row)
    return found


def longest_chain(db) -> list[AuditEvent]:
    return max(chains_of(db).values(), key=len)


def test_untouched_chain_verifies(engine, trail, signed):
    checkpoint, directory, public = signed
    assert checkpoint().rows == trail
    report = verify(engine, directory, public)
    assert report.ok, report.summary()
    assert report.rows == trail and report.checkpoints == 1
    assert report.summary().startswith(f"OK: {trail} audit rows in 3 chain(s)")


def test_each_chain_is_contiguous_and_linked(db, trail):
    chains = chains_of(db)
    assert set(chains) == {1, 2, 3}, "rows spread over every chain"
    for rows in chains.values():
        assert [r.link for r in rows] == list(range(1, len(rows) + 1))
        assert rows[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    seqs = [r.seq for rows in chains.values() for r in rows]
    assert len(set(seqs)) == trail, "seq still names one row"


def test_modified_row_is_found_at_its_seq(engine, db, trail):
    target = longest_chain(db)[2]
    tamper(db, f"UPDATE audit_events SET reason_code = 'other' WHERE seq = {target.seq}")
    report = verify(engine)
    first = report.first_problem
    assert (first.seq, first.chain, first.position, first.kind) == (
        target.seq,
        target.chain,
        3,
        "modified_row",
    )


def test_deleted_row_is_a_gap(engine, db, trail):
    rows = longest_chain(db)
    tamper(db, f"DELETE FROM audit_events WHERE seq = {rows[1].seq}")
    report = verify(engine)
    first = report.first_problem
    assert (first.chain, first.position, first.seq) == (rows[2].chain, 3, rows[2].seq)
    assert {p.kind for p in report.problems} >= {"missing_row", "chain_fork"}
    assert "positions 2 to 2 of this chain are missing" in report.summary()


def test_deleted_last_rows_are_found_by_the_checkpoint(engine, db, trail, signed):
    checkpoint, directory, public = signed
    checkpoint()
    rows = longest_chain(db)
    tamper(db, f"DELETE FROM audit_events WHERE chain = {rows[0].chain} AND link > {len(rows) - 2}")
    assert verify(engine).ok, "a bare chain cannot see a cut tail..."
    report = verify(engine, directory, public)
    first = report.first_problem
    assert (first.chain, first.position, first.kind) == (rows[0].chain, len(rows) - 1, "truncated_tail")


def test_a_whole_chain_deleted_is_found_by_the_checkpoint(engine, db, trail, signed):
    checkpoint, directory, public = signed
    checkpoint()
    tamper(db, "DELETE FROM audit_events WHERE chain = 2")
    report = verify(engine, directory, public)
    assert (report.first_problem.chain, report.first_problem.kind) == (2, "truncated_tail")


def test_reordered_rows_are_found(engine, db, trail):
    rows = longest_chain(db)
    a, b = rows[2], rows[3]
    tamper(
        db,
        f"UPDATE audit_events SET seq = -1, link = -1 WHERE seq = {a.seq}",
        f"UPDATE audit_events SET seq = {a.seq}, link = 3 WHERE seq = {b.seq}",
        f"UPDATE audit_events SET seq = {b.seq}, link = 4 WHERE seq = -1",
    )
    report = verify(engine)
    assert (report.first_problem.chain, report.first_problem.position) == (a.chain, 3)
    assert report.first_problem.kind in {"chain_fork", "modified_row"}


def test_a_row_moved_to_another_chain_is_found(engine, db, trail):
    chains = chains_of(db)
    moved = chains[1][-1]
    tail = chains[2][-1]
    tamper(db, f"UPDATE audit_events SET chain = 2, link = {tail.link + 1}, prev_hash = '{tail.hash}' "
               f"WHERE seq = {moved.seq}")  # fmt: skip
    report = verify(engine)
    assert any(p.kind == "modified_row" and p.seq == moved.seq for p in report.problems)


def test_rewritten_chain_is_found_by_the_checkpoint(engine, db, trail, signed):
    """Someone edits a row and recomputes every later hash: the chain looks whole, the checkpoint does not."""
    from cpserver.audit.chain import canonical, chain_hash

    checkpoint, directory, public = signed
    checkpoint()
    rows = longest_chain(db)
    tamper(db, f"UPDATE audit_events SET reason_code = 'other' WHERE seq = {rows[1].seq}")
    db.expire_all()
    rows = longest_chain(db)
    prev = rows[0].hash
    for row in rows[1:]:
        row.prev_hash = prev
        row.hash = chain_hash(canonical(row), prev)
        prev = row.hash
    db.commit()
    assert verify(engine).ok
    report = verify(engine, directory, public)
    first = report.first_problem
    assert (first.chain, first.position, first.kind) == (rows[0].chain, len(rows), "chain_fork")


def test_forged_checkpoint_has_a_bad_signature(engine, trail, signed, tmp_path):
    checkpoint, directory, public = signed
    checkpoint()
    path = next(directory.glob("checkpoint-*.json"))
    data = json.loads(path.read_text())
    data["heads"]["1"][0] += 100
    path.write_text(json.dumps(data))
    report = verify(engine, directory, public)
    assert report.first_problem.kind == "bad_signature"
    # Signed with some other key: refused just the same.
    other = tmp_path / "other"
    write_checkpoint(engine, Ed25519PrivateKey.generate(), other)
    report = verify(engine, other, public)
    assert report.first_problem.kind == "bad_signature"


def test_unreadable_checkpoint_is_reported(engine, trail, signed):
    _checkpoint, directory, public = signed
    (directory / "checkpoint-000000000000001.json").write_text("not json")
    assert verify(engine, directory, public).first_problem.kind == "bad_checkpoint"


def test_audit_rows_cannot_be_changed_through_the_database(db, trail):
    for statement in ("UPDATE audit_events SET reason_code = 'other'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.execute(sa.text(statement))
        db.rollback()


@pytest.mark.postgres
def test_application_role_cannot_update_delete_or_truncate_audit_rows(db, trail):
    if db.bind.dialect.name != "postgresql":
        pytest.skip("database roles are a PostgreSQL matter")
    for statement in (
        "UPDATE audit_events SET reason_code = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        db.execute(sa.text("SET ROLE cpserver_app"))
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            db.execute(sa.text(statement))
        db.rollback()
    db.execute(sa.text("SET ROLE cpserver_app"))
    assert db.scalar(sa.text("SELECT count(*) FROM audit_events")) == trail
    db.rollback()


def test_concurrent_writers_never_fork_the_chain(client, db, engine, as_role):
    headers = [
        as_role(name) for name in (world.PRACTITIONER, world.PRACTITIONER_2, world.CMT, world.NATIONAL)
    ]
    errors: list[int] = []

    def views(h):
        for _ in range(8):
            status = client.post(
                f"/api/v1/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, headers=h
            ).status_code
            if status != 200:
                errors.append(status)

    threads = [threading.Thread(target=views, args=(h,)) for h in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(engine)
    assert report.ok, report.summary()
    assert db.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "view")) == 32
    if engine.dialect.name == "postgresql":
        assert len(chains_of(db)) > 1, "concurrent appends spread over chains"


def test_verify_command_exit_codes(database_url, db, trail, tmp_path, capsys):
    directory = tmp_path / "cps"
    assert (
        main(
            [
                "audit",
                "checkpoint",
                "--database",
                database_url,
                "--audit-key",
                str(tmp_path / "k.pem"),
                "--checkpoints",
                str(directory),
            ]
        )
        == 0
    )
    assert main(["audit", "verify", "--database", database_url, "--checkpoints", str(directory)]) == 0
    assert "OK:" in capsys.readouterr().out
    tamper(db, "DELETE FROM audit_events WHERE seq = 2")
    assert main(["audit", "verify", "--database", database_url, "--checkpoints", str(directory)]) == 1
    assert "PROBLEM at seq 5 (chain 2, link 2): missing_row" in capsys.readouterr().out


def test_writers_queued_on_one_chain_each_link_to_the_last_committed_row(
    monkeypatch, client, db, engine, as_role
):
    """With one chain every append waits for the one before: each must read the head that one
    committed (PostgreSQL: `audit_take_chain` reads it in a fresh snapshot, after the lock)."""
    monkeypatch.setattr(chain, "CHAINS", 1)
    headers = [
        as_role(name) for name in (world.PRACTITIONER, world.PRACTITIONER_2, world.CMT, world.NATIONAL)
    ]
    errors: list[int] = []

    def views(h):
        for _ in range(6):
            status = client.post(
                f"/api/v1/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, headers=h
            ).status_code
            if status != 200:
                errors.append(status)

    threads = [threading.Thread(target=views, args=(h,)) for h in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(engine)
    assert report.ok, report.summary()
    rows = chains_of(db)[1]
    assert [row.link for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) >= 24
