"""Rule 5: the carers' copy of their child's shield (`carers.child_shielded`) never lags a write.

The household probe finds a shielded household's carers through that copied flag (migration
0011_shielded_facts). An insider who could make a write that leaves the flag behind would be served
a covered child's record in full. Each test here is such a write, on SQLite and on PostgreSQL, and
then the insider's view and search: the target is a child at its own home, unshielded, whose home
or telephone a shielded household's carer comes to share.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cpserver.domain.household_shield import _near_statement
from cpserver.domain.retention import purge_children
from cpserver.store.household_facts import carer_shield_drift, resync_carer_shields
from cpserver.store.models import Carer, Child
from tests.server import world
from tests.server.conftest import log_in
from tests.server.feeds_support import jsonl, load, source
from tests.server.test_feed_shield import shielded_row

API = "/api/v1"
VIEW = {"reason": "who_else_involved"}
# The target's own home and numbers: nothing else in the world holds them.
HOME = {"address_line1": "1 Tern Lane", "address_line2": "", "town": "Brambleford", "postcode": "ZZ1 1TT"}
CHILD_TELEPHONE = "01632 961111"
CARER_TELEPHONE = "01632 961112"
TARGET = world.ORDINARY
SEARCH = {"given": "Amelia", "family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()}


def _pk(db: Session, cp_id: str) -> int:
    found = db.scalar(sa.select(Child.id).where(Child.cp_id == cp_id))
    assert found is not None
    return found


def _target_at_its_own_home(db: Session) -> None:
    """The ordinary child and its carer move to a home of their own (the world's default home is
    shared by several children)."""
    target = _pk(db, TARGET)
    db.execute(
        sa.update(Child)
        .where(Child.id == target)
        .values(**HOME, postcode_norm="ZZ11TT", telephone=CHILD_TELEPHONE)
    )
    db.execute(sa.update(Carer).where(Carer.child_pk == target).values(**HOME, telephone=CARER_TELEPHONE))
    db.commit()


def _carer(child_pk: int, **values: Any) -> Carer:
    return Carer(
        child_pk=child_pk,
        given_name="Sam",
        family_name="Lodger",
        relationship_to_child="Stepfather",
        **values,
    )


def _consistent(db: Session) -> None:
    db.expire_all()
    assert carer_shield_drift(db.connection()) == 0
    db.rollback()


def _served(client: TestClient, headers: dict[str, str]) -> tuple[str, list[tuple[bool, Any]]]:
    """What the insider gets: the target's record kind, and the target in a search by name."""
    response = client.post(f"{API}/children/{TARGET}/views", json=VIEW, headers=headers)
    assert response.status_code == 200, response.text
    if response.json()["kind"] == "shielded":
        assert b"tern lane" not in response.content.lower() and b"zz11tt" not in response.content.lower()
    found = client.post(f"{API}/searches", json=SEARCH, headers=headers).json()["results"]
    return response.json()["kind"], [(item["shielded"], item["locality"]) for item in found]


COVERED = ("shielded", [(True, None)])
OPEN = ("full", [(False, "Brambleford")])


