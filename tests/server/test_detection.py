"""Rule 7: each detection rule acted out through the real API raises exactly the alert it should;
a practitioner's normal day raises none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.store.models import Alert, User
from tests.server import world
from tests.server.conftest import WORKSTATION, login_body

API = "/api/v1"
ALL_HOURS = {"working_hours_start": 0, "working_hours_end": 24, "working_days": "0,1,2,3,4,5,6"}


@pytest.fixture
def make_client(database_url) -> Iterator:
    clients: list[TestClient] = []

    def build(**overrides) -> TestClient:
        values = {**ALL_HOURS, **overrides}
        client = TestClient(
            create_app(Settings(database_url=database_url, **values)), raise_server_exceptions=False
        )
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def login(client, db, username, workstation=WORKSTATION):
    response = client.post(f"{API}/sessions", json=login_body(db, username, workstation=workstation))
    assert response.status_code == 201, response.json()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def alerts(db) -> list[tuple[str, str, str]]:
    db.rollback()
    rows = db.execute(
        sa.select(Alert.rule, Alert.severity, User.username).join(User, User.id == Alert.user_id)
    ).all()
    return sorted((rule, severity, username) for rule, severity, username in rows)


def view(client, headers, cp_id=world.ORDINARY, reason="safeguarding", text=None):
    response = client.post(
        f"{API}/children/{cp_id}/views", json={"reason": reason, "reason_text": text}, headers=headers
    )
    assert response.status_code == 200, response.json()
    return response


def search(client, headers, family, dob="2016-05-05"):
    return client.post(f"{API}/searches", json={"family": family, "date_of_birth": dob}, headers=headers)


def test_a_practitioners_normal_day_raises_nothing(make_client, db):
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    for family, dob in (
        (world.ORDINARY_FAMILY, world.ORDINARY_DOB),
        ("Wanderley", world.ORDINARY_DOB),
        ("Hollowell", world.ORDINARY_DOB),
        (world.SHIELDED_FAMILY, world.SHIELDED_DOB),
    ):
        search(client, headers, family, dob.isoformat())
    for cp_id, reason in (
        (world.ORDINARY, "who_else_involved"),
        (world.NO_SCHOOL, "missing_education"),
        (world.SENSITIVE, "providing_service"),
        (world.SHIELDED, "safeguarding"),
    ):
        view(client, headers, cp_id, reason)
    view(client, headers, world.ORDINARY, "other", "Preparing for a multi-agency meeting")
    client.post(
        f"{API}/children/{world.ORDINARY}/involvements",
        json={"service_type": "family_support"},
        headers=headers,
    )
    client.delete(f"{API}/sessions/current", headers=headers)
    login(client, db, world.PRACTITIONER)
    assert alerts(db) == []


def test_searching_ones_own_family_name(make_client, db):
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    search(client, headers, "Practitioner")
    assert alerts(db) == [("family_name_search", "medium", world.PRACTITIONER)]


def _make_family(db, username, *, family=None, postcode=None):
    values = {}
    if family:
        values["family_name"] = family
    if postcode:
        values["home_postcode"] = postcode
    db.execute(sa.update(User).where(User.username == username).values(**values))
    db.commit()


def test_opening_a_child_with_the_users_surname(make_client, db):
    _make_family(db, world.PRACTITIONER, family=world.ORDINARY_FAMILY)
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    view(client, headers)
    assert alerts(db) == [("family_member", "medium", world.PRACTITIONER)]


def test_opening_a_child_at_the_users_own_home_suspends_at_once(make_client, db):
    _make_family(db, world.PRACTITIONER, family=world.ORDINARY_FAMILY, postcode=world.ORDINARY_POSTCODE)
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    view(client, headers)
    assert alerts(db) == [("family_member", "high", world.PRACTITIONER)]
    alert = db.scalar(sa.select(Alert))
    assert alert.auto_suspended and "suspended automatically" in alert.summary
    assert search(client, headers, "Anyone").status_code == 401


def test_volume_far_above_baseline_and_norm(make_client, db):
    client = make_client(volume_hour_minimum=5, volume_day_minimum=1000)
    headers = login(client, db, world.PRACTITIONER)
    for _ in range(6):
        view(client, headers)
    assert alerts(db) == [("volume", "medium", world.PRACTITIONER)]


def test_volume_below_the_threshold_is_quiet(make_client, db):
    client = make_client(volume_hour_minimum=5, volume_day_minimum=1000)
    headers = login(client, db, world.PRACTITIONER)
    for _ in range(5):
        view(client, headers)
    assert alerts(db) == []


def test_out_of_hours(make_client, db):
    hour = dt.datetime.now(dt.UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/London")).hour
    start = (hour + 2) % 24
    client = make_client(working_hours_start=start, working_hours_end=min(start + 1, 24))
    headers = login(client, db, world.PRACTITIONER)
    view(client, headers)
    view(client, headers, world.NO_SCHOOL)
    assert alerts(db) == [("out_of_hours", "low", world.PRACTITIONER)]  # once a day, not per access


def test_repeated_other_reasons(make_client, db):
    client = make_client(other_reason_limit_per_day=3)
    headers = login(client, db, world.PRACTITIONER)
    for n in range(3):
        view(client, headers, reason="other", text=f"Explaining the need number {n}")
    assert alerts(db) == [("repeated_other", "low", world.PRACTITIONER)]


def test_opening_children_outside_the_authority_without_involvement(make_client, db):
    client = make_client(outside_authority_limit_per_day=3)
    headers = login(client, db, world.PRACTITIONER_SOUTH)
    for cp_id in (world.ORDINARY, world.NO_SCHOOL):
        view(client, headers, cp_id)
    assert alerts(db) == []
    view(client, headers, world.SENSITIVE)
    assert alerts(db) == [("outside_authority", "medium", world.PRACTITIONER_SOUTH)]


def test_browsing_with_near_identical_searches(make_client, db):
    client = make_client(browsing_search_limit=5)
    headers = login(client, db, world.PRACTITIONER)
    for day in range(1, 6):
        search(client, headers, "Thistlewode", f"2016-05-{day:02d}")
    assert alerts(db) == [("browsing", "medium", world.PRACTITIONER)]


def test_browsing_is_not_raised_again_while_its_alert_is_open(make_client, db):
    """The open alert and the recent searches are read in one statement: still one alert."""
    client = make_client(browsing_search_limit=3)
    headers = login(client, db, world.PRACTITIONER)
    for day in range(1, 8):
        search(client, headers, "Thistlewode", f"2016-05-{day:02d}")
    assert alerts(db) == [("browsing", "medium", world.PRACTITIONER)]
    db.execute(sa.update(Alert).values(status="dismissed"))
    db.commit()
    search(client, headers, "Thistlewode", "2016-05-09")
    assert alerts(db) == [("browsing", "medium", world.PRACTITIONER)] * 2


def test_one_account_on_two_workstations(make_client, db):
    client = make_client()
    first = login(client, db, world.PRACTITIONER, workstation="WS-A")
    search(client, first, world.ORDINARY_FAMILY)
    login(client, db, world.PRACTITIONER, workstation="WS-B")
    assert ("two_workstations", "medium", world.PRACTITIONER) in alerts(db)


def test_a_workstation_passed_to_another_user(make_client, db):
    client = make_client()
    login(client, db, world.PRACTITIONER, workstation="WS-SHARED")
    login(client, db, world.PRACTITIONER_2, workstation="WS-SHARED")
    assert alerts(db) == [("shared_workstation", "medium", world.PRACTITIONER_2)]
