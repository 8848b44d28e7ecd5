"""Rule 5: the household shield follows every write path, on SQLite and PostgreSQL.

The shield is computed when a record is read, from the addresses and telephones it holds
(cpserver.domain.household_shield), so what matters is that every way data arrives is seen at
once: the seed's bulk load, a feed moving a child into (and out of) a shielded home, a feed adding
a carer, a practitioner recording an involvement (in the canary test).
"""

from __future__ import annotations

from typing import Any

import pyotp
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, aliased

from cpserver import seed
from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.domain.household_shield import (
    carer_postcode_key,
    carer_telephone_key,
    child_telephone_key,
    household_hidden_from,
)
from cpserver.domain.names import normalise_postcode
from cpserver.seed.training_contract import DEMO_PASSWORD, DEMO_TOTP_SECRET
from cpserver.store import models
from cpserver.store.household_facts import carer_shield_drift
from cpserver.store.models import Carer, Child
from tests.server import world
from tests.server.conftest import log_in
from tests.server.test_seed import TODAY, NewEngine, new_engine  # noqa: F401 (the fixture)

API = "/api/v1"


def _view(client: TestClient, headers: dict[str, str], cp_id: str) -> Any:
    response = client.post(
        f"{API}/children/{cp_id}/views", json={"reason": "who_else_involved"}, headers=headers
    )
    assert response.status_code == 200, response.json()
    return response


def _move(db: Session, cp_id: str, **address: str) -> None:
    values = {**address, "postcode_norm": normalise_postcode(address["postcode"])}
    db.execute(sa.update(Child).where(Child.cp_id == cp_id).values(**values))
    db.commit()


def test_a_child_who_moves_into_a_shielded_home_is_covered_at_once_and_not_after_leaving(client, db) -> None:
    headers = log_in(client, db, world.PRACTITIONER)
    assert _view(client, headers, world.ORDINARY).json()["kind"] == "full"
    shielded_home = {
        "address_line1": world.CANARIES["address_line1"],
        "address_line2": world.CANARIES["address_line2"],
        "town": world.CANARIES["town"],
        "postcode": world.CANARIES["postcode"].lower(),  # as a feed might write it
    }
    _move(db, world.ORDINARY, **shielded_home)
    moved = _view(client, headers, world.ORDINARY)
    assert moved.json()["kind"] == "shielded"
    assert not [m for m in world.CANARY_BYTES if m in moved.content.lower()]
    search = {
        "given": "Amelia",
        "family": world.ORDINARY_FAMILY,
        "date_of_birth": world.ORDINARY_DOB.isoformat(),
    }
    found = client.post(f"{API}/searches", json=search, headers=headers).json()["results"]
    assert [(r["shielded"], r["locality"]) for r in found] == [(True, None)]
    _move(
        db,
        world.ORDINARY,
        address_line1="9 New Street",
        address_line2="",
        town="Brambleford",
        postcode="ZZ1 9XY",
    )
    assert _view(client, headers, world.ORDINARY).json()["kind"] == "full"


def test_a_child_given_a_carer_of_a_shielded_child_is_covered(client, db) -> None:
    headers = log_in(client, db, world.PRACTITIONER)
    child_pk = db.scalar(sa.select(Child.id).where(Child.cp_id == world.NO_SCHOOL))
    # The shielded child's mother, recorded by another system with her number written differently.
    db.add(
        Carer(
            child_pk=child_pk,
            given_name="Parent",
            family_name=world.SHIELDED_FAMILY,
            relationship_to_child="Aunt",
            telephone=world.CANARIES["carer_telephone"].replace(" ", ""),
        )
    )
    db.commit()
    response = _view(client, headers, world.NO_SCHOOL)
    assert response.json()["kind"] == "shielded"
    assert not [m for m in world.CANARY_BYTES if m in response.content.lower()]