def _by_postcode(client: TestClient, headers: dict[str, str], postcode: str) -> list[Any]:
    body = {"given": "Amelia", "family": world.ORDINARY_FAMILY, "postcode": postcode}
    response = client.post(f"{API}/searches", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def test_a_carer_added_to_a_shielded_child_at_the_targets_home_covers_it(client, db) -> None:
    _target_at_its_own_home(db)
    headers = log_in(client, db, world.PRACTITIONER)
    assert _served(client, headers) == OPEN
    assert _by_postcode(client, headers, HOME["postcode"])
    db.add(_carer(_pk(db, world.SHIELDED), **HOME))
    db.commit()
    _consistent(db)
    assert _served(client, headers) == COVERED
    assert _by_postcode(client, headers, HOME["postcode"].lower()) == []


def test_a_carer_written_by_a_core_insert_is_flagged_too(client, db) -> None:
    """The feeds write carers with Core inserts (no ORM object): the same trigger serves them."""
    _target_at_its_own_home(db)
    headers = log_in(client, db, world.PRACTITIONER)
    db.execute(
        sa.insert(Carer),
        [
            {
                "child_pk": _pk(db, world.SHIELDED),
                "given_name": "Sam",
                "family_name": "Lodger",
                "relationship_to_child": "Stepfather",
                "telephone": CHILD_TELEPHONE.replace(" ", ""),
            }
        ],
    )
    db.commit()
    _consistent(db)
    assert _served(client, headers) == COVERED


def test_a_shielded_childs_carer_taking_the_targets_number_covers_it(client, db) -> None:
    _target_at_its_own_home(db)
    headers = log_in(client, db, world.PRACTITIONER)
    assert _served(client, headers) == OPEN
    db.execute(
        sa.update(Carer)
        .where(Carer.child_pk == _pk(db, world.SHIELDED), Carer.relationship_to_child == "Mother")
        .values(telephone=" " + CARER_TELEPHONE)
    )
    db.commit()
    _consistent(db)
    assert _served(client, headers) == COVERED


def test_a_child_shielded_after_the_target_was_seen_covers_it_until_the_shield_is_lifted(
    client, db, as_role
) -> None:
    """The target's stepfather is also the carer of a child at another home; that child is then
    shielded by its team (the API), and later unshielded."""
    _target_at_its_own_home(db)
    db.add(_carer(_pk(db, world.NO_SCHOOL), **HOME, telephone="01632 961113"))
    db.commit()
    headers = log_in(client, db, world.PRACTITIONER)
    assert _served(client, headers) == OPEN
    team = as_role("cmt")
    shield = {
        "ground": "significant_harm",
        "review_date": (world.TODAY + dt.timedelta(days=90)).isoformat(),
        "reason": "Police advice received today.",
    }
    response = client.post(f"{API}/children/{world.NO_SCHOOL}/shield", json=shield, headers=team)
    assert response.status_code == 200, response.text
    _consistent(db)
    assert _served(client, headers) == COVERED
    assert _by_postcode(client, headers, HOME["postcode"]) == []
    response = client.post(
        f"{API}/children/{world.NO_SCHOOL}/unshield", json={"reason": "Risk reviewed."}, headers=team
    )
    assert response.status_code == 200, response.text
    _consistent(db)
    assert _served(client, headers) == OPEN


def test_a_child_shielded_in_the_database_covers_the_target_at_once(client, db) -> None:
    """A shield written straight into the table (a data load, a repair) flags the carers too."""
    _target_at_its_own_home(db)
    db.add(_carer(_pk(db, world.NO_SCHOOL), telephone=CARER_TELEPHONE))
    db.commit()
    headers = log_in(client, db, world.PRACTITIONER)
    assert _served(client, headers) == OPEN
    db.execute(sa.update(Child).where(Child.cp_id == world.NO_SCHOOL).values(shielded=True))
    db.commit()
    _consistent(db)
    assert _served(client, headers) == COVERED


def test_a_carer_moved_onto_a_shielded_child_carries_the_shield(client, db) -> None:
    _target_at_its_own_home(db)
    db.add(_carer(_pk(db, world.NO_SCHOOL), **HOME))
    db.commit()
    headers = log_in(client, db, world.PRACTITIONER)
    assert _served(client, headers) == OPEN
    db.execute(
        sa.update(Carer)
        .where(Carer.child_pk == _pk(db, world.NO_SCHOOL), Carer.family_name == "Lodger")
        .values(child_pk=_pk(db, world.SHIELDED))
    )
    db.commit()
    _consistent(db)
    assert _served(client, headers) == COVERED


def test_the_target_moving_in_with_a_shielded_childs_father_is_covered(client, db) -> None:
    """The father lives elsewhere: only his carer row (flagged) holds that home."""
    _target_at_its_own_home(db)
    headers = log_in(client, db, world.PRACTITIONER)
    father_home = {
        "address_line1": world.CANARIES["father_address"],
        "address_line2": "",
        "town": world.CANARIES["father_town"],
        "postcode": world.CANARIES["father_postcode"],
    }
    db.execute(sa.update(Child).where(Child.cp_id == TARGET).values(**father_home, postcode_norm="ZZ944QX"))
    db.commit()
    assert _served(client, headers) == COVERED
    assert _by_postcode(client, headers, world.CANARIES["father_postcode"]) == []


def test_a_flag_written_by_hand_is_read_again_from_the_child(client, db) -> None:
    """Nobody can clear a shielded household's carers' flag: the trigger puts the child's back."""
    headers = log_in(client, db, world.PRACTITIONER)
    shielded = _pk(db, world.SHIELDED)
    db.execute(sa.update(Carer).where(Carer.child_pk == shielded).values(child_shielded=False))
    db.execute(sa.update(Carer).where(Carer.child_pk == _pk(db, TARGET)).values(child_shielded=True))
    db.commit()
    _consistent(db)
    flags = db.scalars(sa.select(Carer.child_shielded).where(Carer.child_pk == shielded)).all()
    assert flags and all(flags)
    response = client.post(f"{API}/children/{world.HALF_SIBLING}/views", json=VIEW, headers=headers)
    assert response.json()["kind"] == "shielded"


def test_a_feed_giving_a_shielded_child_a_carer_at_the_targets_home_covers_it(client, db) -> None:
    _target_at_its_own_home(db)
    headers = log_in(client, db, world.PRACTITIONER)
    census, _ = source(db)
    lodger = {"given_name": "Sam", "family_name": "Lodger", "relationship_to_child": "Stepfather"}
    # The row the matcher is sure of (the mother as before), with one carer more.
    carers = [*shielded_row()["carers"], {**lodger, **HOME}]
    report = load(db, census, jsonl(shielded_row(carers=carers)))
    assert report.rows_matched == 1
    _consistent(db)
    assert _served(client, headers) == COVERED


def test_a_held_row_decided_the_same_child_covers_the_target(client, db, as_role) -> None:
    """The match queue's "same child" applies a held row to the shielded child, carers and all."""
    _target_at_its_own_home(db)
    headers = log_in(client, db, world.PRACTITIONER)
    census, _ = source(db)
    lodger = {"given_name": "Sam", "family_name": "Lodger", "relationship_to_child": "Stepfather"}
    held = shielded_row(source_record_id="CB-LIKE", given_name="Rowena", carers=[{**lodger, **HOME}])
    assert load(db, census, jsonl(held)).rows_held == 1
    assert _served(client, headers) == OPEN
    page = client.post(f"{API}/match-review-pages", json={}, headers=as_role("cmt"))
    assert page.status_code == 200, page.text
    review_id = page.json()["items"][0]["id"]
    decided = client.post(
        f"{API}/match-reviews/{review_id}/decision", json={"decision": "same_child"}, headers=as_role("cmt")
    )
    assert decided.status_code == 200, decided.text
    _consistent(db)
    assert _served(client, headers) == COVERED


def test_purging_a_shielded_child_leaves_no_flag_behind(client, db) -> None:
    headers = log_in(client, db, world.PRACTITIONER)
    response = client.post(f"{API}/children/{world.HALF_SIBLING}/views", json=VIEW, headers=headers)
    assert response.json()["kind"] == "shielded"
    now = dt.datetime.now(dt.UTC)
    purge_children(db, [_pk(db, world.SHIELDED)], [world.SHIELDED], now=now)
    db.commit()
    _consistent(db)
    assert db.scalar(sa.select(sa.func.count()).select_from(Carer).where(Carer.child_shielded.is_(True))) == 1
    response = client.post(f"{API}/children/{world.HALF_SIBLING}/views", json=VIEW, headers=headers)
    assert response.json()["kind"] == "full"


def test_the_drift_check_sees_a_flag_the_triggers_did_not_set_and_the_resync_mends_it(db) -> None:
    """The consistency check can fail: with the triggers set aside (as a bulk load does), a wrong
    flag is counted, and `resync_carer_shields` puts every flag right."""
    connection = db.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("ALTER TABLE carers DISABLE TRIGGER USER")
    else:
        kept = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'carers'"
        ).all()
        for name, _sql in kept:
            connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    shielded = _pk(db, world.SHIELDED)
    connection.execute(sa.update(Carer).where(Carer.child_pk == shielded).values(child_shielded=False))
    connection.execute(sa.update(Carer).where(Carer.child_pk == _pk(db, TARGET)).values(child_shielded=True))
    assert carer_shield_drift(connection) == 3  # the shielded child's mother and father, the target's
    resync_carer_shields(connection)
    assert carer_shield_drift(connection) == 0
    db.rollback()


