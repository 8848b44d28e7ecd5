"""The server's edges, tried as an insider would (issue 9, section 4), on SQLite and PostgreSQL.

Simultaneous wrong passwords against the throttle; text the database cannot store, anywhere in
any body; absurd dates; booleans posing as ids; ids probed by callers without the role; a forged
X-Forwarded-For; a token carried to a second address.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from cpserver.api.app import create_app, server_options
from cpserver.config import Settings
from cpserver.store.models import Alert, AuditEvent, Incident, User
from tests.server import world
from tests.server.conftest import log_in, login_body

API = "/api/v1"


# --- login throttling under concurrency --------------------------------------------------------


def test_simultaneous_wrong_passwords_are_not_all_checked_against_the_limit(client, db) -> None:
    body = login_body(db, world.PRACTITIONER, password="not the password")

    def attempt(_: int) -> tuple[int, str]:
        response = client.post(f"{API}/sessions", json=body)
        return response.status_code, response.json()["error"]["code"]

    with ThreadPoolExecutor(max_workers=14) as pool:
        answers = list(pool.map(attempt, range(14)))
    # 503 `server_busy` is the overload guard turning an attempt away before it is read at all.
    assert all(
        answer in ((401, "invalid_credentials"), (429, "too_many_attempts"), (503, "server_busy"))
        for answer in answers
    ), answers
    statuses = [status for status, _code in answers]
    assert statuses.count(401) <= Settings().throttle_account_failures, statuses
    db.rollback()
    checked = db.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "login")
    )
    assert checked <= Settings().throttle_account_failures
    if statuses.count(401) == Settings().throttle_account_failures:  # the overload guard left enough
        right = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER))
        assert right.status_code == 429


# --- text that cannot be stored ------------------------------------------------------------------

BAD_TEXTS = ["a\x00b", "\x00", "ab\ud800"]


def _routes_with_bodies(client: TestClient) -> list[tuple[str, str]]:
    schema = client.get("/openapi.json").json()
    found = []
    for path, operations in schema["paths"].items():
        if path == "/api/v1/feeds/batches":
            # The machine endpoint takes no JSON object and no user's token: unstorable text in a
            # feed rejects its row (`unstorable_text`, tests/server/test_feed_endpoint.py).
            continue
        for method, operation in operations.items():
            if "requestBody" in operation:
                concrete = path.replace("{child_id}", world.ORDINARY).replace("{cp_id}", world.ORDINARY)
                for name in ("alert_id", "incident_id", "user_id", "organisation_id", "request_id"):
                    concrete = concrete.replace("{" + name + "}", "1")
                found.append((method.upper(), concrete))
    return found


def test_unstorable_text_anywhere_in_any_body_is_a_400_with_the_envelope(client, db) -> None:
    headers = log_in(client, db, world.CMT)
    routes = _routes_with_bodies(client)
    assert len(routes) >= 15, routes
    for method, path in routes:
        for text in BAD_TEXTS:
            for body in ({"reason": text}, {"x": [1, {"y": text}]}, {text: "value"}):
                # Sent as ASCII JSON escapes (\u0000, \ud800), as a client that can send them would.
                response = client.request(
                    method,
                    path,
                    content=json.dumps(body),
                    headers={**headers, "Content-Type": "application/json"},
                )
                assert response.status_code == 400, (method, path, response.status_code, response.text)
                assert response.json() == {
                    "error": {"code": "invalid_characters", "message": response.json()["error"]["message"]}
                }
                assert "\x00" not in response.text


def test_unstorable_text_is_still_counted_and_audited(client, db) -> None:
    # Sign-in attempts count against the throttle like any failure.
    for _ in range(5):
        bad = login_body(db, world.PRACTITIONER, password="pass\x00word")
        assert client.post(f"{API}/sessions", json=bad).status_code == 400
    assert client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER)).status_code == 429
    # Searches and views are audited under their own action (so the rate limits count them).
    headers = log_in(client, db, world.PRACTITIONER_2)
    search = client.post(f"{API}/searches", json={"family": "Thistle\x00wood"}, headers=headers)
    view = client.post(
        f"{API}/children/{world.ORDINARY}/views",
        json={"reason": "other", "reason_text": "x\x00"},
        headers=headers,
    )
    assert search.status_code == view.status_code == 400
    db.rollback()
    rows = db.execute(
        sa.select(AuditEvent.action, AuditEvent.outcome, AuditEvent.username).where(
            AuditEvent.outcome.like("%invalid_characters")
        )
    ).all()
    assert sorted(rows) == sorted(
        [("login", "failed:invalid_characters", "")] * 5
        + [
            ("search", "refused:invalid_characters", world.PRACTITIONER_2),
            ("view", "denied:invalid_characters", world.PRACTITIONER_2),
        ]
    )


def test_far_out_dates_in_an_audit_query_are_a_400(client, as_role) -> None:
    headers = as_role("cmt")
    for body in ({"date_to": "9999-12-31"}, {"date_from": "9999-12-31"}, {"date_from": "0001-01-01"}):
        response = client.post(f"{API}/audit-queries", json=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
    assert (
        client.post(f"{API}/audit-queries", json={"date_to": "2030-01-01"}, headers=headers).status_code
        == 200
    )


def test_booleans_are_not_ids(client, db, as_role) -> None:
    headers = as_role("cmt")
    summary = "Booleans are not the numbers of accounts"
    for body in (
        {"user_id": True, "summary": summary},
        {"user_id": 2, "summary": summary, "alert_id": True},
    ):
        response = client.post(f"{API}/incidents", json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


# --- existence oracles ---------------------------------------------------------------------------


def test_a_caller_without_the_role_learns_nothing_about_which_ids_exist(client, db, as_role) -> None:
    # An alert, an incident and a user that exist.
    practitioner = as_role("practitioner")
    client.post(
        f"{API}/searches",
        json={"family": "Practitioner", "date_of_birth": "2015-01-01"},
        headers=practitioner,
    )
    cmt = as_role("cmt")
    p2 = db.scalar(sa.select(User.id).where(User.username == world.PRACTITIONER_2))
    opened = client.post(
        f"{API}/incidents", json={"user_id": p2, "summary": "Testing what an outsider can learn"}, headers=cmt
    )
    assert opened.status_code == 201
    db.rollback()
    alert = db.scalar(sa.select(Alert.id))
    incident = opened.json()["id"]
    assert alert is not None
    reason = {"reason": "Asking whether this number exists"}
    probes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/alerts/{}/dismissal", {"justification": "Asking whether this exists"}),
        ("POST", "/alerts/{}/incident", {"summary": "Asking whether this exists"}),
        ("PATCH", "/incidents/{}", {"status": "investigating"}),
        ("POST", "/incidents/{}/notes", {"text": "Asking whether this exists"}),
        ("POST", "/users/{}/suspension", reason),
        ("POST", "/users/{}/reinstatement", reason),
        (
            "PUT",
            "/users/{}/accreditation",
            {
                "crb_checked_on": None,
                "training_completed": True,
                "procedures_received": True,
                "agreement_signed": True,
            },
        ),
    ]
    existing = {"alerts": alert, "incidents": incident, "users": p2}
    for username in (world.PRACTITIONER_SOUTH,):
        headers = log_in(client, db, username)
        for method, template, body in probes:
            real = template.format(existing[template.split("/")[1]])
            made_up = template.format(987654)
            answers = [
                client.request(method, API + path, json=body, headers=headers) for path in (real, made_up)
            ]
            assert [a.status_code for a in answers] == [403, 403], (template, [a.text for a in answers])
            assert answers[0].json() == answers[1].json(), template


# --- client addresses ----------------------------------------------------------------------------


@pytest.fixture
def real_server(database_url: str) -> Iterator[Any]:
    """`start(**settings)` runs the app under uvicorn on a free port, as `cpserver serve` does."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**overrides: Any) -> str:
        settings = Settings(database_url=database_url, **overrides)
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            lifespan="off",
            **server_options(settings),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{API}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def _login_address(db: Any) -> str:
    db.rollback()
    return str(
        db.scalar(
            sa.select(AuditEvent.client_address)
            .where(AuditEvent.action == "login")
            .order_by(AuditEvent.seq.desc())
        )
    )


