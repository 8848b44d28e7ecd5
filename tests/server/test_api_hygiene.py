"""API hygiene: no-store on every response, one error envelope, nothing personal in URLs or logs.

- `Cache-Control: no-store` and the `{"error": {"code", "message"}}` envelope on every kind of
  response: 201, 200, 204, 400, 401, 403, 404, 405, 413, 422, 429 and 500.
- Validation errors name the field, never the value that was sent.
- No query parameters anywhere, path parameters are ids only (from the OpenAPI document), and the
  document and docs are off in production.
- Nothing personal in the server's log records, even at DEBUG.
- SQL metacharacters and Unicode oddities in search fields never give a 5xx.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from cpserver.api.app import create_app
from cpserver.config import Settings
from tests.server import world
from tests.server.conftest import login_body

API = "/api/v1"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
SEARCH = {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()}


def assert_no_store(response: Any, what: str) -> None:
    assert response.headers.get("cache-control") == "no-store", (
        f"{what}: Cache-Control is {response.headers.get('cache-control')!r}"
    )


def assert_error(response: Any, status: int, code: str | None, what: str) -> dict[str, Any]:
    """The response is `status` with the one error envelope (and, when given, this code)."""
    assert response.status_code == status, f"{what}: {response.status_code} {response.content[:300]!r}"
    assert_no_store(response, what)
    assert response.headers.get("content-type", "").startswith("application/json"), what
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"{what}: not the error envelope: {body}"
    error = body["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error) <= {"code", "message", "field"}, what
    assert isinstance(error["code"], str) and CODE.match(error["code"]), (
        f"{what}: unstable code {error['code']!r}"
    )
    assert isinstance(error["message"], str) and error["message"].strip(), f"{what}: empty message"
    if code is not None:
        assert error["code"] == code, f"{what}: code {error['code']!r}, expected {code!r}"
    return error


def token_headers(client: TestClient, db: Session, username: str) -> dict[str, str]:
    response = client.post(f"{API}/sessions", json=login_body(db, username))
    assert response.status_code == 201, response.json()
    return {"Authorization": f"Bearer {response.json()['token']}"}


# --- no-store and the error envelope on every kind of response -----------------------------------


def test_success_responses_are_no_store(client: TestClient, db: Session) -> None:
    login = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER))
    assert login.status_code == 201
    assert_no_store(login, "201 login")
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    meta = client.get(f"{API}/meta")
    assert meta.status_code == 200
    assert_no_store(meta, "200 meta")
    search = client.post(f"{API}/searches", json=SEARCH, headers=headers)
    assert search.status_code == 200
    assert_no_store(search, "200 search")
    view = client.post(
        f"{API}/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, headers=headers
    )
    assert view.status_code == 200
    assert_no_store(view, "200 view")
    logout = client.delete(f"{API}/sessions/current", headers=headers)
    assert logout.status_code == 204
    assert_no_store(logout, "204 logout")
    assert logout.content == b""


def test_error_responses_are_no_store_with_a_stable_code(client: TestClient, db: Session) -> None:
    headers = token_headers(client, db, world.PRACTITIONER)
    cases: list[tuple[str, Any, int, str]] = [
        (
            "400 malformed JSON",
            client.post(
                f"{API}/searches",
                content=b'{"family": ',
                headers={**headers, "Content-Type": "application/json"},
            ),
            400,
            "malformed_json",
        ),
        (
            "400 too broad",
            client.post(f"{API}/searches", json={"family": "Smith"}, headers=headers),
            400,
            "search_too_broad",
        ),
        (
            "400 no reason",
            client.post(f"{API}/children/{world.ORDINARY}/views", json={}, headers=headers),
            400,
            "reason_required",
        ),
        ("401 no token", client.post(f"{API}/searches", json=SEARCH), 401, "not_authenticated"),
        (
            "401 bad token",
            client.post(f"{API}/searches", json=SEARCH, headers={"Authorization": "Bearer nope"}),
            401,
            "session_expired",
        ),
        (
            "401 wrong password",
            client.post(
                f"{API}/sessions", json=login_body(db, world.PRACTITIONER_2, password="wrong password")
            ),
            401,
            "invalid_credentials",
        ),
        (
            "403 suspended",
            client.post(f"{API}/sessions", json=login_body(db, world.SUSPENDED)),
            403,
            "account_suspended",
        ),
        (
            "403 not a practitioner",
            client.post(
                f"{API}/children/{world.ORDINARY}/involvements",
                json={"service_type": "social_care"},
                headers=token_headers(client, db, world.NATIONAL),
            ),
            403,
            "role_not_permitted",
        ),
        ("404 unknown route", client.get(f"{API}/no-such-thing", headers=headers), 404, "not_found"),
        ("404 outside the API", client.get("/", headers=headers), 404, "not_found"),
        (
            "404 unknown child",
            client.post(
                f"{API}/children/CP9999999999/views", json={"reason": "safeguarding"}, headers=headers
            ),
            404,
            "child_not_found",
        ),
        ("405 GET sessions", client.get(f"{API}/sessions"), 405, "method_not_allowed"),
        (
            "405 GET a record",
            client.get(f"{API}/children/{world.ORDINARY}/views", headers=headers),
            405,
            "method_not_allowed",
        ),
        (
            "413 oversized body",
            client.post(f"{API}/searches", json={"family": "x" * (70 * 1024)}, headers=headers),
            413,
            "request_too_large",
        ),
        (
            "413 oversized chunked body",
            client.post(
                f"{API}/searches",
                content=iter([b'{"family": "', b"x" * (40 * 1024), b"x" * (40 * 1024), b'"}']),
                headers={**headers, "Content-Type": "application/json"},
            ),
            413,
            "request_too_large",
        ),
        (
            "422 unknown field",
            client.post(f"{API}/searches", json={**SEARCH, "surname": "x"}, headers=headers),
            422,
            "invalid_request",
        ),
        (
            "422 bad path parameter",
            client.delete(f"{API}/involvements/not-a-number", headers=headers),
            422,
            "invalid_request",
        ),
    ]
    for what, response, status, code in cases:
        assert_error(response, status, code, what)


def test_throttled_login_is_429_with_retry_after(client: TestClient, db: Session) -> None:
    attempts = [
        client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER_2, password="not the password"))
        for _ in range(Settings().throttle_account_failures + 1)
    ]
    for response in attempts[:-1]:
        assert_error(response, 401, "invalid_credentials", "401 before the throttle")
    error = assert_error(attempts[-1], 429, "too_many_attempts", "429 throttled")
    retry_after = attempts[-1].headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) > 0
    assert error["message"]
    # Even the right password is throttled now.
    right = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER_2))
    assert_error(right, 429, "too_many_attempts", "429 with the right password")


MARKER_500 = "BOOM-" + uuid.uuid4().hex


def _explode(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(f"unexpected failure holding {MARKER_500} Thistlewood ZZ1 4AB")


def test_unexpected_error_is_a_500_envelope_that_says_nothing(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    headers = token_headers(client, db, world.PRACTITIONER)
    monkeypatch.setattr("cpserver.domain.search.find_children", _explode)
    caplog.set_level(logging.DEBUG)
    response = client.post(f"{API}/searches", json=SEARCH, headers=headers)
    error = assert_error(response, 500, "internal_error", "500 unexpected")
    assert MARKER_500.encode() not in response.content
    assert b"Thistlewood" not in response.content and b"RuntimeError" not in response.content
    assert error["message"]
    for record in caplog.records:
        assert MARKER_500 not in record.getMessage(), "the exception's text reached the log"


def test_unexpected_error_does_not_reach_the_asgi_server(
    settings: Settings, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception that escapes the app is logged by the ASGI server (uvicorn) with its traceback
    and its text, which can hold personal data (a database error quotes its parameters). The app
    must answer the 500 itself and not let the exception out."""
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=True) as strict:
        headers = token_headers(strict, db, world.PRACTITIONER)
        monkeypatch.setattr("cpserver.domain.search.find_children", _explode)
        try:
            response = strict.post(f"{API}/searches", json=SEARCH, headers=headers)
        except RuntimeError as escaped:
            pytest.fail(
                "the unexpected error escaped the app to the ASGI server, which logs it with its text "
                f"({type(escaped).__name__}); the server's log would hold whatever the message held"
            )
        assert_error(response, 500, "internal_error", "500 unexpected")


