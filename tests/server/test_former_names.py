"""Former names are searched (rule 9), by the same criteria rules, shown by the current name; never an
identity closed for adoption; a shielded child found by a former name is served as any shielded result."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command

from cpserver.domain.feeds.rows import FeedName
from cpserver.domain.former_names import replace_former_names
from cpserver.domain.names import normalise_name, phonetic_key
from cpserver.store.migrate import alembic_config
from cpserver.store.models import Child, FormerName, User
from tests.server import world

DOB = world.ORDINARY_DOB.isoformat()
ADOPTED = "CP6000000001"
ADOPTED_DOB = dt.date(world.TODAY.year - 6, 4, 1)
BIRTH_FAMILY = "Blackthorne"
NEW_FAMILY = "Applewhite"


@pytest.fixture
def practitioner(as_role):
    return as_role("practitioner")


def search(client, headers, **criteria):
    return client.post("/api/v1/searches", json=criteria, headers=headers)


def ids(response):
    assert response.status_code == 200, response.json()
    return [result["id"] for result in response.json()["results"]]


@pytest.fixture
def adopted(db):
    """A child adopted under a new identity: the birth identity is closed, a stepfamily name is not."""
    north = db.scalar(sa.select(User.local_authority_id).where(User.username == world.PRACTITIONER))
    child = Child(
        cp_id=ADOPTED,
        given_name="Robin",
        family_name=NEW_FAMILY,
        family_norm=normalise_name(NEW_FAMILY),
        family_key=phonetic_key(NEW_FAMILY),
        given_norm="robin",
        given_key=phonetic_key("Robin"),
        gender="male",
        date_of_birth=ADOPTED_DOB,
        local_authority_id=north,
        town="Brambleford",
        postcode="ZZ1 9QQ",
        postcode_norm="ZZ19QQ",
    )
    db.add(child)
    replace_former_names(
        db,
        child,
        [FeedName(BIRTH_FAMILY, "Robin", closed_for_adoption=True), FeedName("Fosterling", "Robin")],
    )
    db.commit()
    return child


def test_a_former_family_name_finds_the_child_shown_by_its_current_name(client, practitioner):
    response = search(client, practitioner, family="Oldname", date_of_birth=DOB)
    assert ids(response) == [world.ORDINARY]
    result = response.json()["results"][0]
    assert (result["given"], result["family"]) == ("Amelia", world.ORDINARY_FAMILY)
    assert result["exact_match"] is True and result["locality"] == "Brambleford"
    # The same criteria rules: a former name alone is too broad; with given name and postcode, enough.
    assert search(client, practitioner, family="Oldname").status_code == 400
    found = search(client, practitioner, given="Amelia", family="Oldname", postcode=world.ORDINARY_POSTCODE)
    assert ids(found) == [world.ORDINARY]


def test_a_misspelt_former_name_is_found_by_sound_only_when_exact_is_not_asked(client, practitioner):
    misspelt = "Oldnaym"
    assert phonetic_key(misspelt) == phonetic_key("Oldname") and normalise_name(misspelt) != "oldname"
    response = search(client, practitioner, family=misspelt, date_of_birth=DOB)
    assert ids(response) == [world.ORDINARY]
    assert response.json()["results"][0]["exact_match"] is False
    assert ids(search(client, practitioner, family=misspelt, date_of_birth=DOB, exact=True)) == []
    assert ids(search(client, practitioner, family="Oldname", date_of_birth=DOB, exact=True)) == [
        world.ORDINARY
    ]


def test_a_corrected_date_of_birth_moves_the_former_names_with_it(client, practitioner, db):
    """However a child's date of birth is corrected (a feed, a data fix straight in the database), a
    search by former name follows it: the trigger of migration 0009 keeps the copy in step."""
    corrected = world.ORDINARY_DOB - dt.timedelta(days=40)
    db.execute(sa.update(Child).where(Child.cp_id == world.ORDINARY).values(date_of_birth=corrected))
    db.commit()
    assert ids(search(client, practitioner, family="Oldname", date_of_birth=corrected.isoformat())) == [
        world.ORDINARY
    ]
    assert ids(search(client, practitioner, family="Oldname", date_of_birth=DOB)) == []


def test_an_adopted_childs_birth_name_finds_nothing(client, practitioner, adopted):
    """The insider who knows the birth family and the date of birth learns nothing, however asked."""
    dob = ADOPTED_DOB.isoformat()
    nobody = search(client, practitioner, family="Zzyzxwq", date_of_birth=dob).json()
    for criteria in (
        {"family": BIRTH_FAMILY, "date_of_birth": dob},
        {"family": BIRTH_FAMILY, "date_of_birth": dob, "exact": True},
        {"family": "Blackthorn", "date_of_birth": dob},  # sounds the same
        {"family": BIRTH_FAMILY, "given": "Robin", "date_of_birth": dob, "gender": "male"},
        {"family": BIRTH_FAMILY, "given": "Robin", "postcode": "ZZ1 9QQ"},
        {
            "family": BIRTH_FAMILY,
            "date_of_birth_from": (ADOPTED_DOB - dt.timedelta(days=300)).isoformat(),
            "date_of_birth_to": (ADOPTED_DOB + dt.timedelta(days=300)).isoformat(),
        },
    ):
        response = search(client, practitioner, **criteria)
        assert ids(response) == [], criteria
        assert response.json() == nobody | {"results": [], "more": False}
    # Positive controls: the current name and an open former name find the child.
    assert ids(search(client, practitioner, family=NEW_FAMILY, date_of_birth=dob)) == [ADOPTED]
    assert ids(search(client, practitioner, family="Fosterling", date_of_birth=dob)) == [ADOPTED]
    opened = client.post(
        f"/api/v1/children/{ADOPTED}/views", json={"reason": "safeguarding"}, headers=practitioner
    )
    assert opened.json()["former_names"] == ["Robin Fosterling"]
    assert BIRTH_FAMILY.encode() not in opened.content


def test_a_shielded_child_found_by_a_former_name_is_served_shielded(client, practitioner):
    response = search(
        client,
        practitioner,
        family=world.CANARIES["former_name"],
        date_of_birth=world.SHIELDED_DOB.isoformat(),
    )
    assert ids(response) == [world.SHIELDED]
    result = response.json()["results"][0]
    assert result["shielded"] is True and result["locality"] is None
    assert result["family"] == world.SHIELDED_FAMILY
    for marker in ("town", "postcode", "address_line1"):
        assert world.CANARIES[marker].encode().lower() not in response.content.lower()
    # Never by postcode: the same answer as a postcode nobody has.
    by_postcode = search(
        client,
        practitioner,
        given="Rowan",
        family=world.CANARIES["former_name"],
        postcode=world.CANARIES["postcode"],
    )
    nowhere = search(
        client, practitioner, given="Rowan", family=world.CANARIES["former_name"], postcode="ZZ77 7ZZ"
    )
    assert ids(by_postcode) == [] and by_postcode.json() == nowhere.json()
    # A child covered by the household's shield, found by its former name, is shielded too.
    sibling = search(
        client,
        practitioner,
        family=world.CANARIES["sibling_former_name"],
        date_of_birth=world.SIBLING_DOB.isoformat(),
    ).json()["results"]
    assert [(r["id"], r["shielded"], r["locality"]) for r in sibling] == [(world.SIBLING, True, None)]


def test_the_management_team_sees_its_shielded_child_found_by_a_former_name(client, as_role):
    cmt = as_role("cmt")
    response = search(
        client, cmt, family=world.CANARIES["former_name"], date_of_birth=world.SHIELDED_DOB.isoformat()
    )
    assert ids(response) == [world.SHIELDED]


def test_the_migration_fills_the_table_from_the_names_records_show(database_url, engine, db):
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007_feeds_loader")
    assert db.scalar(sa.select(sa.func.count()).select_from(FormerName)) == 0
    db.execute(
        sa.update(Child)
        .where(Child.cp_id == world.NO_SCHOOL)
        .values(former_names=["Mary Ann Smith", "Brown"])
    )
    db.commit()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    rows = db.execute(
        sa.select(Child.cp_id, FormerName.given_name, FormerName.family_name, FormerName.family_key)
        .join(Child, Child.id == FormerName.child_pk)
        .where(Child.cp_id.in_([world.NO_SCHOOL, world.ORDINARY]))
        .order_by(Child.cp_id, FormerName.id)
    ).all()
    assert rows == [
        (world.ORDINARY, "Amelia", "Oldname", phonetic_key("Oldname")),
        (world.NO_SCHOOL, "Mary Ann", "Smith", phonetic_key("Smith")),
        (world.NO_SCHOOL, "", "Brown", phonetic_key("Brown")),
    ]
    assert not db.scalar(sa.select(sa.func.count()).where(FormerName.closed_for_adoption.is_(True)))
