"""Rules 1 and 2 at login: accreditation refusals, the second factor, throttling, session ends."""

from __future__ import annotations

import datetime as dt
import statistics
import time

import pyotp
import pytest
import sqlalchemy as sa

from cpserver.store.models import AuditEvent, SystemSetting, User
from cpserver.store.models import Session as LoginSession
from tests.server import world
from tests.server.conftest import fresh_code, log_in, login_body

SEARCH = {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()}


def test_login_returns_token_user_and_policy(client, db):
    response = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER))
    assert response.status_code == 201
    body = response.json()
    assert len(body["token"]) >= 40
    assert body["user"]["role"] == "practitioner"
    assert body["user"]["management_contact"]["email"] == "contactpoint@northmere.example"
    assert body["idle_timeout_seconds"] == 15 * 60
    stored = db.scalars(sa.select(LoginSession.token_hash)).all()
    assert body["token"] not in stored, "the token is stored only as its hash"
    assert db.scalar(sa.select(AuditEvent).where(AuditEvent.action == "login")).outcome == "success"


@pytest.mark.parametrize(
    ("username", "code", "phrase"),
    [
        (world.SUSPENDED, "account_suspended", "suspended"),
        (world.UNACCREDITED, "organisation_not_accredited", "organisation is not accredited"),
        (world.CRB_EXPIRED, "crb_check_expired", "more than 3 years old"),
        (world.CRB_MISSING, "crb_check_missing", "No enhanced criminal records check"),
        (world.UNTRAINED, "training_incomplete", "mandatory ContactPoint training"),
        (world.NO_PROCEDURES, "procedures_not_received", "security operating procedures"),
        (world.NO_AGREEMENT, "agreement_unsigned", "end-user agreement"),
    ],
)
def test_each_unmet_rule_refuses_login_with_its_code_and_whom_to_contact(client, db, username, code, phrase):
    response = client.post("/api/v1/sessions", json=login_body(db, username))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == code
    assert phrase in error["message"]
    assert "Northmere ContactPoint Management Team" in error["message"]
    assert "01632 960100" in error["message"]
    refused = db.scalar(sa.select(AuditEvent).where(AuditEvent.action == "login"))
    assert refused.outcome == f"refused:{code}"


def test_crb_check_is_valid_until_its_third_anniversary(client, db):
    # Today as the server reckons it (UTC), not the world's import-time date: a suite that runs past
    # midnight would otherwise put the check a day earlier, on its third anniversary.
    today = dt.datetime.now(dt.UTC).date()
    day_before = today.replace(year=today.year - 3) + dt.timedelta(days=1)
    db.execute(sa.update(User).where(User.username == world.PRACTITIONER).values(crb_checked_on=day_before))
    db.commit()
    assert client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER)).status_code == 201


def test_wrong_password_and_unknown_user_get_the_same_answer(client, db):
    wrong = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER, password="nope"))
    unknown = client.post(
        "/api/v1/sessions", json=login_body(db, world.PRACTITIONER, username="no.such.user")
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_unknown_user_takes_as_long_as_a_wrong_password(client, db):
    def timed(username: str) -> float:
        start = time.perf_counter()
        client.post(
            "/api/v1/sessions", json=login_body(db, world.PRACTITIONER, username=username, password="x")
        )
        return time.perf_counter() - start

    known = [timed(u) for u in (world.PRACTITIONER, world.PRACTITIONER_2, world.CMT, world.NATIONAL)]
    unknown = [timed(f"ghost.{n}") for n in range(4)]
    # Both paths verify an Argon2 hash; the unknown one must not be measurably faster.
    assert statistics.median(unknown) > 0.5 * statistics.median(known)


def test_wrong_one_time_code_is_refused(client, db):
    body = login_body(db, world.PRACTITIONER)
    body["otp"] = "000000" if body["otp"] != "000000" else "111111"
    assert client.post("/api/v1/sessions", json=body).json()["error"]["code"] == "invalid_credentials"


def test_a_one_time_code_works_once(client, db):
    body = login_body(db, world.PRACTITIONER)
    assert client.post("/api/v1/sessions", json=body).status_code == 201
    replay = client.post("/api/v1/sessions", json=body)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_credentials"


def test_failed_logins_are_throttled_per_account_with_retry_after(client, db):
    for _ in range(5):
        response = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER, password="wrong"))
        assert response.status_code in (401, 429)
    throttled = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER))
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_attempts"
    assert int(throttled.headers["Retry-After"]) > 0
    # The throttle is per account: a colleague on the same address can still log in.
    assert client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER_2)).status_code == 201


