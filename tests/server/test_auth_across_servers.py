"""Authentication reads the truth on every request: a change made through one API server stops the
user on another at their very next request (no cache of sessions, users, accreditation or lockdown)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings
from tests.server import world
from tests.server.conftest import log_in

API = "/api/v1"
SEARCH = {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()}
REASON = {"reason": "Checked against the incident log."}


@pytest.fixture
def other_server(settings: Settings) -> Iterator[TestClient]:
    """A second API server on the same database (the load balancer may send any request to either)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as second:
        yield second


def _search_works(server: TestClient, headers: dict[str, str]) -> int:
    return server.post(f"{API}/searches", json=SEARCH, headers=headers).status_code


def test_suspension_on_one_server_stops_the_next_request_on_the_other(client, other_server, db):
    victim = log_in(client, db, world.PRACTITIONER_2)
    assert _search_works(other_server, victim) == 200
    cmt = log_in(client, db, world.CMT)
    target = db.scalar(sa.text("SELECT id FROM users WHERE username = :u"), {"u": world.PRACTITIONER_2})
    assert client.post(f"{API}/users/{target}/suspension", headers=cmt, json=REASON).status_code == 200
    assert _search_works(other_server, victim) == 401


def test_logout_on_one_server_ends_the_token_on_the_other(client, other_server, db):
    headers = log_in(client, db, world.PRACTITIONER)
    assert _search_works(other_server, headers) == 200
    assert client.delete(f"{API}/sessions/current", headers=headers).status_code == 204
    after = other_server.post(f"{API}/searches", json=SEARCH, headers=headers)
    assert after.status_code == 401 and after.json()["error"]["code"] == "session_expired"


def test_lockdown_on_one_server_stops_the_next_request_on_the_other(client, other_server, db):
    practitioner = log_in(client, db, world.PRACTITIONER)
    assert _search_works(other_server, practitioner) == 200
    national = log_in(client, db, world.NATIONAL)
    locked = client.post(f"{API}/lockdown", headers=national, json={"reason": "Suspected credential theft."})
    assert locked.status_code == 201
    ended = other_server.post(f"{API}/searches", json=SEARCH, headers=practitioner)
    # The lockdown ends open sessions; a session it missed would meet the switch itself.
    assert ended.status_code == 401
    assert ended.json()["error"]["code"] in {"session_expired", "service_locked_down"}
    assert _search_works(other_server, national) == 200, "the national team keeps access"


def test_withdrawn_accreditation_on_one_server_stops_the_next_request_on_the_other(client, other_server, db):
    south = log_in(client, db, world.PRACTITIONER_SOUTH)
    assert _search_works(other_server, south) == 200
    org = db.scalar(sa.text("SELECT id FROM organisations WHERE name = 'Southwold Vale Health'"))
    national = log_in(client, db, world.NATIONAL)
    assert (
        client.post(f"{API}/organisations/{org}/withdrawal", headers=national, json=REASON).status_code == 200
    )
    assert _search_works(other_server, south) == 401
