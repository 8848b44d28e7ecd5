"""When a feed is not loaded at all (a training database, a national lockdown, `--initial` into a
directory that is not empty), and what a feed does to an archived child (updates it, never
un-archives it, never makes a duplicate)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cpserver.api.app import API_PREFIX, create_app
from cpserver.audit.verify import verify
from cpserver.cli import main
from cpserver.config import Settings
from cpserver.store.models import AuditEvent, Child, FeedBatch, FormerName, SourceRecord, SystemSetting
from cpserver.store.system import LOCKDOWN_KEY, MODE_KEY
from tests.server.conftest import HARVESTING_LIMITS_LIFTED
from tests.server.feeds_support import NEW_CHILD, distinct_rows, jsonl, load, row, source

BATCHES = f"{API_PREFIX}/feeds/batches"
NDJSON = {"Content-Type": "application/x-ndjson"}


def _set(db: Session, key: str, value: str) -> None:
    if db.get(SystemSetting, key) is None:
        db.add(SystemSetting(key=key, value=value))
    else:
        db.execute(sa.update(SystemSetting).where(SystemSetting.key == key).values(value=value))
    db.commit()


def _counts(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(Child)) or 0,
        db.scalar(select(func.count()).select_from(FeedBatch)) or 0,
        db.scalar(select(func.count()).select_from(SourceRecord)) or 0,
    )


def _cli_load(database_url: str, path: Path, *extra: str) -> int:
    return main(["feed", "load", "--source", "census", "--database", database_url, *extra, str(path)])


def _refusals(db: Session) -> list[str]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.action == "feed_batch", AuditEvent.outcome.like("refused:%")
            )
        )
    )


def test_no_feed_is_loaded_into_a_training_database(
    database_url: str, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _census, credential = source(db)
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(*distinct_rows(3)))
    _set(db, MODE_KEY, "training")
    before = _counts(db)
    assert _cli_load(database_url, feed) == 2
    err = capsys.readouterr().err
    assert "training_database" in err and "fictitious data only" in err
    settings = Settings(database_url=database_url, training=True, **HARVESTING_LIMITS_LIFTED)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post(
            BATCHES, content=feed.read_bytes(), headers={"Authorization": f"Source {credential}", **NDJSON}
        )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "training_database"
    assert _counts(db) == before
    assert _refusals(db) == ["refused:training_database"] * 2


def test_no_feed_is_loaded_during_a_national_lockdown(
    database_url: str, db: Session, client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _census, credential = source(db)
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(*distinct_rows(3)))
    _set(db, LOCKDOWN_KEY, "on")
    before = _counts(db)
    assert _cli_load(database_url, feed) == 2
    assert "locked_down" in capsys.readouterr().err
    headers = {"Authorization": f"Source {credential}", **NDJSON}
    response = client.post(BATCHES, content=feed.read_bytes(), headers=headers)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "locked_down"
    assert _counts(db) == before
    assert _refusals(db) == ["refused:locked_down"] * 2
    # Access restored: the same batch loads.
    _set(db, LOCKDOWN_KEY, "off")
    again = client.post(BATCHES, content=feed.read_bytes(), headers=headers)
    assert again.status_code == 201 and again.json()["rows_created"] == 3


def test_an_initial_load_into_a_directory_with_children_is_refused(
    database_url: str, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source(db)
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(*distinct_rows(3)))
    before = _counts(db)
    assert before[0] > 0  # the test world holds children
    assert _cli_load(database_url, feed, "--initial") == 2
    err = capsys.readouterr().err
    assert "initial_load_not_empty" in err and "without --initial" in err
    assert _counts(db) == before
    assert _cli_load(database_url, feed) == 0  # the ordinary path takes it


def test_a_row_for_an_archived_child_updates_it_and_leaves_it_archived(db: Session) -> None:
    census, _ = source(db)
    assert load(db, census, jsonl(row())).rows_created == 1
    link = db.scalar(select(SourceRecord).where(SourceRecord.source_record_id == "CB-000001"))
    assert link is not None
    archived_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    db.execute(sa.update(Child).where(Child.id == link.child_pk).values(archived_at=archived_at))
    db.commit()
    children = _counts(db)[0]
    # The same record, changed (a later telephone), and the same child under another record id.
    later = (dt.date.fromisoformat(row()["as_of"]) + dt.timedelta(days=1)).isoformat()
    report = load(
        db,
        census,
        jsonl(
            row(telephone="01632 960555", as_of=later),
            row(source_record_id="CB-OTHER", telephone="01632 960555", as_of=later),
        ),
    )
    assert (report.rows_updated, report.rows_matched, report.rows_created, report.rows_held) == (2, 1, 0, 0)
    db.expire_all()
    child = db.get(Child, link.child_pk)
    assert child is not None and child.telephone == "01632 960555"
    assert child.archived_at == archived_at  # never un-archived
    assert _counts(db)[0] == children  # never a duplicate
    other = db.scalar(select(SourceRecord).where(SourceRecord.source_record_id == "CB-OTHER"))
    assert other is not None and other.child_pk == link.child_pk


def test_a_chunks_moves_are_audited_together_and_the_chain_still_verifies(
    db: Session, engine: sa.Engine
) -> None:
    census, _ = source(db)
    rows = distinct_rows(6)
    assert load(db, census, jsonl(*rows)).rows_created == 6
    moved = [{**item, "local_authority": "SWV", "address_line1": "7 Vale Terrace"} for item in rows]
    # The first child is sent twice in the chunk: the last carers sent are the ones kept.
    first_carers = [{**NEW_CHILD["carers"][0], "given_name": "Iris"}]
    last_carers = [{**NEW_CHILD["carers"][0], "given_name": "Maud"}]
    moved[0] = {
        **moved[0],
        "carers": first_carers,
        "former_names": [{"given_name": "", "family_name": "Elder"}],
    }
    again = {
        **moved[0],
        "carers": last_carers,
        "telephone": "01632 960111",
        "date_of_birth": "2019-03-04",  # corrected: the former names carry the new date
        "former_names": [{"given_name": "", "family_name": "Younger"}],
    }
    report = load(db, census, jsonl(*moved, again))
    assert (report.records_moved, report.rows_updated) == (6, 7)
    db.expire_all()
    audits = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "record_moved")))
    assert len(audits) == 6 and len({(a.chain, a.link) for a in audits}) == 6
    assert verify(engine).ok
    link = db.scalar(select(SourceRecord).where(SourceRecord.source_record_id == rows[0]["source_record_id"]))
    assert link is not None
    child = db.get(Child, link.child_pk)
    assert child is not None and [c.given_name for c in child.carers] == ["Maud"]
    stored = db.execute(
        select(FormerName.family_name, FormerName.date_of_birth).where(FormerName.child_pk == child.id)
    ).all()
    assert [tuple(item) for item in stored] == [("Younger", dt.date(2019, 3, 4))]
    assert child.former_names == ["Younger"] and child.date_of_birth == dt.date(2019, 3, 4)
