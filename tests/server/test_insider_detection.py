"""Rule 7, detection that is hard to get round (issue 9, section 3), on SQLite and PostgreSQL.

The seeds' "family member" cases with the obvious evasions (a spelling that sounds the same, a
carer's surname, one's own postcode, a second address under the same workstation name); nobody
acting on an alert about themselves; the national team's own misuse actionable, and the team not
lockable out by one member; training demonstrations quiet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.store.models import Alert, Carer, Child, Organisation, SystemSetting, User
from cpserver.store.system import MODE_KEY
from tests.server import world
from tests.server.conftest import login_body

API = "/api/v1"
ALL_HOURS = {"working_hours_start": 0, "working_hours_end": 24, "working_days": "0,1,2,3,4,5,6"}


@pytest.fixture
def make_client(database_url: str) -> Iterator[Any]:
    clients: list[TestClient] = []

    def build(address: str = "testclient", **overrides: Any) -> TestClient:
        client = TestClient(
            create_app(Settings(database_url=database_url, **{**ALL_HOURS, **overrides})),
            client=(address, 50000),
            raise_server_exceptions=False,
        )
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def login(client: TestClient, db: Any, username: str, workstation: str = "WS-DESK-1") -> dict[str, str]:
    response = client.post(f"{API}/sessions", json=login_body(db, username, workstation=workstation))
    assert response.status_code == 201, response.json()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def alerts(db: Any) -> list[tuple[str, str, str]]:
    db.rollback()
    rows = db.execute(
        sa.select(Alert.rule, Alert.severity, User.username).join(User, User.id == Alert.user_id)
    )
    return sorted((rule, severity, username) for rule, severity, username in rows)


def set_user(db: Any, username: str, **values: Any) -> None:
    db.execute(sa.update(User).where(User.username == username).values(**values))
    db.commit()


def view(client: TestClient, headers: dict[str, str], cp_id: str = world.ORDINARY) -> Any:
    response = client.post(f"{API}/children/{cp_id}/views", json={"reason": "safeguarding"}, headers=headers)
    assert response.status_code == 200, response.json()
    return response


def test_a_family_name_that_sounds_the_same_is_still_ones_own(make_client, db) -> None:
    set_user(db, world.PRACTITIONER, family_name="Smith")
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    client.post(f"{API}/searches", json={"family": "Smyth", "date_of_birth": "2015-04-04"}, headers=headers)
    assert alerts(db) == [("family_name_search", "medium", world.PRACTITIONER)]


def test_searching_ones_own_home_postcode(make_client, db) -> None:
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)  # home postcode ZZ5 5ZZ
    body = {"given": "Amelia", "family": world.ORDINARY_FAMILY, "postcode": "zz55zz"}
    assert client.post(f"{API}/searches", json=body, headers=headers).status_code == 200
    assert alerts(db) == [("own_postcode_search", "medium", world.PRACTITIONER)]


def test_opening_a_child_whose_carer_has_the_users_family_name(make_client, db) -> None:
    child_pk = db.scalar(sa.select(Child.id).where(Child.cp_id == world.ORDINARY))
    db.add(
        Carer(
            child_pk=child_pk, given_name="Sam", family_name="Brightwater", relationship_to_child="Stepfather"
        )
    )
    db.commit()
    set_user(db, world.PRACTITIONER, family_name="Brightwaters")  # sounds the same
    client = make_client()
    view(client, login(client, db, world.PRACTITIONER))
    assert alerts(db) == [("family_member", "medium", world.PRACTITIONER)]


def test_opening_a_child_whose_carer_lives_at_the_users_home(make_client, db) -> None:
    set_user(db, world.PRACTITIONER, home_postcode=world.CANARIES["father_postcode"])
    client = make_client()
    view(client, login(client, db, world.PRACTITIONER), world.SHIELDED)  # its father lives there
    assert alerts(db) == [("family_member", "medium", world.PRACTITIONER)]


def test_one_account_from_two_addresses_under_one_workstation_name(make_client, db) -> None:
    first = make_client("192.0.2.10")
    second = make_client("198.51.100.20")
    login(first, db, world.PRACTITIONER, workstation="WS-SAME-NAME")
    login(second, db, world.PRACTITIONER, workstation="WS-SAME-NAME")
    assert alerts(db) == [("two_addresses", "medium", world.PRACTITIONER)]


def _alert_about(client: TestClient, db: Any, username: str, family: str) -> int:
    headers = login(client, db, username)
    client.post(f"{API}/searches", json={"family": family, "date_of_birth": "2015-04-04"}, headers=headers)
    db.rollback()
    user_id = db.scalar(sa.select(User.id).where(User.username == username))
    alert_id = db.scalar(sa.select(Alert.id).where(Alert.user_id == user_id))
    assert alert_id is not None
    return int(alert_id)


def test_nobody_acts_on_an_alert_about_themselves(make_client, db) -> None:
    client = make_client()
    alert_id = _alert_about(client, db, world.CMT, "Manager")
    cmt = login(client, db, world.CMT)
    justification = {"justification": "It was only me, testing the system"}
    dismissed = client.post(f"{API}/alerts/{alert_id}/dismissal", json=justification, headers=cmt)
    assert dismissed.status_code == 403 and dismissed.json()["error"]["code"] == "about_yourself"
    incident = client.post(
        f"{API}/alerts/{alert_id}/incident", json={"summary": "Opening my own incident"}, headers=cmt
    )
    assert incident.status_code == 403
    assert alerts(db) == [("family_name_search", "medium", world.CMT)]
    db.rollback()
    assert db.scalar(sa.select(Alert.status).where(Alert.id == alert_id)) == "open"


def test_a_national_team_members_misuse_is_actionable_by_another(make_client, db) -> None:
    client = make_client()
    alert_id = _alert_about(client, db, world.NATIONAL, "National")
    own = login(client, db, world.NATIONAL)
    justification = {"justification": "Dismissing my own alert quietly"}
    assert (
        client.post(f"{API}/alerts/{alert_id}/dismissal", json=justification, headers=own).status_code == 403
    )
    colleague = login(client, db, world.NATIONAL_2)
    opened = client.post(
        f"{API}/alerts/{alert_id}/incident",
        json={"summary": "Searched their own family name"},
        headers=colleague,
    )
    assert opened.status_code == 201, opened.json()
    db.rollback()
    assert db.scalar(sa.select(User.suspended).where(User.username == world.NATIONAL)) is True
    assert client.get(f"{API}/alerts", headers=own).status_code == 401  # suspended: sessions ended
    # The national team acts on its own members only: an authority's alerts stay with its team.
    p_alert = _alert_about(client, db, world.PRACTITIONER, "Practitioner")
    local = client.post(f"{API}/alerts/{p_alert}/dismissal", json=justification, headers=colleague)
    assert local.status_code == 403


def test_a_national_team_member_can_suspend_a_colleague_but_not_themselves(make_client, db) -> None:
    client = make_client()
    one = login(client, db, world.NATIONAL)
    two_id = db.scalar(sa.select(User.id).where(User.username == world.NATIONAL_2))
    one_id = db.scalar(sa.select(User.id).where(User.username == world.NATIONAL))
    reason = {"reason": "Investigating misuse reported by an authority"}
    assert client.post(f"{API}/users/{one_id}/suspension", json=reason, headers=one).status_code in (400, 403)
    assert client.post(f"{API}/users/{two_id}/suspension", json=reason, headers=one).status_code == 200


def test_no_national_team_member_can_withdraw_the_national_teams_organisation(make_client, db) -> None:
    client = make_client()
    headers = login(client, db, world.NATIONAL)
    org = db.scalar(sa.select(Organisation.id).where(Organisation.name == "National ContactPoint Team"))
    refused = client.post(
        f"{API}/organisations/{org}/withdrawal", json={"reason": "Locking my colleagues out"}, headers=headers
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "national_team_lockout"
    db.rollback()
    assert db.scalar(sa.select(Organisation.accredited).where(Organisation.id == org)) is True
    login(client, db, world.NATIONAL_2)  # still works


def test_a_training_demonstration_on_one_workstation_raises_no_alerts(make_client, db) -> None:
    # A training copy of the world (the mode is written once, so set here by hand).
    db.execute(sa.update(SystemSetting).where(SystemSetting.key == MODE_KEY).values(value="training"))
    db.commit()
    client = make_client(training=True)
    for username in (world.PRACTITIONER, world.PRACTITIONER_2, world.CMT, world.PRACTITIONER):
        headers = login(client, db, username, workstation="TRAINING-ROOM-PC")
        view(client, headers)
    # A class working through the same fictitious records: no rate limit, no volume alert.
    for _ in range(Settings().view_limit_minute + 2):
        view(client, headers)
    assert alerts(db) == []
    # The rules a trainer demonstrates still fire, marked as training.
    client.post(
        f"{API}/searches", json={"family": "Practitioner", "date_of_birth": "2015-04-04"}, headers=headers
    )
    db.rollback()
    assert [summary[:10] for summary in db.scalars(sa.select(Alert.summary))] == ["[Training]"]
