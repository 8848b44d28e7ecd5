"""Field provenance stored compactly: a child's default row ("*" and the codes of the fields it covers)
stands for each field it covers that has no row of its own; the winning rule still holds field by
field, on the delta's plain-row path and on the ORM path alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.domain.feeds.apply import FIELDS, child_provenance, covered_fields
from cpserver.store.models import Child, FieldProvenance, SourceRecord
from tests.server import world
from tests.server.feeds_support import jsonl, load, row, source

LATER = world.TODAY + dt.timedelta(days=1)
LATEST = world.TODAY + dt.timedelta(days=2)
# What NEW_CHILD says: every field but the school, the GP and consent to 25.
SAID = set(FIELDS) - {"education_setting", "gp_practice", "consent_to_25"}


def child_pk(db: Session, source_id: int, record_id: str) -> int:
    db.expire_all()
    pk = db.scalar(
        select(SourceRecord.child_pk).where(
            SourceRecord.source_id == source_id, SourceRecord.source_record_id == record_id
        )
    )
    assert pk is not None
    return pk


def stored(db: Session, pk: int) -> dict[str, FieldProvenance]:
    """The child's provenance rows as stored, by their `field`."""
    db.expire_all()
    return {p.field: p for p in db.scalars(select(FieldProvenance).where(FieldProvenance.child_pk == pk))}


def by_field(db: Session, pk: int) -> dict[str, tuple[int, int, str, bool]]:
    """Each field's provenance: (source, priority, as_of, from the default row)."""
    db.expire_all()
    return {
        name: (p.source_id, p.priority, p.as_of.isoformat(), p.field.startswith("*"))
        for name, p in child_provenance(db, pk).items()
    }


def test_a_new_child_gets_one_default_row_for_the_fields_its_row_says(db: Session) -> None:
    census, _ = source(db)
    report = load(db, census, jsonl(row()))
    pk = child_pk(db, census.id, "CB-000001")
    rows = stored(db, pk)
    assert len(rows) == 1
    (default,) = rows.values()
    assert default.field.startswith("*") and covered_fields(default.field) == SAID
    assert (default.source_id, default.batch_id, default.priority) == (census.id, report.batch_id, 50)
    # A field the row did not say has no provenance: any source sets it later.
    assert set(child_provenance(db, pk)) == SAID


def test_the_winning_rule_holds_field_by_field_after_the_default_row(db: Session) -> None:
    census, _ = source(db, "census", priority=50)
    health, _ = source(db, "health", priority=40)
    registry, _ = source(db, "registry", priority=60)
    benefit, _ = source(db, "benefit", priority=50)
    load(db, census, jsonl(row()))
    pk = child_pk(db, census.id, "CB-000001")
    first = by_field(db, pk)
    default = (census.id, 50, world.TODAY.isoformat(), True)
    assert first == dict.fromkeys(SAID, default)

    # A lower-priority source loses every field: nothing of its row is written, no row is added.
    lower = load(
        db,
        health,
        jsonl(
            row(
                source_record_id="H-1", telephone="01632 960002", middle_names="Rose", as_of=LATER.isoformat()
            )
        ),
    )
    assert lower.rows_matched == 1 and lower.fields_kept == len(SAID)
    assert child_pk(db, health.id, "H-1") == pk
    assert by_field(db, pk) == first and len(stored(db, pk)) == 1
    child = db.get(Child, pk)
    assert child is not None and (child.telephone, child.middle_names) == ("01632 960777", "Jane")

    # A higher-priority source that says no telephone wins the fields it says; the telephone keeps
    # the default row's provenance (an empty field says nothing).
    higher = load(
        db, registry, jsonl(row(source_record_id="R-1", telephone="", address_line1="4 Hawthorn Way"))
    )
    assert higher.rows_matched == 1
    after = by_field(db, pk)
    assert after["telephone"] == default
    assert {name: value for name, value in after.items() if name != "telephone"} == dict.fromkeys(
        SAID - {"telephone"}, (registry.id, 60, world.TODAY.isoformat(), False)
    )
    child = db.get(Child, pk)
    assert child is not None and (child.telephone, child.address_line1) == ("01632 960777", "4 Hawthorn Way")

    # An equal-priority source with a newer as_of wins the telephone (the default row's only field
    # left) and loses every field the higher-priority source set.
    newer = load(
        db,
        benefit,
        jsonl(
            row(
                source_record_id="B-1",
                telephone="01632 960004",
                address_line1="9 Elm Row",
                as_of=LATER.isoformat(),
            )
        ),
    )
    assert newer.fields_kept == len(SAID) - 1
    final = by_field(db, pk)
    assert final["telephone"] == (benefit.id, 50, LATER.isoformat(), True)  # the default row, re-set
    assert {name: value for name, value in final.items() if name != "telephone"} == {
        name: value for name, value in after.items() if name != "telephone"
    }
    child = db.get(Child, pk)
    assert child is not None and (child.telephone, child.address_line1) == ("01632 960004", "4 Hawthorn Way")
    # Equal priority, older as_of: kept.
    stale = load(db, benefit, jsonl(row(source_record_id="B-1", telephone="01632 960005")))
    assert stale.fields_kept >= 1 and by_field(db, pk) == final


