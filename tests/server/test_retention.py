"""Rule 9 to the end: a record leaves search, is archived (opened only by the national team for an
investigation), and is purged six years later; the audit trail keeps its rows and still verifies, and
the ContactPoint ID is never issued again. The clock is moved by running retention as on other days."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.audit.checkpoints import PUBLIC_KEY_NAME, ensure_key, load_public_key, write_checkpoint
from cpserver.audit.verify import verify
from cpserver.cli import main
from cpserver.config import Settings
from cpserver.domain.feeds.apply import new_cp_id
from cpserver.domain.feeds.rows import FeedName
from cpserver.domain.former_names import replace_former_names
from cpserver.domain.names import normalise_name, phonetic_key
from cpserver.domain.retention import ADVISORY_LOCK_KEY, dependent_tables, run_retention, years_before
from cpserver.domain.search import Criteria, find_children
from cpserver.store.models import (
    AuditEvent,
    Carer,
    Child,
    FeedBatch,
    FeedSource,
    FieldProvenance,
    FormerName,
    Involvement,
    MatchReview,
    Notice,
    RecordReport,
    RetiredCpId,
    SourceRecord,
    User,
)
from tests.server import world

TODAY = dt.date.today()
TURNING = "CP9000000001"  # 18 today, no consent (the highest ID on the directory)
CONSENTING = "CP8000000001"  # 18 today, with consent to 25
FAMILY = "Evergreen"
BORN = years_before(TODAY, 18)
INVESTIGATION = {"reason": "investigation", "reason_text": "Incident 42: misuse investigation"}
UNKNOWN = "CP0999999999"


def later(years: int, days: int = 0) -> dt.date:
    """`years` years after today (28 February for a 29 February), plus `days`."""
    return years_before(TODAY, -years) + dt.timedelta(days=days)


def run(db, settings, day: dt.date):
    report = run_retention(db, settings, today=day, now=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))
    db.expire_all()
    return report


def add_child(db, cp_id: str, given: str, born: dt.date, **values: object) -> Child:
    north = db.scalar(sa.select(User.local_authority_id).where(User.username == world.PRACTITIONER))
    child = Child(
        cp_id=cp_id,
        given_name=given,
        family_name=FAMILY,
        family_norm=normalise_name(FAMILY),
        family_key=phonetic_key(FAMILY),
        given_norm=normalise_name(given),
        given_key=phonetic_key(given),
        gender="female",
        date_of_birth=born,
        local_authority_id=north,
        **values,
    )
    db.add(child)
    db.flush()
    return child


def view(client, headers, cp_id, **body):
    return client.post(f"/api/v1/children/{cp_id}/views", json=body, headers=headers)


def found_on(db, settings, day: dt.date) -> set[str]:
    outcome = find_children(
        db,
        Criteria(family=FAMILY, date_of_birth=BORN),
        today=day,
        age=settings.retention_age_years,
        consent_age=settings.retention_consent_age_years,
        max_results=50,
    )
    return {found.cp_id for found in outcome.results}


def same_answer(first, second) -> None:
    """Two responses a caller cannot tell apart."""
    assert first.status_code == second.status_code
    assert first.content == second.content
    skip = {"date", "server-timing"}
    assert {k: v for k, v in first.headers.items() if k not in skip} == {
        k: v for k, v in second.headers.items() if k not in skip
    }


@pytest.fixture
def signed(engine, tmp_path):
    directory = tmp_path / "checkpoints"
    key = ensure_key(tmp_path / "audit-key.pem", directory)
    return (
        (lambda: write_checkpoint(engine, key, directory)),
        directory,
        load_public_key(directory / PUBLIC_KEY_NAME),
    )


def test_the_clock_moves_through_a_childs_life(client, db, engine, settings, as_role, signed):
    turning = add_child(db, TURNING, "Wren", BORN)
    add_child(db, CONSENTING, "Hazel", BORN, consent_to_25=True)
    db.add(Carer(child_pk=turning.id, given_name="Ma", family_name=FAMILY, relationship_to_child="Mother"))
    replace_former_names(db, turning, [FeedName("Oldwren", "Wren")])
    db.commit()
    turning_pk = turning.id

    # The day before the 18th birthday: still a child, found, not archived.
    assert {TURNING, CONSENTING} <= found_on(db, settings, TODAY - dt.timedelta(days=1))
    run(db, settings, TODAY - dt.timedelta(days=1))
    assert db.scalar(sa.select(Child.archived_at).where(Child.cp_id == TURNING)) is None

    # The birthday: the record leaves search and is archived; the consenting one stays.
    report = run(db, settings, TODAY)
    assert report.archived >= 1 and not report.skipped
    archived_at = db.scalar(sa.select(Child.archived_at).where(Child.cp_id == TURNING))
    assert archived_at is not None and archived_at.date() == TODAY
    assert db.scalar(sa.select(Child.archived_at).where(Child.cp_id == CONSENTING)) is None
    assert found_on(db, settings, TODAY) >= {CONSENTING} and TURNING not in found_on(db, settings, TODAY)
    again = run(db, settings, TODAY)  # idempotent
    assert (again.archived, again.purged) == (0, 0)

    practitioner, cmt, national = as_role("practitioner"), as_role("cmt"), as_role("national")
    searched = client.post(
        "/api/v1/searches", json={"family": FAMILY, "date_of_birth": BORN.isoformat()}, headers=practitioner
    )
    assert {r["id"] for r in searched.json()["results"]} == {CONSENTING}

    # The archive: to everyone but the national team investigating, an unknown ID.
    for headers, body in (
        (practitioner, {"reason": "safeguarding"}),
        (cmt, {"reason": "safeguarding"}),
        (national, {"reason": "safeguarding"}),
        (national, {"reason": "other", "reason_text": "Looking at an old record"}),
    ):
        archived = view(client, headers, TURNING, **body)
        same_answer(archived, view(client, headers, UNKNOWN, **body))
        assert archived.status_code == 404
    for headers in (practitioner, cmt):  # the reason is the national team's only
        refused = view(client, headers, TURNING, **INVESTIGATION)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "reason_unknown"
        same_answer(refused, view(client, headers, UNKNOWN, **INVESTIGATION))
    unexplained = view(client, national, TURNING, reason="investigation")
    assert unexplained.json()["error"]["code"] == "reason_text_required"
    same_answer(unexplained, view(client, national, UNKNOWN, reason="investigation"))
    opened = view(client, national, TURNING, **INVESTIGATION)
    assert opened.status_code == 200, opened.json()
    assert opened.json()["id"] == TURNING and opened.json()["archived_on"] == TODAY.isoformat()
    row = db.scalars(
        sa.select(AuditEvent).where(AuditEvent.child_pk == turning_pk, AuditEvent.outcome == "disclosed")
    ).one()
    assert row.reason_code == "investigation" and row.reason_text == INVESTIGATION["reason_text"]
    assert row.detail["archived"] is True and row.username == world.NATIONAL
    ordinary = view(client, practitioner, world.ORDINARY, reason="safeguarding")
    assert ordinary.json()["archived_on"] is None

    # Six years in the archive, less a day: kept. Six years: purged.
    checkpoint, directory, public = signed
    checkpoint()
    audit_rows = db.scalar(sa.select(sa.func.count()).where(AuditEvent.child_pk == turning_pk))
    run(db, settings, later(6, -1))
    assert db.scalar(sa.select(Child.id).where(Child.cp_id == TURNING)) == turning_pk
    purge = run(db, settings, later(6))
    assert purge.purged == 1
    assert db.scalar(sa.select(Child.id).where(Child.cp_id == TURNING)) is None
    for model in (Carer, FormerName, Involvement):
        assert db.scalar(sa.select(sa.func.count()).where(model.child_pk == turning_pk)) == 0
    # The audit trail keeps its rows, and it and the signed checkpoints verify.
    assert db.scalar(sa.select(sa.func.count()).where(AuditEvent.child_pk == turning_pk)) == audit_rows
    runs = db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "retention_run")).all()
    assert runs[-1].detail == {"today": later(6).isoformat(), "archived": 0, "purged": 1}
    checkpoint()
    report = verify(engine, directory, public)
    assert report.ok, report.summary()
    assert report.checkpoints == 2
    # Gone for the national team too, and not by another name.
    same_answer(
        view(client, national, TURNING, **INVESTIGATION), view(client, national, UNKNOWN, **INVESTIGATION)
    )

    # The consenting young person stays until the 25th birthday, then is archived.
    assert db.scalar(sa.select(Child.archived_at).where(Child.cp_id == CONSENTING)) is None
    run(db, settings, later(7, -1))
    assert db.scalar(sa.select(Child.archived_at).where(Child.cp_id == CONSENTING)) is None
    run(db, settings, later(7))
    assert db.scalar(sa.select(Child.archived_at).where(Child.cp_id == CONSENTING)) is not None

    # The ContactPoint ID is never issued again, by any path.
    assert db.get(RetiredCpId, TURNING) is not None
    assert new_cp_id(db) != TURNING
    with pytest.raises(sa.exc.IntegrityError):
        add_child(db, TURNING, "Newcomer", TODAY - dt.timedelta(days=30))
    db.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        db.execute(sa.update(Child).where(Child.cp_id == world.ORDINARY).values(cp_id=TURNING))
    db.rollback()


def test_the_purge_leaves_nothing_about_the_child(db, settings):
    """Every row that names the child goes (each table with a key to children), others' stay."""
    assert {table.name for table, _ in dependent_tables()} == {
        "carers",
        "involvements",
        "notices",
        "former_names",
        "field_provenance",
        "source_records",
        "match_reviews",
        "record_reports",
    }
    gone = add_child(
        db, TURNING, "Wren", years_before(TODAY, 30), archived_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    kept = add_child(db, "CP7000000001", "Ivy", BORN)
    practitioner = db.scalars(sa.select(User).where(User.username == world.PRACTITIONER)).one()
    source = FeedSource(name="census", kind="national", priority=10)
    db.add(source)
    db.flush()
    batch = FeedBatch(source_id=source.id, via="file", digest="0" * 64)
    db.add(batch)
    db.flush()
    for child in (gone, kept):
        db.add(Carer(child_pk=child.id, given_name="Ma", family_name=FAMILY, relationship_to_child="Mother"))
        involvement = Involvement(
            child_pk=child.id,
            practitioner_name="Pat",
            practitioner_role="Nurse",
            organisation_name="Health",
            telephone="",
            email="",
            service_type="health_visitor",
            started_on=TODAY,
        )
        db.add(involvement)
        db.flush()
        db.add(
            Notice(
                recipient_user_id=practitioner.id,
                child_pk=child.id,
                involvement_id=involvement.id,
                event="added",
                local_authority_id=child.local_authority_id,
                follow_up_due_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            )
        )
        replace_former_names(db, child, [FeedName("Old"), FeedName("Birth", closed_for_adoption=True)])
        for field in ("address", "*acdeh"):  # a row of its own, and the child's default row
            db.add(
                FieldProvenance(
                    child_pk=child.id,
                    field=field,
                    source_id=source.id,
                    batch_id=batch.id,
                    priority=10,
                    as_of=TODAY,
                )
            )
        db.add(
            SourceRecord(
                source_id=source.id,
                source_record_id=f"R{child.id}",
                child_pk=child.id,
                row_digest="0" * 64,
                last_batch_id=batch.id,
            )
        )
        db.add(
            RecordReport(
                child_pk=child.id,
                reporter_user_id=practitioner.id,
                problem="wrong_address",
                local_authority_id=child.local_authority_id,
            )
        )
    for candidate, result in ((gone.id, None), (kept.id, gone.id), (kept.id, kept.id)):
        db.add(
            MatchReview(
                batch_id=batch.id,
                source_id=source.id,
                row_number=1,
                source_record_id="R",
                incoming={},
                candidate_child_pk=candidate,
                result_child_pk=result,
                match_probability=0.5,
                held_because="possible_match",
                local_authority_id=gone.local_authority_id,
            )
        )
    db.commit()
    gone_pk, kept_pk = gone.id, kept.id

    assert run(db, settings, TODAY).purged == 1
    assert db.get(Child, gone_pk) is None and db.get(Child, kept_pk) is not None
    for model in (Carer, Involvement, Notice, FormerName, FieldProvenance, SourceRecord, RecordReport):
        assert db.scalar(sa.select(sa.func.count()).where(model.child_pk == gone_pk)) == 0, model
        assert db.scalar(sa.select(sa.func.count()).where(model.child_pk == kept_pk)) > 0, model
    reviews = db.execute(sa.select(MatchReview.candidate_child_pk, MatchReview.result_child_pk)).all()
    assert reviews == [(kept_pk, kept_pk)]


def test_retention_run_command_reports_counts_only(database_url, db, capsys):
    assert main(["retention", "run", "--database", database_url, "--today", TODAY.isoformat()]) == 0
    first = capsys.readouterr().out
    assert f"retention run for {TODAY.isoformat()}: archived 1, purged 0" in first  # PAST_18
    assert main(["retention", "run", "--database", database_url, "--today", TODAY.isoformat()]) == 0
    assert "archived 0, purged 0" in capsys.readouterr().out
    assert main(["retention", "run", "--database", database_url, "--today", later(6, 1).isoformat()]) == 0
    out = capsys.readouterr().out
    assert "archived 1, purged 1" in out  # CONSENT_25 reaches 25; PAST_18 purged
    assert world.PAST_18 not in first + out and "Thistlewood" not in first + out
    runs = db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "retention_run")).all()
    assert [(r.detail["archived"], r.detail["purged"]) for r in runs] == [(1, 0), (0, 0), (1, 1)]
    assert all(r.user_id is None and r.child_pk is None for r in runs)