def test_x_forwarded_for_is_not_believed_unless_a_proxy_is_named(real_server, db) -> None:
    forged = {"X-Forwarded-For": "203.0.113.77"}
    base = real_server()
    reply = requests.post(
        f"{base}/sessions", json=login_body(db, world.PRACTITIONER), headers=forged, timeout=30
    )
    assert reply.status_code == 201
    assert _login_address(db) == "127.0.0.1"
    trusting = real_server(forwarded_allow_ips="127.0.0.1")
    reply = requests.post(
        f"{trusting}/sessions", json=login_body(db, world.PRACTITIONER), headers=forged, timeout=30
    )
    assert reply.status_code == 201
    assert _login_address(db) == "203.0.113.77"


def test_a_token_used_from_a_second_address_is_flagged(database_url, db) -> None:
    app = create_app(
        Settings(
            database_url=database_url,
            working_hours_start=0,
            working_hours_end=24,
            working_days="0,1,2,3,4,5,6",
        )
    )
    with (
        TestClient(app, client=("192.0.2.10", 50000), raise_server_exceptions=False) as first,
        TestClient(app, client=("198.51.100.20", 50000), raise_server_exceptions=False) as second,
    ):
        headers = log_in(first, db, world.PRACTITIONER)
        search = {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()}
        assert first.post(f"{API}/searches", json=search, headers=headers).status_code == 200
        db.rollback()
        assert db.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
        assert second.post(f"{API}/searches", json=search, headers=headers).status_code == 200
    db.rollback()
    rules = db.execute(sa.select(Alert.rule, Alert.severity)).all()
    assert rules == [("token_moved", "medium")]
    row = db.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "search").order_by(AuditEvent.seq.desc())
    ).first()
    assert row is not None and row.client_address == "198.51.100.20"
