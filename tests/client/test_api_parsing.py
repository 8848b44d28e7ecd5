"""The parsing layer never raises anything but `ApiError`, and never puts a body into an error."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from cpclient.api.errors import (
    ApiError,
    BadResponse,
    Forbidden,
    LoginRefused,
    NotFound,
    RequestRejected,
    ServiceUnavailable,
    SessionExpired,
    Throttled,
)
from cpclient.api.models import AnyRecord, Meta, Record, SearchResults, SessionBody, ShieldedRecord
from cpclient.api.parsing import clean_text, error_for, parse_body, retry_after_seconds

JSON = {"content-type": "application/json"}
ADAPTERS = [
    TypeAdapter(Meta),
    TypeAdapter(SessionBody),
    TypeAdapter(SearchResults),
    TypeAdapter(AnyRecord),
]
SECRET = "Zebedee-Quux-Fictional"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
headers = st.sampled_from(
    [JSON, {"content-type": "text/html"}, {}, {"content-type": "application/json; charset=utf-8"}]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2000), status=st.integers(100, 599), header=headers, which=st.integers(0, 3))
def test_any_bytes_give_a_model_or_an_api_error(body, status, header, which):
    with contextlib.suppress(ApiError):
        parse_body(status, header, body, ADAPTERS[which])
    for context in ("login", "session", "public"):
        error = error_for(status, header, body, context)
        assert isinstance(error, ApiError)
        assert error.message


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, status=st.integers(200, 599), which=st.integers(0, 3))
def test_any_json_gives_a_model_or_an_api_error(value, status, which):
    body = json.dumps(value).encode()
    with contextlib.suppress(ApiError):
        parse_body(status, JSON, body, ADAPTERS[which])
    assert isinstance(error_for(status, JSON, body, "session"), ApiError)


@settings(max_examples=200)
@given(
    code=st.text(max_size=80),
    message=st.text(max_size=3000),
    field=st.none() | st.text(max_size=80),
    status=st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 502, 503]),
)
def test_error_bodies_are_cleaned(code, message, field, status):
    body = json.dumps({"error": {"code": code, "message": message, "field": field}}).encode()
    error = error_for(status, JSON, body, "session")
    assert isinstance(error, ApiError)
    assert len(error.message) <= 600
    assert not any(ord(char) < 32 for char in error.message)
    assert len(error.code) <= 64


def _record_body() -> dict:
    return {
        "kind": "full",
        "id": "CP1",
        "given": SECRET,
        "middle_names": "",
        "family": "Example",
        "former_names": [],
        "gender": "female",
        "date_of_birth": "2015-01-02",
        "shielded": False,
        "shielded_access": False,
        "address_status": "current",
        "address": {"line1": SECRET, "line2": "", "town": "T", "postcode": "ZZ1 1ZZ"},
        "telephone": None,
        "left_england": False,
        "carers": [],
        "education": None,
        "gp": None,
        "involvements": [],
        "management_contact": {"name": "CMT", "telephone": "1", "email": "e"},
        "local_authority": "LA",
        "view_id": 1,
    }


def test_a_wrong_shape_never_quotes_the_body():
    body = _record_body()
    body["shielded"] = "yes"  # a string is not a boolean
    with pytest.raises(BadResponse) as caught:
        parse_body(200, JSON, json.dumps(body).encode(), TypeAdapter(AnyRecord))
    error = caught.value
    assert SECRET not in str(error) and SECRET not in repr(error) and SECRET not in error.message
    assert error.__cause__ is None and error.__context__ is None


def test_the_two_kinds_of_record_are_told_apart():
    full = TypeAdapter(AnyRecord).validate_json(json.dumps(_record_body()))
    assert isinstance(full, Record)
    shielded = {
        "kind": "shielded",
        "id": "CP2",
        "given": "A",
        "middle_names": "",
        "family": "B",
        "gender": "male",
        "date_of_birth": "2016-05-14",
        "shielded": True,
        "carers": [{"name": "C", "relationship": "Mother"}],
        "management_contact": {"name": "CMT", "telephone": "1", "email": "e"},
        "local_authority": "LA",
        "withheld": ["address"],
        "view_id": 2,
        "address": {"line1": "must be ignored"},
    }
    parsed = TypeAdapter(AnyRecord).validate_json(json.dumps(shielded))
    assert isinstance(parsed, ShieldedRecord)
    assert not hasattr(parsed, "address")


@pytest.mark.parametrize(
    ("status", "context", "code", "expected"),
    [
        (401, "login", "invalid_credentials", LoginRefused),
        (403, "login", "account_suspended", LoginRefused),
        (401, "session", "session_expired", SessionExpired),
        (401, "session", "not_authenticated", SessionExpired),
        (401, "login", "session_expired", SessionExpired),
        (403, "session", "not_your_involvement", Forbidden),
        (404, "session", "child_not_found", NotFound),
        (400, "session", "search_too_broad", RequestRejected),
        (422, "session", "invalid_request", RequestRejected),
        (429, "login", "too_many_attempts", Throttled),
        (503, "session", "audit_unavailable", ServiceUnavailable),
        (500, "session", "internal_error", ServiceUnavailable),
    ],
)
def test_status_and_code_give_the_right_error(status, context, code, expected):
    body = json.dumps({"error": {"code": code, "message": "Server says.", "field": "family"}}).encode()
    error = error_for(status, JSON, body, context)
    assert type(error) is expected
    assert error.code == code
    assert error.message == "Server says."


def test_a_5xx_without_a_body_still_has_a_message():
    error = error_for(502, {"content-type": "text/html"}, b"<html>Bad gateway</html>", "session")
    assert isinstance(error, ServiceUnavailable)
    assert "not available" in error.message


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("30") == 30
    assert retry_after_seconds("99999999999") == 24 * 60 * 60
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("Thu, 01 Jan 2026 12:01:00 GMT", now) == 60


def test_clean_text_removes_direction_overrides_and_controls():
    assert clean_text("Call\u202e 999\x07 now") == "Call 999 now"
    assert len(clean_text("x" * 5000)) == 600


def test_error_str_holds_no_message():
    error = LoginRefused("account_suspended", f"Suspended. {SECRET}", status=403)
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert str(error) == "LoginRefused: account_suspended (HTTP 403)"