def test_a_bad_date_is_refused(database_url, capsys):
    with pytest.raises(SystemExit):
        main(["retention", "run", "--database", database_url, "--today", "31/12/2030"])
    assert "YYYY-MM-DD" in capsys.readouterr().err


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_serve_runs_retention_once_a_day_on_one_node(database_url, engine):
    settings = Settings(database_url=database_url, retention_run_daily=True, retention_check_seconds=1)

    def runs() -> int:
        with engine.connect() as connection:
            return connection.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "retention_run"))

    # Two servers on one database, both looking every second: one run today, whoever made it.
    first_app, second_app = create_app(settings), create_app(settings)
    with TestClient(first_app), TestClient(second_app):
        wait_for(lambda: runs() == 1)
        wait_for(
            lambda: len(first_app.state.retention.runs) >= 3 and len(second_app.state.retention.runs) >= 3
        )
        assert runs() == 1
    with engine.connect() as connection:
        archived = connection.scalar(sa.select(Child.archived_at).where(Child.cp_id == world.PAST_18))
    assert archived is not None


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_node_finding_the_run_in_progress_elsewhere_skips_it(database_url, engine, db, settings):
    with engine.connect() as other:
        assert other.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        report = run(db, settings, TODAY)
        assert report.skipped and (report.archived, report.purged) == (0, 0)
        assert db.scalar(sa.select(Child.archived_at).where(Child.cp_id == world.PAST_18)) is None
        other.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
    assert run(db, settings, TODAY).archived == 1