# --- validation errors never echo what was sent ---------------------------------------------------


ECHO_CASES: list[tuple[str, Any]] = [
    ("unknown field", lambda v: {**SEARCH, "nickname": v}),
    ("wrong type: object for a name", lambda v: {**SEARCH, "family": {"value": v}}),
    ("wrong type: list for a name", lambda v: {**SEARCH, "given": [v]}),
    ("not a date", lambda v: {"family": world.ORDINARY_FAMILY, "date_of_birth": v}),
    ("not a gender", lambda v: {**SEARCH, "gender": v}),
    ("not a boolean", lambda v: {**SEARCH, "exact": v}),
    ("name too long", lambda v: {**SEARCH, "family": v + "x" * 200}),
    ("postcode too long", lambda v: {**SEARCH, "postcode": v}),
]


def test_validation_errors_do_not_echo_the_value(client: TestClient, db: Session) -> None:
    headers = token_headers(client, db, world.PRACTITIONER)
    for what, body in ECHO_CASES:
        value = "Zq" + uuid.uuid4().hex[:12] + "Canary"
        response = client.post(f"{API}/searches", json=body(value), headers=headers)
        assert_error(response, 422, "invalid_request", what)
        assert value.lower().encode() not in response.content.lower(), (
            f"{what}: the submitted value was echoed"
        )


