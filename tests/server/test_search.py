"""Search: minimum criteria, exact and phonetic matching, the 50-result cap, shielding, retention."""

from __future__ import annotations

import datetime as dt

import pytest

from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.store.models import Child, LocalAuthority
from tests.server import world

DOB = world.ORDINARY_DOB.isoformat()


@pytest.fixture
def practitioner(as_role):
    return as_role("practitioner")


def search(client, headers, **criteria):
    return client.post("/api/v1/searches", json=criteria, headers=headers)


def ids(response):
    assert response.status_code == 200, response.json()
    return [r["id"] for r in response.json()["results"]]


@pytest.mark.parametrize(
    ("criteria", "field", "phrase"),
    [
        ({"family": world.ORDINARY_FAMILY}, "date_of_birth", "Add the date of birth"),
        ({"given": "Amelia", "date_of_birth": DOB}, "family", "Add the family name"),
        (
            {"given": "Amelia", "family": world.ORDINARY_FAMILY},
            "date_of_birth",
            "date of birth or the postcode",
        ),
        ({"postcode": world.ORDINARY_POSTCODE, "date_of_birth": DOB}, "family", "Add the family name"),
        ({}, "family", "Add the family name"),
    ],
)
def test_too_broad_criteria_get_a_400_saying_what_to_add(client, practitioner, criteria, field, phrase):
    response = search(client, practitioner, **criteria)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "search_too_broad"
    assert error["field"] == field
    assert phrase in error["message"]


def test_family_and_date_of_birth_is_enough(client, practitioner):
    assert world.ORDINARY in ids(
        search(client, practitioner, family=world.ORDINARY_FAMILY, date_of_birth=DOB)
    )


def test_given_family_and_postcode_is_enough(client, practitioner):
    found = ids(search(client, practitioner, given="Amelia", family=world.ORDINARY_FAMILY, postcode="zz14ab"))
    assert found == [world.ORDINARY]


def test_phonetic_match_finds_a_misspelling_and_exact_does_not(client, practitioner):
    misspelt = "Thistlewode"
    assert phonetic_key(misspelt) == phonetic_key(world.ORDINARY_FAMILY)
    response = search(client, practitioner, family=misspelt, date_of_birth=DOB)
    assert world.ORDINARY in ids(response)
    assert response.json()["results"][0]["exact_match"] is False
    assert ids(search(client, practitioner, family=misspelt, date_of_birth=DOB, exact=True)) == []


def test_exact_matches_come_first(client, db, practitioner):
    la = db.query(LocalAuthority).first()
    for family in ("Thistlewode", "Thistelwood"):
        db.add(
            Child(
                cp_id=f"CPX{family}"[:20],
                given_name="Amelia",
                family_name=family,
                family_norm=normalise_name(family),
                family_key=phonetic_key(family),
                given_norm="amelia",
                given_key=phonetic_key("Amelia"),
                gender="female",
                date_of_birth=world.ORDINARY_DOB,
                local_authority_id=la.id,
            )
        )
    db.commit()
    response = search(client, practitioner, family=world.ORDINARY_FAMILY, date_of_birth=DOB)
    results = response.json()["results"]
    assert results[0]["id"] == world.ORDINARY and results[0]["exact_match"] is True
    assert len(results) == 3


def test_date_of_birth_range(client, practitioner):
    start = (world.ORDINARY_DOB - dt.timedelta(days=10)).isoformat()
    end = (world.ORDINARY_DOB + dt.timedelta(days=10)).isoformat()
    found = ids(
        search(
            client, practitioner, family=world.ORDINARY_FAMILY, date_of_birth_from=start, date_of_birth_to=end
        )
    )
    assert world.ORDINARY in found


