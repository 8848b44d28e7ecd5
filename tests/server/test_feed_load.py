"""Loading feed batches: create, match, update, the winning rule, services by source, moves, and
safety (the same file twice, malformed files, a crash mid-file, no personal data in the report)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cpserver.config import Settings
from cpserver.domain import notices
from cpserver.domain.feeds.apply import child_provenance
from cpserver.domain.feeds.load import load_feed
from cpserver.store.models import (
    AuditEvent,
    Carer,
    Child,
    FeedBatch,
    FieldProvenance,
    FormerName,
    Involvement,
    LocalAuthority,
    MatchReview,
    Notice,
    SourceRecord,
    User,
)
from tests.server import world
from tests.server.feeds_support import (
    GP_CODE,
    NEW_CHILD,
    SCHOOL_CODE,
    KeptMail,
    distinct_rows,
    give_codes,
    jsonl,
    load,
    row,
    source,
)

SERVICE = {
    "service_type": "family_support",
    "organisation_name": "Brambleford Family Centre",
    "practitioner_name": "Robin Ashdown",
    "practitioner_role": "Family support worker",
    "telephone": "01632 960888",
    "email": "robin.ashdown@brambleford.example",
    "started_on": "2026-01-05",
}


def child_of(db: Session, source_id: int, record_id: str) -> Child:
    db.expire_all()
    link = db.scalar(
        select(SourceRecord).where(
            SourceRecord.source_id == source_id, SourceRecord.source_record_id == record_id
        )
    )
    assert link is not None
    found = db.get(Child, link.child_pk)
    assert found is not None
    return found


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    tables = (Child, Carer, Involvement, FormerName, FieldProvenance, SourceRecord, MatchReview)
    return {table.__tablename__: db.scalar(select(func.count()).select_from(table)) or 0 for table in tables}


def test_a_new_child_is_created_with_its_keys_carers_and_provenance(db: Session) -> None:
    give_codes(db)
    census, _ = source(db)
    report = load(db, census, jsonl(row(education_setting=SCHOOL_CODE, gp_practice=GP_CODE)))
    assert (report.rows_read, report.rows_created, report.rows_rejected, report.status) == (1, 1, 0, "done")
    child = child_of(db, census.id, "CB-000001")
    assert re.fullmatch(r"CP\d{10}", child.cp_id)
    assert (child.family_norm, child.given_norm, child.postcode, child.postcode_norm) == (
        "fernsworth",
        "pippa",
        "ZZ1 7XY",
        "ZZ17XY",
    )
    assert child.family_key == "F652" and child.local_authority.code == "NMR"
    assert child.education_setting is not None and child.education_setting.code == SCHOOL_CODE
    assert child.gp_practice is not None and child.gp_practice.code == GP_CODE
    assert [(c.given_name, c.relationship_to_child, c.postcode) for c in child.carers] == [
        ("Hazel", "Mother", "ZZ1 7XY")
    ]
    assert child.former_names == ["Pippa Oakhurst"]
    provenance = child_provenance(db, child.id)
    assert {"given_name", "family_name", "address", "carers", "former_names", "education_setting"} <= set(
        provenance
    )
    assert all(p.source_id == census.id and p.batch_id == report.batch_id for p in provenance.values())
    batch = db.get(FeedBatch, report.batch_id)
    assert (
        batch is not None and batch.status == "done" and batch.rows_created == 1 and len(batch.digest) == 64
    )


def test_the_same_file_twice_changes_nothing_the_second_time(db: Session) -> None:
    council, _ = source(db, "northmere-cs", kind="local_authority", priority=60, authority="NMR")
    data = jsonl(
        row(services=[SERVICE]), row(source_record_id="CB-000002", given_name="Tansy", family_name="Quarrell")
    )
    first = load(db, council, data)
    assert first.rows_created == 2
    before = counts(db)
    second = load(db, council, data)
    assert (second.rows_read, second.rows_unchanged, second.rows_created, second.rows_updated) == (2, 2, 0, 0)
    assert counts(db) == before


def test_a_record_sent_twice_in_one_file_is_one_child(db: Session) -> None:
    census, _ = source(db)
    start = counts(db)
    later = (world.TODAY + dt.timedelta(days=1)).isoformat()
    first, other = distinct_rows(2)
    report = load(
        db, census, jsonl(first, other, first, {**first, "telephone": "01632 960123", "as_of": later})
    )
    assert (report.rows_created, report.rows_unchanged, report.rows_updated) == (2, 1, 1)
    assert counts(db)["children"] == start["children"] + 2
    assert child_of(db, census.id, first["source_record_id"]).telephone == "01632 960123"


def test_one_child_written_twice_in_one_chunk_by_two_record_ids(db: Session) -> None:
    census, _ = source(db)
    known = row(
        source_record_id="CB-ORD",
        given_name="Amelia",
        family_name=world.ORDINARY_FAMILY,
        date_of_birth=world.ORDINARY_DOB.isoformat(),
        postcode=world.ORDINARY_POSTCODE,
        former_names=[],
    )
    assert load(db, census, jsonl(known)).rows_matched == 1
    later = (world.TODAY + dt.timedelta(days=1)).isoformat()
    again = {**known, "source_record_id": "CB-ORD-2"}  # the source's duplicate of the same child
    changed = {**known, "telephone": "01632 960321", "as_of": later}
    report = load(db, census, jsonl(again, changed))
    assert (report.rows_matched, report.rows_updated, report.rows_rejected) == (1, 2, 0)
    child = child_of(db, census.id, "CB-ORD")
    assert child.cp_id == world.ORDINARY and child_of(db, census.id, "CB-ORD-2").id == child.id
    assert child.telephone == "01632 960321"


def test_a_changed_row_updates_the_same_child(db: Session) -> None:
    census, _ = source(db)
    load(db, census, jsonl(row()))
    moved_house = row(
        address_line1="4 Hawthorn Way",
        postcode="ZZ1 8AB",
        as_of=(world.TODAY + dt.timedelta(days=1)).isoformat(),
    )
    report = load(db, census, jsonl(moved_house))
    assert (report.rows_updated, report.rows_created) == (1, 0)
    child = child_of(db, census.id, "CB-000001")
    assert (child.address_line1, child.postcode_norm) == ("4 Hawthorn Way", "ZZ18AB")
    assert counts(db)["children"] == len(db.scalars(select(Child.id)).all())


def test_the_winning_rule(db: Session) -> None:
    """Higher priority wins; at equal priority the same or a newer as_of wins; else the field is kept."""
    census, _ = source(db, "census", priority=50)
    health, _ = source(db, "health", priority=40)
    benefit, _ = source(db, "benefit", priority=50)
    load(db, census, jsonl(row(telephone="01632 960001")))
    child = child_of(db, census.id, "CB-000001")
    # A lower-priority source links to the child by matching, but its telephone is kept out.
    lower = load(db, health, jsonl(row(source_record_id="H-1", telephone="01632 960002")))
    assert lower.rows_matched == 1 and lower.fields_kept >= 1
    assert child_of(db, health.id, "H-1").id == child.id
    assert child_of(db, census.id, "CB-000001").telephone == "01632 960001"
    # Equal priority, older facts: kept.
    older = (world.TODAY - dt.timedelta(days=30)).isoformat()
    stale = load(db, benefit, jsonl(row(source_record_id="B-1", telephone="01632 960003", as_of=older)))
    assert stale.fields_kept >= 1
    assert child_of(db, census.id, "CB-000001").telephone == "01632 960001"
    # Equal priority, newer facts: written, and the provenance says so.
    newer = (world.TODAY + dt.timedelta(days=1)).isoformat()
    load(db, benefit, jsonl(row(source_record_id="B-1", telephone="01632 960004", as_of=newer)))
    updated = child_of(db, census.id, "CB-000001")
    assert updated.telephone == "01632 960004"
    telephone = child_provenance(db, updated.id).get("telephone")
    assert telephone is not None and (telephone.source_id, telephone.as_of.isoformat()) == (benefit.id, newer)
    # An empty field says nothing: the stored telephone stays.
    load(db, census, jsonl(row(telephone="", as_of=(world.TODAY + dt.timedelta(days=2)).isoformat())))
    assert child_of(db, census.id, "CB-000001").telephone == "01632 960004"


def test_unknown_school_or_gp_codes_reject_the_row(db: Session) -> None:
    census, _ = source(db)
    report = load(
        db,
        census,
        jsonl(row(education_setting="0000000"), row(source_record_id="CB-2", gp_practice="Q99999")),
    )
    assert report.rejections == [
        {"row": 1, "code": "unknown_education_setting"},
        {"row": 2, "code": "unknown_gp_practice"},
    ]
    assert counts(db)["children"] == len(db.scalars(select(Child.id)).all())
    assert report.rows_created == 0


def test_a_councils_services_replace_only_its_own(db: Session, engine: Engine) -> None:
    council, _ = source(db, "northmere-cs", kind="local_authority", priority=60, authority="NMR")
    other, _ = source(db, "northmere-health", kind="local_authority", priority=60, authority="NMR")
    load(db, council, jsonl(row(services=[SERVICE])))
    child = child_of(db, council.id, "CB-000001")
    # A practitioner records their own involvement; another council system sends its own service.
    db.add(
        Involvement(
            child_pk=child.id,
            practitioner_user_id=None,
            practitioner_name="Own Record",
            practitioner_role="Health visitor",
            organisation_name="Brambleford Health",
            telephone="01632 960999",
            email="own@brambleford.example",
            service_type="health_visitor",
            started_on=world.TODAY,
        )
    )
    db.commit()
    load(
        db,
        other,
        jsonl(row(source_record_id="NH-1", services=[{**SERVICE, "service_type": "speech_language"}])),
    )
    newer = (world.TODAY + dt.timedelta(days=1)).isoformat()
    replaced = {**SERVICE, "service_type": "education_welfare", "practitioner_name": "Kit Yarrow"}
    load(db, council, jsonl(row(services=[replaced], as_of=newer)))
    db.expire_all()
    found = sorted(
        (i.service_type, i.practitioner_name, i.source_id, i.ended_on)
        for i in db.scalars(select(Involvement).where(Involvement.child_pk == child.id))
    )
    # The council's service it no longer sends is ended on the row's as_of, not deleted.
    assert found == sorted(
        [
            ("education_welfare", "Kit Yarrow", council.id, None),
            ("family_support", "Robin Ashdown", council.id, dt.date.fromisoformat(newer)),
            ("health_visitor", "Own Record", None, None),
            ("speech_language", "Robin Ashdown", other.id, None),
        ]
    )
    national, _ = source(db, "census")
    refused = load(db, national, jsonl(row(source_record_id="C-1", services=[SERVICE])))
    assert refused.rejections == [{"row": 1, "code": "services_not_allowed"}]


def test_a_council_resending_its_services_after_a_practitioner_joined_loses_nothing(db: Session) -> None:
    """A practitioner who joins a child the council's feed serves is told of the feed's service; the
    council's next load drops it (ends it, keeping its row), which must not fail on the notice
    pointing at it (it did on PostgreSQL when the load deleted and re-inserted services)."""
    council, _ = source(db, "northmere-cs", kind="local_authority", priority=60, authority="NMR")
    load(db, council, jsonl(row(services=[SERVICE])))
    child = child_of(db, council.id, "CB-000001")
    practitioner = db.scalar(select(User).where(User.username == world.PRACTITIONER))
    assert practitioner is not None
    joined = Involvement(
        child_pk=child.id,
        practitioner_user_id=practitioner.id,
        practitioner_name="Sam Practitioner",
        practitioner_role="Health visitor",
        organisation_name="Brambleford Health",
        telephone="01632 960999",
        email="sam@brambleford.example",
        service_type="health_visitor",
        started_on=world.TODAY,
    )
    db.add(joined)
    db.flush()
    (told,) = notices.after_involvement_added(db, Settings(), joined, dt.datetime.now(dt.UTC))
    db.commit()
    fed_id = told.involvement_id
    assert db.get(Involvement, fed_id).source_id == council.id  # type: ignore[union-attr]
    newer = (world.TODAY + dt.timedelta(days=1)).isoformat()
    replaced = {**SERVICE, "service_type": "education_welfare", "practitioner_name": "Kit Yarrow"}
    report = load(db, council, jsonl(row(services=[replaced], as_of=newer)))
    assert report.rows_rejected == 0 and report.rows_updated == 1
    db.expire_all()
    found = sorted(
        (i.service_type, i.source_id, i.ended_on is None)
        for i in db.scalars(select(Involvement).where(Involvement.child_pk == child.id))
    )
    assert found == [
        ("education_welfare", council.id, True),
        ("family_support", council.id, False),
        ("health_visitor", None, True),
    ]
    kept = db.get(Notice, told.id)
    assert kept is not None and kept.involvement_id == fed_id
    assert db.get(Involvement, fed_id).ended_on is not None  # type: ignore[union-attr]


def test_a_row_like_an_existing_child_is_matched_or_held(db: Session) -> None:
    census, _ = source(db)
    ordinary = row(
        source_record_id="CB-ORD",
        given_name="Amelia",
        family_name=world.ORDINARY_FAMILY,
        date_of_birth=world.ORDINARY_DOB.isoformat(),
        postcode=world.ORDINARY_POSTCODE,
    )
    # The same name and birthday with nothing else to go on: a person decides.
    doubtful = {**ordinary, "source_record_id": "CB-DOUBT", "postcode": "", "carers": []}
    report = load(db, census, jsonl(ordinary, doubtful))
    assert (report.rows_matched, report.rows_updated, report.rows_held, report.rows_created) == (1, 1, 1, 0)
    existing = db.scalar(select(Child).where(Child.cp_id == world.ORDINARY))
    assert existing is not None and child_of(db, census.id, "CB-ORD").id == existing.id
    review = db.scalar(select(MatchReview))
    assert review is not None
    assert (review.held_because, review.candidate_child_pk, review.status, review.row_number) == (
        "possible_match",
        existing.id,
        "open",
        2,
    )
    assert review.local_authority_id == existing.local_authority_id
    assert review.incoming["source_record_id"] == "CB-DOUBT" and review.incoming["postcode"] == ""
    # Sent again, the held row stays one review, not two.
    again = load(db, census, jsonl(doubtful))
    assert again.rows_held == 1
    assert counts(db)["match_reviews"] == 1


def test_a_held_row_sent_twice_in_one_chunk_is_one_review_of_the_later_row(db: Session) -> None:
    """A chunk's held rows are written together at its end: two held rows under one record id are
    still one open review, holding the later row (as when the second updated the first's)."""
    census, _ = source(db)
    doubtful = row(
        source_record_id="CB-DOUBT",
        given_name="Amelia",
        family_name=world.ORDINARY_FAMILY,
        date_of_birth=world.ORDINARY_DOB.isoformat(),
        postcode="",
        carers=[],
    )
    other = row(
        source_record_id="CB-OTHER",
        given_name="Amelia",
        family_name=world.ORDINARY_FAMILY,
        date_of_birth=world.ORDINARY_DOB.isoformat(),
        postcode="",
        carers=[],
    )
    report = load(db, census, jsonl(doubtful, other, {**doubtful, "telephone": "01632 960123"}))
    assert (report.rows_held, report.rows_created) == (3, 0)
    reviews = {review.source_record_id: review for review in db.scalars(select(MatchReview))}
    assert sorted(reviews) == ["CB-DOUBT", "CB-OTHER"]
    assert (reviews["CB-DOUBT"].row_number, reviews["CB-DOUBT"].incoming["telephone"]) == (3, "01632 960123")
    assert reviews["CB-OTHER"].row_number == 2 and reviews["CB-DOUBT"].status == "open"


def test_a_move_changes_authority_keeps_the_rest_and_tells_both_teams(db: Session) -> None:
    census, _ = source(db, priority=90)
    mail = KeptMail()
    ordinary = db.scalar(select(Child).where(Child.cp_id == world.ORDINARY))
    assert ordinary is not None
    involvements = sorted(i.id for i in ordinary.involvements)
    known = row(
        source_record_id="CB-ORD",
        given_name="Amelia",
        family_name=world.ORDINARY_FAMILY,
        date_of_birth=world.ORDINARY_DOB.isoformat(),
        postcode=world.ORDINARY_POSTCODE,
        former_names=[],
    )
    assert load(db, census, jsonl(known)).rows_matched == 1  # the source's record id is linked
    moved = {**known, "postcode": "ZZ93 1AA", "address_line1": "7 Vale Terrace", "local_authority": "SWV"}
    report = load(db, census, jsonl(moved), mailer=mail)
    assert report.records_moved == 1
    db.expire_all()
    child = db.scalar(select(Child).where(Child.cp_id == world.ORDINARY))
    assert child is not None and child.local_authority.code == "SWV"
    assert sorted(i.id for i in child.involvements) == involvements
    assert sorted(m["to"] for m in mail.sent) == [
        "contactpoint@northmere.example",
        "contactpoint@southwold.example",
    ]
    for message in mail.sent:
        text = message["subject"] + message["body"]
        assert world.ORDINARY in text
        for value in (
            "Amelia",
            world.ORDINARY_FAMILY,
            "ZZ93",
            "Vale Terrace",
            world.ORDINARY_DOB.isoformat(),
        ):
            assert value not in text
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "record_moved"))
    assert audit is not None and audit.child_pk == child.id and audit.username == "source:census"
    north = db.scalar(select(LocalAuthority.id).where(LocalAuthority.code == "NMR"))
    assert audit.local_authority_id == north and audit.detail["from"] == "NMR" and audit.detail["to"] == "SWV"


