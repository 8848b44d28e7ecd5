"""Rule 7, harvesting: one account cannot list or open the directory in bulk.

Each test is the attempt of an insider with a valid account, acted out through the real API on
SQLite and PostgreSQL: rate limits answer 429 with Retry-After and are audited, volume escalates
to suspension while an alert is open, searches count, runs of unknown or consecutive IDs are rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.store.models import Alert, AuditEvent, User
from tests.server import world
from tests.server.conftest import login_body

API = "/api/v1"
ALL_HOURS = {"working_hours_start": 0, "working_hours_end": 24, "working_days": "0,1,2,3,4,5,6"}


@pytest.fixture
def make_client(database_url: str) -> Iterator[Any]:
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        client = TestClient(
            create_app(Settings(database_url=database_url, **{**ALL_HOURS, **overrides})),
            raise_server_exceptions=False,
        )
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def login(client: TestClient, db: Any, username: str, workstation: str = "WS-HARVEST") -> dict[str, str]:
    response = client.post(f"{API}/sessions", json=login_body(db, username, workstation=workstation))
    assert response.status_code == 201, response.json()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def alerts(db: Any) -> list[tuple[str, str, str]]:
    db.rollback()
    rows = db.execute(
        sa.select(Alert.rule, Alert.severity, User.username).join(User, User.id == Alert.user_id)
    )
    return sorted((rule, severity, username) for rule, severity, username in rows)


def search(client: TestClient, headers: dict[str, str], n: int = 0) -> Any:
    body = {"family": world.ORDINARY_FAMILY, "date_of_birth": f"2015-01-{1 + n % 28:02d}"}
    return client.post(f"{API}/searches", json=body, headers=headers)


def view(client: TestClient, headers: dict[str, str], cp_id: str = world.ORDINARY) -> Any:
    return client.post(f"{API}/children/{cp_id}/views", json={"reason": "safeguarding"}, headers=headers)


def suspended(db: Any, username: str) -> bool:
    db.rollback()
    return bool(db.scalar(sa.select(User.suspended).where(User.username == username)))


def test_searches_are_rate_limited_with_retry_after_and_the_refusal_is_audited(make_client, db) -> None:
    client = make_client(search_limit_minute=3)
    headers = login(client, db, world.PRACTITIONER)
    for n in range(3):
        assert search(client, headers, n).status_code == 200
    refused = search(client, headers, 3)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "3 searches per minute" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    db.rollback()
    row = db.scalars(sa.select(AuditEvent).where(AuditEvent.outcome == "refused:rate_limited")).one()
    assert row.action == "search" and row.username == world.PRACTITIONER
    assert row.detail["criteria"]["family"] == world.ORDINARY_FAMILY
    assert alerts(db) == [("rate_limited", "medium", world.PRACTITIONER)]


def test_record_views_are_rate_limited(make_client, db) -> None:
    client = make_client(view_limit_minute=3)
    headers = login(client, db, world.PRACTITIONER)
    for _ in range(3):
        assert view(client, headers).status_code == 200
    refused = view(client, headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "view_id" not in refused.text and world.ORDINARY_FAMILY not in refused.text


def test_a_workstation_is_limited_whoever_signs_in_on_it(make_client, db) -> None:
    client = make_client(view_limit_minute=2, workstation_limit_factor=1.5)  # 3 per workstation
    first = login(client, db, world.PRACTITIONER, workstation="WS-SHARED-DESK")
    second = login(client, db, world.PRACTITIONER_2, workstation="WS-SHARED-DESK")
    assert [view(client, first).status_code for _ in range(2)] == [200, 200]
    assert view(client, second).status_code == 200
    refused = view(client, second)
    assert refused.status_code == 429 and "on this workstation" in refused.json()["error"]["message"]


def test_harvesting_at_the_default_limits_is_stopped_and_suspends(make_client, db) -> None:
    """The attack in the issue: hundreds of searches and views in seconds, at the default settings."""
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    statuses = [search(client, headers, n).status_code for n in range(60)]
    assert statuses.count(200) == Settings().search_limit_minute
    assert 429 in statuses
    # Refusals keep being counted: past the threshold the account is suspended, not left to retry.
    assert statuses[-1] == 401 and suspended(db, world.PRACTITIONER)
    assert ("rate_limit_high", "high", world.PRACTITIONER) in alerts(db)
    other = login(client, db, world.PRACTITIONER_2)
    opened = [view(client, other, world.ORDINARY).status_code for _ in range(40)]
    assert opened.count(200) == Settings().view_limit_minute
    assert opened[-1] == 401 and suspended(db, world.PRACTITIONER_2)


def test_volume_escalates_to_suspension_while_an_alert_is_open(make_client, db) -> None:
    client = make_client(volume_hour_minimum=3, view_volume_high_hour=8, view_limit_minute=100)
    headers = login(client, db, world.PRACTITIONER)
    for _ in range(7):
        assert view(client, headers).status_code == 200
    assert alerts(db) == [("volume", "medium", world.PRACTITIONER)]
    assert view(client, headers).status_code == 200  # the eighth: the alert is open, still measured
    assert ("view_volume_high", "high", world.PRACTITIONER) in alerts(db)
    assert suspended(db, world.PRACTITIONER)
    assert view(client, headers).status_code == 401


def test_searches_count_towards_volume(make_client, db) -> None:
    client = make_client(
        search_volume_hour=4, search_volume_high_hour=7, search_limit_minute=100, browsing_search_limit=100
    )
    headers = login(client, db, world.PRACTITIONER)
    for n in range(4):
        assert search(client, headers, n).status_code == 200
    assert alerts(db) == [("search_volume", "medium", world.PRACTITIONER)]
    for n in range(4, 7):
        search(client, headers, n)
    assert ("search_volume_high", "high", world.PRACTITIONER) in alerts(db)
    assert suspended(db, world.PRACTITIONER)


def test_a_run_of_unknown_ids_is_its_own_rule(make_client, db) -> None:
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    for n in range(5):
        assert view(client, headers, f"CP{7000000000 + n * 37:010d}").status_code == 404
    assert alerts(db) == [("not_found_run", "medium", world.PRACTITIONER)]


def test_walking_consecutive_ids_suspends(make_client, db) -> None:
    client = make_client()
    headers = login(client, db, world.PRACTITIONER)
    for n in range(1, 7):
        view(client, headers, f"CP{n:010d}")
    assert ("id_walk", "high", world.PRACTITIONER) in alerts(db)
    assert suspended(db, world.PRACTITIONER)


def test_the_audit_review_shows_search_criteria_as_typed(make_client, db) -> None:
    client = make_client()
    practitioner = login(client, db, world.PRACTITIONER)
    typed = {"given": "Amelia", "family": "Thistlewode", "postcode": "zz1 4ab"}
    assert client.post(f"{API}/searches", json=typed, headers=practitioner).status_code == 200
    shielded_postcode = {
        "given": "Ash",
        "family": world.SHIELDED_FAMILY,
        "postcode": world.CANARIES["postcode"],
    }
    assert client.post(f"{API}/searches", json=shielded_postcode, headers=practitioner).status_code == 200
    cmt = login(client, db, world.CMT)
    rows = client.post(f"{API}/audit-queries", json={"action": "search"}, headers=cmt).json()["rows"]
    assert [row["search_criteria"] for row in rows] == [
        {**shielded_postcode, "exact": False},
        {**typed, "exact": False},
    ]
    # The national team may not see the Northmere household: the postcode typed is withheld.
    national = login(client, db, world.NATIONAL)
    rows = client.post(f"{API}/audit-queries", json={"action": "search"}, headers=national).json()["rows"]
    assert rows[0]["search_criteria"]["postcode"].startswith("(withheld")
    assert rows[1]["search_criteria"]["postcode"] == "zz1 4ab"