@pytest.mark.parametrize(
    ("criteria", "code", "field"),
    [
        (
            {"date_of_birth_from": "2015-01-01", "date_of_birth_to": "2019-01-01"},
            "search_too_broad",
            "date_of_birth_from",
        ),
        ({"date_of_birth_from": "2015-01-01"}, "invalid_request", "date_of_birth_to"),
        (
            {"date_of_birth_from": "2016-01-01", "date_of_birth_to": "2015-01-01"},
            "invalid_request",
            "date_of_birth_from",
        ),
        (
            {"date_of_birth": DOB, "date_of_birth_from": DOB, "date_of_birth_to": DOB},
            "invalid_request",
            "date_of_birth",
        ),
        ({"date_of_birth": "2999-01-01"}, "invalid_request", "date_of_birth"),
    ],
)
def test_bad_date_criteria(client, practitioner, criteria, code, field):
    response = search(client, practitioner, family=world.ORDINARY_FAMILY, **criteria)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"family": world.ORDINARY_FAMILY, "given": "Amelia", "postcode": "ZZ"}, "postcode"),
        ({"family": "1234", "date_of_birth": DOB}, "family"),
    ],
)
def test_malformed_values_name_their_field(client, practitioner, criteria, field):
    response = search(client, practitioner, **criteria)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    "body",
    [
        {"family": "X", "date_of_birth": "not a date"},
        {"family": "X", "date_of_birth": DOB, "surname": "unknown field"},
        {"family": ["a list"], "date_of_birth": DOB},
        {"family": "X" * 101, "date_of_birth": DOB},
        {"family": "X", "date_of_birth": DOB, "gender": "unknown"},
    ],
)
def test_invalid_bodies_get_a_422_with_a_stable_code(client, practitioner, body):
    response = client.post("/api/v1/searches", json=body, headers=practitioner)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_at_most_fifty_results_with_a_flag_when_there_were_more(client, db, practitioner):
    la = db.query(LocalAuthority).first()
    for n in range(60):
        db.add(
            Child(
                cp_id=f"CPMANY{n:04d}",
                given_name=f"Child{n}",
                family_name="Manyfold",
                family_norm="manyfold",
                family_key=phonetic_key("Manyfold"),
                given_norm=f"child{n}",
                given_key="C400",
                gender="male",
                date_of_birth=world.ORDINARY_DOB,
                local_authority_id=la.id,
            )
        )
    db.commit()
    response = search(client, practitioner, family="Manyfold", date_of_birth=DOB)
    assert len(response.json()["results"]) == 50
    assert response.json()["more"] is True
    assert response.json()["max_results"] == 50


def test_shielded_child_is_found_by_name_without_locality(client, practitioner):
    response = search(
        client, practitioner, family=world.SHIELDED_FAMILY, date_of_birth=world.SHIELDED_DOB.isoformat()
    )
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[world.SHIELDED]["shielded"] is True
    assert results[world.SHIELDED]["locality"] is None
    assert world.CANARIES["town"].encode().lower() not in response.content.lower()


def test_shielded_child_is_never_matched_on_postcode(client, practitioner):
    response = search(
        client, practitioner, given="Rowan", family=world.SHIELDED_FAMILY, postcode=world.CANARIES["postcode"]
    )
    assert ids(response) == []
    # Exactly the same answer as for a postcode nobody has: nothing to infer.
    other = search(client, practitioner, given="Rowan", family=world.SHIELDED_FAMILY, postcode="ZZ77 7ZZ")
    assert response.json() == other.json()


def test_ordinary_child_shows_locality(client, practitioner):
    response = search(client, practitioner, family=world.ORDINARY_FAMILY, date_of_birth=DOB)
    assert response.json()["results"][0]["locality"] == "Brambleford"


def test_children_past_18_leave_search_unless_consent_to_25(client, practitioner):
    start = (world.TODAY - dt.timedelta(days=366 * 2)).replace(year=world.TODAY.year - 21)
    end = start + dt.timedelta(days=366 * 2)
    found = ids(
        search(
            client,
            practitioner,
            family=world.ORDINARY_FAMILY,
            date_of_birth_from=start.isoformat(),
            date_of_birth_to=end.isoformat(),
        )
    )
    assert world.CONSENT_25 in found
    assert world.PAST_18 not in found


def test_every_search_is_audited_with_its_criteria(client, db, practitioner):
    from cpserver.store.models import AuditEvent

    search(client, practitioner, family=world.ORDINARY_FAMILY, date_of_birth=DOB)
    event = db.query(AuditEvent).filter_by(action="search").one()
    assert event.username == world.PRACTITIONER
    assert event.detail["criteria"]["family"] == world.ORDINARY_FAMILY
    assert event.workstation == "WS-TEST-0001"


def test_postcode_is_normalised(client, practitioner):
    assert normalise_postcode(" zz1 4ab ") == "ZZ14AB"
    assert ids(search(client, practitioner, given="amelia", family="THISTLEWOOD", postcode=" zz1 4ab ")) == [
        world.ORDINARY
    ]


def test_an_unknown_field_name_is_not_echoed(client, practitioner):
    response = client.post(
        "/api/v1/searches",
        json={"family": "X", "date_of_birth": DOB, "Amelia Thistlewood ZZ1 4AB": 1},
        headers=practitioner,
    )
    assert response.status_code == 422
    assert b"Amelia" not in response.content and b"ZZ1" not in response.content
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_body_that_is_not_utf8_is_malformed_json(client, practitioner):
    response = client.post(
        "/api/v1/searches",
        content=b'{"family": "\xff\xfe"}',
        headers={**practitioner, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