def test_a_carer_with_only_the_same_name_covers_nothing(client, db) -> None:
    """A namesake shares no hidden fact: the rule is about facts, not names."""
    headers = log_in(client, db, world.PRACTITIONER)
    child_pk = db.scalar(sa.select(Child.id).where(Child.cp_id == world.NO_SCHOOL))
    db.add(
        Carer(
            child_pk=child_pk,
            given_name="Parent",
            family_name=world.SHIELDED_FAMILY,
            relationship_to_child="Mother",
            telephone="01632 960999",
            postcode="ZZ1 7ZZ",
        )
    )
    db.commit()
    assert _view(client, headers, world.NO_SCHOOL).json()["kind"] == "full"


def test_seeded_siblings_of_shielded_children_are_served_shielded(new_engine: NewEngine) -> None:  # noqa: F811
    engine = new_engine()
    seed.seed_database(engine, children=3000, training=True, today=TODAY)
    sibling = aliased(Child)
    with Session(engine) as session:
        # The bulk load sets triggers aside: it flags the shielded households' carers at its end.
        assert carer_shield_drift(session.connection()) == 0
        flagged = sa.select(sa.func.count()).select_from(Carer).where(Carer.child_shielded.is_(True))
        assert (session.scalar(flagged) or 0) > 0
        pairs = session.execute(
            sa.select(Child.cp_id, sibling.cp_id)
            .join(
                sibling,
                sa.and_(
                    sibling.postcode_norm == Child.postcode_norm,
                    sibling.address_line1 == Child.address_line1,
                    sibling.address_line2 == Child.address_line2,
                    sibling.id != Child.id,
                ),
            )
            .where(Child.shielded.is_(True), sibling.shielded.is_(False), Child.address_status != "none")
        ).all()
        assert pairs, "the seed should give some shielded children an unshielded sibling at home"
        practitioner = session.scalar(
            sa.select(models.User).where(models.User.username == "demo.practitioner")
        )
        for _shielded, cp_id in pairs:
            child = session.scalar(sa.select(Child).where(Child.cp_id == cp_id))
            assert child is not None and household_hidden_from(session, practitioner, child), cp_id
        target = session.scalar(sa.select(Child).where(Child.cp_id == pairs[0][1]))
        assert target is not None
        given, family, postcode = target.given_name, target.family_name, target.postcode
    url = engine.url.render_as_string(hide_password=False)
    with TestClient(
        create_app(Settings(database_url=url, training=True)), raise_server_exceptions=False
    ) as client:
        body = {
            "username": "demo.practitioner",
            "password": DEMO_PASSWORD,
            "otp": pyotp.TOTP(DEMO_TOTP_SECRET).now(),
            "workstation": "WS-SEED",
        }
        token = client.post(f"{API}/sessions", json=body).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        record = _view(client, headers, pairs[0][1]).json()
        assert record["kind"] == "shielded" and "address" not in record
        by_postcode = client.post(
            f"{API}/searches", json={"given": given, "family": family, "postcode": postcode}, headers=headers
        )
        assert by_postcode.status_code == 200 and by_postcode.json()["results"] == []


def test_the_household_lookups_use_their_indexes(db: Session) -> None:
    """The lookups must stay indexed at national scale: each expression is the index's, exactly."""
    postgres = db.get_bind().dialect.name == "postgresql"
    if postgres:
        db.execute(sa.text("SET enable_seqscan = off"))  # the test tables are tiny: make the choice visible
    for index, query in (
        ("ix_carers_postcode_key", sa.select(Carer.id).where(carer_postcode_key() == "ZZ999QX")),
        ("ix_carers_telephone_key", sa.select(Carer.id).where(carer_telephone_key() == "01632990002")),
        ("ix_children_telephone_key", sa.select(Child.id).where(child_telephone_key() == "01632990001")),
    ):
        # Compiled as the application sends it: the value bound, the expression as written.
        compiled = query.compile(dialect=db.get_bind().dialect)
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        params: Any = (
            compiled.params
            if postgres
            else tuple(compiled.params[name] for name in compiled.positiontup or [])
        )
        plan = " ".join(str(row) for row in db.connection().exec_driver_sql(explain + str(compiled), params))
        assert index in plan, (index, plan)