def test_hundred_wrong_passwords_then_the_right_one_is_still_throttled(client, db):
    code = fresh_code(db, world.PRACTITIONER)
    statuses = set()
    for _ in range(100):
        body = {"username": world.PRACTITIONER, "password": "wrong", "otp": code, "workstation": "WS"}
        statuses.add(client.post("/api/v1/sessions", json=body).status_code)
    assert statuses <= {401, 429}
    right = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER))
    assert right.status_code == 429


def test_unknown_usernames_are_throttled_like_known_ones(client, db):
    for _ in range(5):
        client.post(
            "/api/v1/sessions", json=login_body(db, world.PRACTITIONER, username="ghost", password="x")
        )
    response = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER, username="ghost"))
    assert response.status_code == 429


def test_per_address_throttle(client, db):
    for n in range(20):
        client.post(
            "/api/v1/sessions", json=login_body(db, world.PRACTITIONER, username=f"ghost{n}", password="x")
        )
    response = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER_2))
    assert response.status_code == 429


def test_logout_kills_the_token_on_the_server(client, db):
    headers = log_in(client, db, world.PRACTITIONER)
    assert client.delete("/api/v1/sessions/current", headers=headers).status_code == 204
    after = client.post("/api/v1/searches", json=SEARCH, headers=headers)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "session_expired"


def _age_session(db, **values):
    db.execute(sa.update(LoginSession).values(**values))
    db.commit()


def test_idle_session_ends(client, db):
    headers = log_in(client, db, world.PRACTITIONER)
    assert client.post("/api/v1/searches", json=SEARCH, headers=headers).status_code == 200
    _age_session(db, last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert (
        client.post("/api/v1/searches", json=SEARCH, headers=headers).json()["error"]["code"]
        == "session_expired"
    )
    assert db.scalar(sa.select(LoginSession.end_reason)) == "idle"


def test_session_ends_at_its_absolute_lifetime(client, db):
    headers = log_in(client, db, world.PRACTITIONER)
    _age_session(db, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert client.post("/api/v1/searches", json=SEARCH, headers=headers).status_code == 401


def test_activity_keeps_a_session_alive(client, db):
    headers = log_in(client, db, world.PRACTITIONER)
    _age_session(db, last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14))
    assert client.post("/api/v1/searches", json=SEARCH, headers=headers).status_code == 200
    seen = db.scalar(sa.select(LoginSession.last_seen_at))
    assert dt.datetime.now(dt.UTC) - seen < dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    "change",
    [
        {"suspended": True},
        {"training_completed": False},
        {"crb_checked_on": dt.date(2000, 1, 1)},
    ],
)
def test_losing_authorisation_ends_open_sessions_at_once(client, db, change):
    headers = log_in(client, db, world.PRACTITIONER)
    db.execute(sa.update(User).where(User.username == world.PRACTITIONER).values(**change))
    db.commit()
    response = client.post("/api/v1/searches", json=SEARCH, headers=headers)
    assert response.status_code == 401
    assert db.scalar(sa.select(LoginSession.ended_at)) is not None


def test_lockdown_refuses_logins_and_ends_sessions_except_national(client, db):
    headers = log_in(client, db, world.PRACTITIONER)
    national = log_in(client, db, world.NATIONAL)
    db.add(SystemSetting(key="lockdown", value="on"))
    db.commit()
    ended = client.post("/api/v1/searches", json=SEARCH, headers=headers)
    assert ended.status_code == 401
    assert ended.json()["error"]["code"] == "service_locked_down"
    refused = client.post("/api/v1/sessions", json=login_body(db, world.PRACTITIONER_2))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "service_locked_down"
    assert client.post("/api/v1/searches", json=SEARCH, headers=national).status_code == 200


def test_totp_from_the_previous_step_is_accepted_for_clock_drift(client, db):
    fresh_code(db, world.PRACTITIONER)
    previous = pyotp.TOTP(world.TOTP_SECRET).at(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30))
    body = login_body(db, world.PRACTITIONER, otp=previous)
    assert client.post("/api/v1/sessions", json=body).status_code == 201


def test_current_session_names_the_user_and_ends_with_the_session(client, db):
    headers = log_in(client, db, world.PRACTITIONER)
    current = client.get("/api/v1/sessions/current", headers=headers)
    assert current.status_code == 200
    assert current.json()["username"] == world.PRACTITIONER
    assert client.get("/api/v1/sessions/current").status_code == 401
    client.delete("/api/v1/sessions/current", headers=headers)
    assert client.get("/api/v1/sessions/current", headers=headers).status_code == 401