def test_view_and_involvement_errors_do_not_echo_the_value(client: TestClient, db: Session) -> None:
    headers = token_headers(client, db, world.PRACTITIONER)
    value = "Zq" + uuid.uuid4().hex[:12] + "Canary"
    responses = [
        client.post(f"{API}/children/{world.ORDINARY}/views", json={"reason": value}, headers=headers),
        client.post(
            f"{API}/children/{world.ORDINARY}/views",
            json={"reason": "other", "reason_text": value[:8]},
            headers=headers,
        ),
        client.post(
            f"{API}/children/{world.ORDINARY}/views", json={"reason": "x", "extra": value}, headers=headers
        ),
        client.post(
            f"{API}/children/{world.ORDINARY}/involvements", json={"service_type": value}, headers=headers
        ),
        client.post(f"{API}/children/{value}/views", json={"reason": "safeguarding"}, headers=headers),
        client.post(f"{API}/sessions", json={**login_body(db, world.PRACTITIONER_2), "otp": value[:12]}),
        client.post(
            f"{API}/sessions",
            json={"username": value, "password": value, "otp": "123456", "workstation": "w"},
        ),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500
        assert_error(response, response.status_code, None, f"{response.request.url.path}")
        assert value.lower().encode() not in response.content.lower()
        assert value[:8].lower().encode() not in response.content.lower()


# --- no personal data in URLs; OpenAPI off in production ------------------------------------------


def test_openapi_has_no_query_parameters_and_only_id_path_parameters(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert_no_store(response, "openapi")
    document = response.json()
    assert document["paths"], "the document lists no paths"
    operations = 0
    for path, item in document["paths"].items():
        assert path.startswith(f"{API}/"), f"{path}: outside the API prefix"
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            operations += 1
            for parameter in [*shared, *operation.get("parameters", [])]:
                where = f"{method.upper()} {path} parameter {parameter.get('name')!r}"
                assert parameter["in"] != "query", f"{where}: personal data must never go in a URL"
                assert parameter["in"] != "cookie", f"{where}: no cookies"
                if parameter["in"] == "path":
                    assert parameter["name"].endswith("_id"), f"{where}: path parameters are ids only"
                    schema = parameter.get("schema", {})
                    is_int = schema.get("type") == "integer"
                    is_code = (
                        schema.get("type") == "string" and schema.get("pattern") and schema.get("maxLength")
                    )
                    assert is_int or is_code, f"{where}: an id must be an integer or a short coded string"
            for name in re.findall(r"{([^}]+)}", path):
                assert name.endswith("_id"), f"{path}: path parameter {name!r} is not an id"
    assert operations >= 5


@pytest.fixture
def production_client(database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, production=True))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_openapi_and_docs_are_off_in_production(production_client: TestClient, client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
        assert_error(production_client.get(path), 404, "not_found", f"production {path}")
    assert production_client.get(f"{API}/meta").status_code == 200


# --- no personal data in the server's logs ---------------------------------------------------------


def test_no_personal_data_in_log_records(
    client: TestClient, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    reason_text = "Visiting the family about " + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    for username in (world.PRACTITIONER, world.CMT):
        headers = token_headers(client, db, username)
        searches = [
            SEARCH,
            {"given": "Amelia", "family": world.ORDINARY_FAMILY, "postcode": world.ORDINARY_POSTCODE},
            {"family": world.SHIELDED_FAMILY, "date_of_birth": world.SHIELDED_DOB.isoformat()},
            {"given": "Rowan", "family": world.SHIELDED_FAMILY, "postcode": world.CANARIES["postcode"]},
            {"family": world.SHIELDED_FAMILY},  # refused: too broad
        ]
        for criteria in searches:
            client.post(f"{API}/searches", json=criteria, headers=headers)
        for cp_id in (world.ORDINARY, world.SHIELDED, world.SENSITIVE):
            view = client.post(
                f"{API}/children/{cp_id}/views",
                json={"reason": "other", "reason_text": reason_text},
                headers=headers,
            )
            assert view.status_code == 200
        client.post(
            f"{API}/children/{world.ORDINARY}/views",
            json={"reason": "other", "reason_text": "short"},
            headers=headers,
        )
    assert caplog.records, "nothing was logged at all: is the capture working?"

    personal = [
        "Amelia",
        world.ORDINARY_FAMILY,
        "Rowan",
        "Linden",
        world.SHIELDED_FAMILY,
        "Sage",
        "Hollowell",
        world.ORDINARY_POSTCODE,
        "ZZ14AB",
        "01632 960500",
        "01632 960501",
        "3 Orchard Row",
        "Brambleford",
        reason_text,
        world.ORDINARY_DOB.isoformat(),
        world.SHIELDED_DOB.isoformat(),
        world.PASSWORD,
        *world.CANARIES.values(),
    ]
    dates = {world.ORDINARY_DOB, world.SHIELDED_DOB}
    found: set[str] = set()
    for record in caplog.records:
        texts = [str(record.msg), record.getMessage()]
        args = record.args if isinstance(record.args, tuple) else (record.args,) if record.args else ()
        texts.extend(repr(arg) for arg in args)
        blob = "\n".join(texts).lower()
        found.update(f"{value!r} in a {record.name} record" for value in personal if value.lower() in blob)
        found.update(f"a date of birth in a {record.name} record" for arg in _flatten(args) if arg in dates)
    assert not found, "personal data reached the server's log records:\n" + "\n".join(sorted(found))


def _flatten(values: Any) -> Iterator[Any]:
    if isinstance(values, dict):
        for value in values.values():
            yield from _flatten(value)
    elif isinstance(values, list | tuple | set):
        for value in values:
            yield from _flatten(value)
    else:
        yield values


# --- hostile search input --------------------------------------------------------------------------

ODD = [
    "'; DROP TABLE children; --",
    "' OR '1'='1",
    '" OR ""="',
    "%",
    "_",
    "%_%",
    "\\",
    "\x00",
    "Thistle\x00wood",
    "\u202eoowelt\u202c",
    "a" + "\u0301" * 100,
    "\U0001f9d2\U0001f3fd",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\ufeff",
    "\ud7ff\ue000\uffff",
    "ǅ",
    "ﬃ",
    "İ",
    " ",
    "",
    "x" * 100,
]


@pytest.fixture
def practitioner(client: TestClient, db: Session) -> dict[str, str]:
    """One login per test: hypothesis runs the test body many times with the same fixtures."""
    return token_headers(client, db, world.PRACTITIONER)


odd_text = st.one_of(st.sampled_from(ODD), st.text(max_size=40))
odd_postcode = st.one_of(
    st.sampled_from(["%", "_", "ZZ1 4A%", "'--", "\x00", "ZZ1\u202e4AB", "ZZ14AB"]), st.text(max_size=10)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    family=odd_text,
    given_name=st.one_of(st.none(), odd_text),
    postcode=st.one_of(st.none(), odd_postcode),
    exact=st.booleans(),
    with_dob=st.booleans(),
)
def test_hostile_search_fields_never_give_a_5xx(
    client: TestClient,
    practitioner: dict[str, str],
    family: str,
    given_name: str | None,
    postcode: str | None,
    exact: bool,
    with_dob: bool,
) -> None:
    body: dict[str, Any] = {"family": family, "exact": exact}
    if given_name is not None:
        body["given"] = given_name
    if postcode is not None:
        body["postcode"] = postcode
    if with_dob:
        body["date_of_birth"] = world.ORDINARY_DOB.isoformat()
    response = client.post(f"{API}/searches", json=body, headers=practitioner)
    assert response.status_code != 401, "the login expired between examples"
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code == 200:
        assert isinstance(response.json()["results"], list)
    else:
        assert_error(response, response.status_code, None, "hostile search")
    assert_no_store(response, "hostile search")


def test_sql_metacharacters_do_not_widen_a_search(client: TestClient, db: Session) -> None:
    headers = token_headers(client, db, world.PRACTITIONER)
    dob = world.ORDINARY_DOB.isoformat()
    for family in ("%", "_", "%_%", "' OR '1'='1", "'; DROP TABLE children; --"):
        response = client.post(
            f"{API}/searches", json={"family": family, "date_of_birth": dob}, headers=headers
        )
        assert response.status_code < 500
        if response.status_code == 200:
            names = {result["family"] for result in response.json()["results"]}
            assert world.ORDINARY_FAMILY not in names, f"{family!r} matched every family name"
    still = client.post(f"{API}/searches", json=SEARCH, headers=headers)
    assert still.status_code == 200 and any(r["id"] == world.ORDINARY for r in still.json()["results"])


def test_dates_far_from_today_are_handled(client: TestClient, db: Session) -> None:
    headers = token_headers(client, db, world.PRACTITIONER)
    for dob in ("0001-01-01", "9999-12-31", "2000-02-30", "2000-13-01", "1970-01-01T00:00:00", "20000101"):
        response = client.post(
            f"{API}/searches", json={"family": "Smith", "date_of_birth": dob}, headers=headers
        )
        assert 200 <= response.status_code < 500, (dob, response.status_code)
    far = {
        "family": "Smith",
        "date_of_birth_from": "0001-01-01",
        "date_of_birth_to": dt.date.today().isoformat(),
    }
    assert_error(
        client.post(f"{API}/searches", json=far, headers=headers), 400, "search_too_broad", "huge range"
    )