# --- safety ----------------------------------------------------------------------------------------


def test_a_malformed_file_loses_nothing_stored(db: Session) -> None:
    census, _ = source(db)
    load(db, census, jsonl(row()))
    before = counts(db)
    child = child_of(db, census.id, "CB-000001")
    stored = (child.given_name, child.address_line1, child.telephone)
    bad = (
        jsonl(row(given_name="Pip\u0000")).replace(b"Pip\\u0000", b"Pip\xff")
        + b'{"source_record_id": "CB-000001", "given_name": "Trunc'
    )
    report = load(db, census, bad)
    assert [r["code"] for r in report.rejections] == ["bad_encoding", "bad_json"]
    assert counts(db) == before
    child = child_of(db, census.id, "CB-000001")
    assert (child.given_name, child.address_line1, child.telephone) == stored
    csv_report = load(db, census, b"name,age\nPippa,6\n", fmt="csv")
    assert (csv_report.status, csv_report.refused) == ("refused", "wrong_header")
    batch = db.get(FeedBatch, csv_report.batch_id)
    assert (
        batch is not None
        and batch.status == "refused"
        and batch.rejections == [{"row": 0, "code": "wrong_header"}]
    )
    assert counts(db) == before


class CrashAfter(io.RawIOBase):
    """A file whose reading fails after `limit` bytes (a disk error, a killed transfer)."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit, self.position = data, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.position >= self.limit:
            raise OSError("the disk went away")
        chunk = self.data[self.position : min(self.position + len(buffer), self.limit)]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


def test_a_crash_mid_file_keeps_what_was_committed_and_a_rerun_completes(db: Session) -> None:
    census, _ = source(db)
    rows = distinct_rows(25)
    data = jsonl(*rows)
    start = counts(db)["children"]
    with pytest.raises(OSError):
        load_feed(
            db,
            source=census,
            stream=CrashAfter(data, len(data) // 2),
            fmt="jsonl",
            via="file",
            mailer=KeptMail(),
            chunk_rows=5,
        )
    db.rollback()
    done = counts(db)["children"] - start
    assert 0 < done < 25 and done % 5 == 0  # whole chunks only
    crashed = db.scalar(select(FeedBatch).order_by(FeedBatch.id.desc()))
    assert crashed is not None and crashed.status == "running" and crashed.rows_created == done
    rerun = load(db, census, data, chunk_rows=5)
    assert (rerun.rows_unchanged, rerun.rows_created) == (done, 25 - done)
    assert counts(db)["children"] - start == 25


def test_no_personal_data_in_the_report_logs_or_audit(db: Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    census, _ = source(db)
    secret = row(
        source_record_id="CB-SECRET1",
        given_name="Quintessa",
        family_name="Marchbanks",
        address_line1="99 Secretive Lane",
        postcode="ZZ9 9SL",
        telephone="01632 969999",
    )
    rejected = {
        **secret,
        "source_record_id": "CB-SECRET2",
        "gender": "Quintessaish",
        "case_notes": "Marchbanks said",
    }
    report = load(
        db,
        census,
        jsonl(secret, rejected, {**secret, "source_record_id": "CB-SECRET3", "date_of_birth": "Quintessa"}),
    )
    assert report.rows_created == 1 and report.rows_rejected == 2
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "feed_batch")).all()
    assert audit and audit[-1].username == "source:census"
    batch = db.get(FeedBatch, report.batch_id)
    shown = json.dumps(report.as_dict()) + json.dumps(batch.rejections if batch else []) + caplog.text
    shown += json.dumps([a.detail for a in audit]) + "".join(a.outcome for a in audit)
    for value in (
        "Quintessa",
        "Marchbanks",
        "Secretive",
        "ZZ9 9SL",
        "ZZ99SL",
        "969999",
        "CB-SECRET",
        "case_notes",
    ):
        assert value.lower() not in shown.lower(), value


def test_adding_a_source_keeps_only_the_credentials_hash(db: Session) -> None:
    _census, credential = source(db)
    db.expire_all()
    stored = db.execute(sa.text("select token_hash from feed_sources where name = 'census'")).scalar_one()
    assert credential not in stored and len(stored) == 64
    import hashlib

    assert stored == hashlib.sha256(credential.encode()).hexdigest()
    assert NEW_CHILD["family_name"] not in stored


# --- a delta's writes: carers diffed, moves told in one message, no statement per row -------------


def _carer(given: str, telephone: str, relationship: str = "Mother") -> dict[str, Any]:
    return {
        "given_name": given,
        "family_name": "Fernsworth",
        "relationship_to_child": relationship,
        "parental_responsibility": True,
        "address_line1": "12 Larch Close",
        "town": "Brambleford",
        "postcode": "ZZ1 7XY",
        "telephone": telephone,
    }


def _carers(db: Session, child_pk: int) -> list[tuple[int, str, str]]:
    db.expire_all()
    return [
        (carer.id, carer.given_name, carer.telephone)
        for carer in db.scalars(select(Carer).where(Carer.child_pk == child_pk).order_by(Carer.id))
    ]


def test_a_childs_carers_are_diffed_unchanged_rows_kept_in_the_feeds_order(
    db: Session, engine: Engine
) -> None:
    """An unchanged carer keeps its row (its id) across a reload; a changed one is updated in place;
    one dropped is deleted and one added comes after the others: the order (by id) is the feed's."""
    census, _ = source(db)

    def day(n: int, *carers: dict[str, Any]) -> bytes:
        return jsonl(
            row(
                carers=list(carers),
                telephone=f"01632 96{n:04d}",
                as_of=(world.TODAY + dt.timedelta(days=n)).isoformat(),
            )
        )

    hazel, rowan = _carer("Hazel", "07700 900777"), _carer("Rowan", "07700 900778", "Father")
    load(db, census, day(0, hazel, rowan))
    child = child_of(db, census.id, "CB-000001")
    first = _carers(db, child.id)
    assert [(given, phone) for _id, given, phone in first] == [
        ("Hazel", "07700 900777"),
        ("Rowan", "07700 900778"),
    ]
    # The row changed (the child's telephone), its carers did not: the same rows, not written.
    writes: list[str] = []

    def carer_writes(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if re.match(r"(INSERT INTO|DELETE FROM|UPDATE|COPY) carers\b", statement.strip()):
            writes.append(statement.split(maxsplit=1)[0])

    sa.event.listen(engine, "before_cursor_execute", carer_writes)
    try:
        assert load(db, census, day(1, hazel, rowan)).rows_updated == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", carer_writes)
    assert writes == []
    assert _carers(db, child.id) == first
    # One carer's telephone changed: both rows kept, one updated in place.
    load(db, census, day(2, hazel, {**rowan, "telephone": "07700 900999"}))
    assert _carers(db, child.id) == [first[0], (first[1][0], "Rowan", "07700 900999")]
    # A third carer: the two kept, the new one after them.
    ivy = _carer("Ivy", "07700 900555", "Grandmother")
    load(db, census, day(3, hazel, {**rowan, "telephone": "07700 900999"}, ivy))
    third = _carers(db, child.id)
    assert third[:2] == [first[0], (first[1][0], "Rowan", "07700 900999")]
    assert third[2][1:] == ("Ivy", "07700 900555") and third[2][0] > first[1][0]
    # The first carer dropped: by position, the rows are rewritten to the feed's order and the
    # extra one deleted, so what is stored is what a delete and re-insert would store.
    load(db, census, day(4, {**rowan, "telephone": "07700 900999"}, ivy))
    assert [(given, phone) for _id, given, phone in _carers(db, child.id)] == [
        ("Rowan", "07700 900999"),
        ("Ivy", "07700 900555"),
    ]
    assert [carer_id for carer_id, _g, _p in _carers(db, child.id)] == [first[0][0], first[1][0]]
    # The same file again: nothing changes.
    again = load(db, census, day(4, {**rowan, "telephone": "07700 900999"}, ivy))
    assert again.rows_unchanged == 1
    assert [carer_id for carer_id, _g, _p in _carers(db, child.id)] == [first[0][0], first[1][0]]


def test_a_chunks_moves_are_told_once_per_pair_of_teams_by_contactpoint_id(db: Session) -> None:
    """Three moves from one authority to another, in one chunk: one message to each team, sent when
    the chunk commits (a load killed later has already told the teams of what it committed)."""
    census, _ = source(db)
    rows = distinct_rows(3)
    assert load(db, census, jsonl(*rows)).rows_created == 3
    cp_ids = [child_of(db, census.id, item["source_record_id"]).cp_id for item in rows]
    mail = KeptMail()
    moved = [
        {**item, "local_authority": "SWV", "postcode": "ZZ93 1AA", "address_line1": "7 Vale Terrace"}
        for item in rows
    ]
    report = load(db, census, jsonl(*moved), mailer=mail, chunk_rows=3)
    assert report.records_moved == 3
    assert sorted(message["to"] for message in mail.sent) == [
        "contactpoint@northmere.example",
        "contactpoint@southwold.example",
    ]
    for message in mail.sent:
        text = message["subject"] + message["body"]
        assert all(cp_id in text for cp_id in cp_ids)
        assert "3 records" in message["subject"]
        for item in moved:
            for value in (
                item["given_name"],
                item["family_name"],
                item["date_of_birth"],
                "ZZ93",
                "Vale Terrace",
            ):
                assert value not in text
    moves = db.scalars(select(AuditEvent).where(AuditEvent.action == "record_moved")).all()
    assert len(moves) == 3  # each move is still audited on its own


def test_a_deltas_statements_do_not_grow_with_its_rows(db: Session, engine: Engine) -> None:
    """A chunk of changed known records (new telephone, carers, a move) costs the same statements
    for 2 rows as for 20: nothing is looked up or written row by row."""
    census, _ = source(db)
    rows = [{**item, "carers": [_carer("Hazel", "07700 900777")]} for item in distinct_rows(24)]
    assert load(db, census, jsonl(*rows)).rows_created == 24

    def statements(changed: list[dict[str, Any]], n: int) -> int:
        seen = [0]
        sqlite = engine.dialect.name == "sqlite"

        def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            # On SQLite the ORM inserts the moves' audit events (the audit chain's) one by one.
            if not (sqlite and statement.startswith("INSERT INTO audit_events")):
                seen[0] += 1

        later = (world.TODAY + dt.timedelta(days=n)).isoformat()
        data = jsonl(
            *(
                {
                    **item,
                    "as_of": later,
                    "telephone": f"01632 96{n:04d}",
                    "local_authority": "SWV",
                    "carers": [_carer("Hazel", f"07700 90{n:04d}")],
                }
                for item in changed
            )
        )
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            report = load(db, census, data)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert report.rows_updated == len(changed) and report.records_moved == len(changed)
        return seen[0]

    statements(rows[22:], 1)  # the session's first delta also reads the code tables (kept)
    few, many = statements(rows[:2], 2), statements(rows[2:22], 3)
    assert many == few, (few, many)


def test_a_deltas_children_are_written_in_bulk_not_by_the_orms_flush(db: Session) -> None:
    """A delta's changed, matched and new children are applied as plain rows and written in bulk
    (feeds/delta.py): the session's flushes hold no child, link or provenance object of theirs."""
    census, _ = source(db)
    rows = distinct_rows(6)
    assert load(db, census, jsonl(*rows[:3])).rows_created == 3
    later = (world.TODAY + dt.timedelta(days=1)).isoformat()
    changed = [
        {**item, "as_of": later, "telephone": "01632 960999", "local_authority": "SWV"} for item in rows[:2]
    ]
    matched = {**rows[2], "source_record_id": "CX-001", "as_of": later}
    flushed: list[str] = []

    def held(session: Session, *_args: Any) -> None:
        flushed.extend(
            type(item).__name__
            for item in (*session.new, *session.dirty)
            if isinstance(item, Child | SourceRecord | FieldProvenance)
        )

    sa.event.listen(db, "before_flush", held)
    try:
        report = load(db, census, jsonl(*changed, matched, *rows[3:]))
    finally:
        sa.event.remove(db, "before_flush", held)
    assert (report.rows_updated, report.rows_matched, report.rows_created) == (3, 1, 3)
    assert report.records_moved == 2
    assert flushed == []
    db.expire_all()
    assert child_of(db, census.id, "CX-001").id == child_of(db, census.id, rows[2]["source_record_id"]).id
    assert {child_of(db, census.id, item["source_record_id"]).telephone for item in changed} == {
        "01632 960999"
    }