def test_the_probe_reads_the_shielded_households_partial_indexes(db: Session) -> None:
    """Each part of the probe is one of the shielded few's partial indexes, never a whole-table one."""
    connection = db.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("SET enable_seqscan = off")
    statement = _near_statement(True, True, postgres)
    values = {"postcodes": ["ZZ11TT", "ZZ999QX"], "telephones": ["01632961111"]}
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_rest: Any) -> None:
        sent.append((sql, parameters))

    # Explained exactly as the application sends it (the driver's text and parameters).
    sa.event.listen(connection, "before_cursor_execute", keep)
    try:
        connection.execute(statement, values).all()
    finally:
        sa.event.remove(connection, "before_cursor_execute", keep)
    sql, parameters = sent[0]
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    plan = " ".join(str(row) for row in connection.exec_driver_sql(explain + sql, parameters))
    # Only the shielded few are read: their partial indexes (on tiny tables PostgreSQL may read a
    # whole partial index and filter, which reads no other row either), never a whole-table one.
    assert "ix_carers_shielded_" in plan and "ix_children_shielded_" in plan, plan
    for whole in ("ix_carers_postcode_key", "ix_carers_telephone_key", "ix_children_postcode_norm"):
        assert whole not in plan, (whole, plan)
    assert "ix_children_telephone_key" not in plan and "Seq Scan" not in plan, plan
    assert not re.search(r"SCAN (carers|children)'", plan), plan
    db.rollback()


