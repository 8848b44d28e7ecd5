"""A practitioner records and ends their own involvement; nobody edits another's."""

from __future__ import annotations

import datetime as dt

import pytest

from cpserver.store.models import AuditEvent, Involvement
from tests.server import world


def add(client, headers, cp_id=world.ORDINARY, **body):
    return client.post(f"/api/v1/children/{cp_id}/involvements", json=body, headers=headers)


def test_add_own_involvement_with_contact_details_from_the_profile(client, db, as_role):
    headers = as_role("practitioner")
    response = add(client, headers, service_type="family_support", lead_professional=True)
    assert response.status_code == 201
    body = response.json()
    assert body["practitioner_name"] == "Test Practitioner"
    assert body["telephone"] == "01632 960555" and body["email"] == "p.north@staff.example"
    assert body["organisation"] == "Northmere Children's Services"
    assert body["mine"] is True and body["lead_professional"] is True
    assert body["started_on"] == dt.date.today().isoformat()
    record = client.post(
        f"/api/v1/children/{world.ORDINARY}/views", json={"reason": "recording_involvement"}, headers=headers
    ).json()
    assert any(i["id"] == body["id"] and i["mine"] for i in record["involvements"])
    assert db.query(AuditEvent).filter_by(action="involvement_added").count() == 1


def test_contact_details_cannot_be_supplied_by_the_client(client, as_role):
    response = add(client, as_role("practitioner"), service_type="family_support", telephone="0000")
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"service_type": "chess_club"}, "service_type_unknown"),
        ({"service_type": "sexual_health"}, "consent_required"),
        ({"service_type": "family_support", "started_on": "2999-01-01"}, "invalid_request"),
    ],
)
def test_refusals(client, as_role, body, code):
    response = add(client, as_role("practitioner"), **body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_sensitive_service_with_consent(client, as_role):
    response = add(client, as_role("practitioner"), service_type="substance_misuse", consent_recorded=True)
    assert response.status_code == 201
    assert response.json()["sensitive"] is True


def test_same_open_involvement_twice_is_409(client, as_role):
    headers = as_role("practitioner")
    assert add(client, headers, service_type="family_support").status_code == 201
    assert add(client, headers, service_type="family_support").json()["error"]["code"] == "involvement_exists"


@pytest.mark.parametrize("role", ["cmt", "national"])
def test_only_practitioners_record_involvements(client, as_role, role):
    response = add(client, as_role(role), service_type="family_support")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_not_permitted"


def test_unknown_child(client, as_role):
    assert add(client, as_role("practitioner"), "CP404", service_type="family_support").status_code == 404


def test_end_own_involvement_keeps_it_with_an_end_date(client, db, as_role):
    headers = as_role("practitioner")
    created = add(client, headers, service_type="family_support").json()
    ended = client.delete(f"/api/v1/involvements/{created['id']}", headers=headers)
    assert ended.status_code == 200
    assert ended.json()["ended_on"] == dt.date.today().isoformat()
    assert db.get(Involvement, created["id"]).ended_on is not None
    again = client.delete(f"/api/v1/involvements/{created['id']}", headers=headers)
    assert again.status_code == 409


def test_nobody_ends_another_practitioners_involvement(client, db, as_role):
    mine = add(client, as_role("practitioner"), service_type="family_support").json()
    other = as_role(world.PRACTITIONER_2)
    response = client.delete(f"/api/v1/involvements/{mine['id']}", headers=other)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_your_involvement"
    assert db.get(Involvement, mine["id"]).ended_on is None


def test_unknown_involvement(client, as_role):
    assert client.delete("/api/v1/involvements/999999", headers=as_role("practitioner")).status_code == 404
