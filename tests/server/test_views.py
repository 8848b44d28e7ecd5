"""Rules 3 and 4: no record without a reason, and the audit row is written before data leaves."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cpserver.domain.reasons import REASONS
from cpserver.store.models import AuditEvent
from tests.server import world


@pytest.fixture
def practitioner(as_role):
    return as_role("practitioner")


def view(client, headers, cp_id=world.ORDINARY, **body):
    return client.post(f"/api/v1/children/{cp_id}/views", json=body, headers=headers)


def views_in(db, outcome_prefix="disclosed"):
    return db.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "view", AuditEvent.outcome.startswith(outcome_prefix)
        )
    ).all()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "reason_required"),
        ({"reason": ""}, "reason_required"),
        ({"reason": "curiosity"}, "reason_unknown"),
        ({"reason": "other"}, "reason_text_required"),
        ({"reason": "other", "reason_text": "  short  "}, "reason_text_required"),
    ],
)
def test_no_record_without_a_valid_reason(client, db, practitioner, body, code):
    response = view(client, practitioner, **body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == "reason"
    assert b"Amelia" not in response.content and b"Orchard" not in response.content
    assert views_in(db) == []
    denied = views_in(db, "denied")
    assert [event.outcome for event in denied] == [f"denied:{code}"]


def test_there_is_no_get_for_a_record(client, practitioner):
    for path in (f"/api/v1/children/{world.ORDINARY}", f"/api/v1/children/{world.ORDINARY}/views"):
        response = client.get(path, headers=practitioner)
        assert response.status_code in (404, 405)
        assert b"Amelia" not in response.content


@pytest.mark.parametrize("reason", [r.code for r in REASONS])
def test_every_reason_in_the_list_opens_the_record(client, practitioner, reason):
    body = {"reason": reason, "reason_text": "Explaining the reason fully" if reason == "other" else None}
    response = view(client, practitioner, **body)
    assert response.status_code == 200
    assert response.json()["kind"] == "full"


def test_one_audit_row_per_view_with_everything_an_investigator_needs(client, db, practitioner):
    first = view(client, practitioner, reason="other", reason_text="Checking before a home visit")
    second = view(client, practitioner, reason="safeguarding")
    events = views_in(db)
    assert len(events) == 2
    event = events[0]
    assert event.username == world.PRACTITIONER and event.role == "practitioner"
    assert event.child_pk is not None and event.reason_code == "other"
    assert event.reason_text == "Checking before a home visit"
    assert event.workstation == "WS-TEST-0001" and event.client_address
    assert event.occurred_at is not None
    assert "address" in event.shown and event.withheld == []
    assert first.json()["view_id"] == event.id
    assert second.json()["view_id"] == events[1].id


def test_full_record_holds_schedule_one(client, practitioner):
    record = view(client, practitioner, reason="who_else_involved").json()
    assert record["given"] == "Amelia" and record["family"] == world.ORDINARY_FAMILY
    assert record["former_names"] == ["Amelia Oldname"]
    assert record["address"]["postcode"] == world.ORDINARY_POSTCODE
    assert record["carers"][0]["relationship"] == "Father"
    assert record["carers"][0]["parental_responsibility"] is True
    assert record["education"]["name"] == "Brambleford Primary School"
    assert record["gp"]["name"] == "Brambleford Surgery"
    involvement = record["involvements"][0]
    assert involvement["lead_professional"] is True and involvement["assessment_completed"] is True
    assert involvement["service_label"] == "Health visiting"
    assert record["management_contact"]["name"] == "Northmere ContactPoint Management Team"


def test_child_with_no_education_setting(client, practitioner):
    record = view(client, practitioner, world.NO_SCHOOL, reason="missing_education").json()
    assert record["education"] is None


@pytest.mark.parametrize("cp_id", ["CP9999999999", world.PAST_18])
def test_unknown_or_retired_record_is_404_and_audited(client, db, practitioner, cp_id):
    response = view(client, practitioner, cp_id, reason="safeguarding")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "child_not_found"
    assert [e.outcome for e in views_in(db, "denied")] == ["denied:child_not_found"]


def test_child_kept_to_25_with_consent_can_be_opened(client, practitioner):
    assert view(client, practitioner, world.CONSENT_25, reason="safeguarding").status_code == 200


def _break_audit_store(db):
    """Make every insert into the audit table fail, as a full disk or lost store would."""
    if db.bind.dialect.name == "sqlite":
        db.execute(
            sa.text(
                "CREATE TRIGGER audit_store_down BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
            )
        )
    else:
        db.execute(
            sa.text(
                "CREATE FUNCTION audit_store_down() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$ LANGUAGE plpgsql"
            )
        )
        db.execute(
            sa.text(
                "CREATE TRIGGER audit_store_down BEFORE INSERT ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION audit_store_down()"
            )
        )
    db.commit()


def test_when_the_audit_cannot_be_written_nothing_is_disclosed(client, db, practitioner):
    _break_audit_store(db)
    response = view(client, practitioner, reason="safeguarding")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"
    for fragment in (b"Amelia", b"Orchard", b"01632", b"ZZ1", b"Brambleford", world.ORDINARY_FAMILY.encode()):
        assert fragment not in response.content
    assert response.headers["cache-control"] == "no-store"


def test_when_the_audit_cannot_be_written_a_refusal_is_503_too(client, db, practitioner):
    _break_audit_store(db)
    assert view(client, practitioner, reason="curiosity").status_code == 503


def test_cmt_and_national_open_records_with_a_reason_too(client, as_role):
    for role in ("cmt", "national"):
        headers = as_role(role)
        assert view(client, headers).status_code == 400
        assert view(client, headers, reason="serious_case_review").status_code == 200