def test_an_equal_priority_newer_row_re_sets_the_default_row_alone(db: Session) -> None:
    census, _ = source(db)
    load(db, census, jsonl(row()))
    pk = child_pk(db, census.id, "CB-000001")
    report = load(db, census, jsonl(row(telephone="01632 960321", as_of=LATER.isoformat())))
    rows = stored(db, pk)
    assert len(rows) == 1  # every field it stands for won: the one row re-set, none added
    (default,) = rows.values()
    assert (default.batch_id, default.as_of) == (report.batch_id, LATER)
    assert by_field(db, pk) == dict.fromkeys(SAID, (census.id, 50, LATER.isoformat(), True))


def test_an_empty_optional_field_keeps_the_default_rows_provenance(db: Session) -> None:
    census, _ = source(db)
    first = load(db, census, jsonl(row()))
    pk = child_pk(db, census.id, "CB-000001")
    second = load(db, census, jsonl(row(telephone="", middle_names="", as_of=LATER.isoformat())))
    rows = stored(db, pk)
    default = next(p for name, p in rows.items() if name.startswith("*"))
    assert default.batch_id == first.batch_id  # still the first row's, for what the second left empty
    provenance = child_provenance(db, pk)
    assert {name for name, p in provenance.items() if p.batch_id == first.batch_id} == {
        "telephone",
        "middle_names",
    }
    assert {name for name, p in provenance.items() if p.batch_id == second.batch_id} == SAID - {
        "telephone",
        "middle_names",
    }
    assert len(rows) == 1 + len(SAID) - 2


def _shape(db: Session, pk: int) -> list[tuple[Any, ...]]:
    """The child's provenance rows without keys and times: (fields covered, source, priority, as_of)."""
    return sorted(
        (
            tuple(sorted(covered_fields(name))) if name.startswith("*") else (name,),
            p.source_id,
            p.priority,
            p.as_of,
        )
        for name, p in stored(db, pk).items()
    )


def test_the_deltas_plain_rows_and_the_orm_path_store_the_same_provenance(db: Session) -> None:
    """The same two rows for a child, in two loads (each child applied as a plain row) and in one
    chunk (the second row through the ORM, the child being written to already)."""
    census, _ = source(db)
    a, b = (
        row(source_record_id="CB-A"),
        row(source_record_id="CB-B", given_name="Tamsin", family_name="Quarrie", postcode="zz3 1ab"),
    )
    load(db, census, jsonl(a, b))
    pk_a, pk_b = child_pk(db, census.id, "CB-A"), child_pk(db, census.id, "CB-B")

    def first(item: dict[str, Any]) -> dict[str, Any]:  # says everything, newer: wins every field
        return {**item, "telephone": "01632 960100", "as_of": LATER.isoformat()}

    def second(item: dict[str, Any]) -> dict[str, Any]:  # no telephone: the default row keeps it
        return {**item, "telephone": "", "town": "Ashcombe", "as_of": LATEST.isoformat()}

    load(db, census, jsonl(first(a)))
    load(db, census, jsonl(second(a)))
    report = load(db, census, jsonl(first(b), second(b)))
    assert report.rows_updated == 2 and report.rows_rejected == 0
    assert _shape(db, pk_a) == _shape(db, pk_b)
    assert _shape(db, pk_a) == sorted(
        [(tuple(sorted(SAID)), census.id, 50, LATER)]
        + [((name,), census.id, 50, LATEST) for name in SAID - {"telephone"}]
    )
    for pk in (pk_a, pk_b):
        child = db.get(Child, pk)
        assert child is not None and (child.telephone, child.town) == ("01632 960100", "Ashcombe")