def _carer_row(child_pk: int) -> dict[str, Any]:
    return {
        "child_id": child_pk,
        "given_name": "Sam",
        "family_name": "Lodger",
        "relationship_to_child": "Stepfather",
        "parental_responsibility": False,
        "address_line1": HOME["address_line1"],
        "address_line2": "",
        "town": "",
        "postcode": HOME["postcode"],
        "telephone": "",
    }


INSERT_CARER = sa.text(
    "INSERT INTO carers (child_id, given_name, family_name, relationship_to_child, parental_responsibility, "
    "address_line1, address_line2, town, postcode, telephone) VALUES (:child_id, :given_name, :family_name, "
    ":relationship_to_child, :parental_responsibility, :address_line1, :address_line2, :town, :postcode, "
    ":telephone)"
)
SHIELD = sa.text("UPDATE children SET shielded = true WHERE id = :id")


def _race(engine: sa.Engine, first: sa.TextClause, second: sa.TextClause, child_pk: int) -> None:
    """`first` runs in a transaction left open; `second` starts in another and must wait for it."""
    params = {"id": child_pk, **_carer_row(child_pk)}
    errors: list[BaseException] = []

    def run_second() -> None:
        try:
            with engine.begin() as connection:
                connection.execute(second, params)
        except BaseException as error:  # handed to the test's thread
            errors.append(error)

    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(first, params)
        waiting = threading.Thread(target=run_second)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive(), "the second writer did not wait for the first"
        transaction.commit()
    waiting.join(timeout=30)
    assert not waiting.is_alive() and not errors, errors


def test_a_carer_added_while_the_child_is_being_shielded_is_flagged(engine: sa.Engine) -> None:
    """PostgreSQL, two writers at once (SQLite has one writer at a time): a carer inserted while
    another transaction shields its child waits for it and reads the committed shield; a shield
    set while a carer is being inserted waits for the insert and then flags that carer too."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: no two transactions write at once")
    with engine.begin() as connection:
        first_child, second_child = (
            connection.execute(sa.select(Child.id).where(Child.cp_id == cp_id)).scalar_one()
            for cp_id in (world.NO_SCHOOL, world.SENSITIVE)
        )
    _race(engine, SHIELD, INSERT_CARER, first_child)
    _race(engine, INSERT_CARER, SHIELD, second_child)
    with engine.connect() as connection:
        assert carer_shield_drift(connection) == 0
        flagged = connection.execute(
            sa.select(Carer.child_pk).where(Carer.family_name == "Lodger", Carer.child_shielded.is_(True))
        ).scalars()
        assert sorted(flagged) == sorted([first_child, second_child])
