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
from cpclient.api.oversight_models import LockdownState, Organisation, UserAccount
from cpclient.api.parsing import clean_text, error_for, parse_body, retry_after_seconds

JSON = {"content-type": "application/json"}
ADAPTERS = [
    TypeAdapter(Meta),
    TypeAdapter(SessionBody),
    TypeAdapter(SearchResults),
    TypeAdapter(AnyRecord),
    TypeAdapter(LockdownState),
    TypeAdapter(list[UserAccount]),
    TypeAdapter(list[Organisation]),
]
LAST_ADAPTER = len(ADAPTERS) - 1
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
@given(
    body=st.binary(max_size=2000),
    status=st.integers(100, 599),
    header=headers,
    which=st.integers(0, LAST_ADAPTER),
)
def test_any_bytes_give_a_model_or_an_api_error(body, status, header, which):
    with contextlib.suppress(ApiError):
        parse_body(status, header, body, ADAPTERS[which])
    for context in ("login", "session", "public"):
        error = error_for(status, header, body, context)
        assert isinstance(error, ApiError)
        assert error.message


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, status=st.integers(200, 599), which=st.integers(0, LAST_ADAPTER))
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
        "own_involvements": [],
        "view_id": 2,
        "address": {"line1": "must be ignored"},
    }
    parsed = TypeAdapter(AnyRecord).validate_json(json.dumps(shielded))
    assert isinstance(parsed, ShieldedRecord)
    assert not hasattr(parsed, "address")


# --- the fields the server gained: strictly typed, never guessed ----------------------------------


def _involvement_body() -> dict:
    return {
        "id": 7,
        "practitioner_name": "Sam Example",
        "role": "Family support worker",
        "organisation": "Council",
        "telephone": "01632 960000",
        "email": "sam@example.org",
        "service_type": "family_support",
        "service_label": "Family support",
        "sensitive": False,
        "started_on": "2024-01-02",
        "ended_on": None,
        "lead_professional": False,
        "assessment_completed": False,
        "mine": True,
    }


def _shielded_body() -> dict:
    return {
        "kind": "shielded",
        "id": "CP2",
        "given": "A",
        "middle_names": "",
        "family": "B",
        "gender": "male",
        "date_of_birth": "2016-05-14",
        "shielded": True,
        "carers": [],
        "management_contact": {"name": "CMT", "telephone": "1", "email": "e"},
        "local_authority": "LA",
        "withheld": ["address", "involvements"],
        "own_involvements": [_involvement_body()],
        "view_id": 2,
    }


def _session_body() -> dict:
    return {
        "token": "t",
        "expires_at": "2026-01-01T12:00:00Z",
        "idle_timeout_seconds": 900,
        "user": {
            "username": "demo.emergency",
            "display_name": "Morgan Adeyemi",
            "role": "practitioner",
            "job_title": "Emergency duty social worker",
            "organisation": "Council",
            "local_authority": "LA",
            "management_contact": None,
            "may_override_shield": True,
        },
    }


def _lockdown_body() -> dict:
    return {
        "locked": True,
        "since": "2026-01-01T12:00:00Z",
        "reason": "Threat",
        "locked_by": "Alex Morgan",
        "restore_request_id": 3,
        "restore_requested_by": "Alex Morgan",
        "restore_requested_by_username": "demo.national",
    }


def _parsed_or_refused(body: dict, adapter: TypeAdapter) -> object | None:
    try:
        return parse_body(200, JSON, json.dumps(body).encode(), adapter)
    except BadResponse:
        return None


def test_the_new_fields_are_parsed():
    session = parse_body(200, JSON, json.dumps(_session_body()).encode(), TypeAdapter(SessionBody))
    assert session.user.may_override_shield is True
    record = parse_body(200, JSON, json.dumps(_shielded_body()).encode(), TypeAdapter(AnyRecord))
    assert isinstance(record, ShieldedRecord) and record.own_involvements[0].mine
    state = parse_body(200, JSON, json.dumps(_lockdown_body()).encode(), TypeAdapter(LockdownState))
    assert state.restore_requested_by_username == "demo.national"


def test_an_older_servers_answer_offers_no_override_and_names_no_requester():
    body = _session_body()
    del body["user"]["may_override_shield"]
    assert _parsed_or_refused(body, TypeAdapter(SessionBody)).user.may_override_shield is False
    lockdown = _lockdown_body()
    del lockdown["restore_requested_by_username"]
    assert _parsed_or_refused(lockdown, TypeAdapter(LockdownState)).restore_requested_by_username is None
    # A shielded record without the viewer's own involvements is not guessed to have none.
    shielded = _shielded_body()
    del shielded["own_involvements"]
    assert _parsed_or_refused(shielded, TypeAdapter(AnyRecord)) is None


@settings(max_examples=200)
@given(value=json_values)
def test_may_override_shield_is_only_ever_a_real_boolean(value):
    body = _session_body()
    body["user"]["may_override_shield"] = value
    parsed = _parsed_or_refused(body, TypeAdapter(SessionBody))
    if isinstance(value, bool):
        assert parsed is not None and parsed.user.may_override_shield is value
    else:
        assert parsed is None  # 1, "true", [] ... are not a yes


@settings(max_examples=200)
@given(value=json_values, field=st.sampled_from(sorted(_involvement_body())))
def test_own_involvements_are_parsed_as_strictly_as_a_full_records(value, field):
    involvement = _involvement_body()
    involvement[field] = value
    shielded = _shielded_body()
    shielded["own_involvements"] = [involvement]
    full = _record_body()
    full["involvements"] = [involvement]
    as_shielded = _parsed_or_refused(shielded, TypeAdapter(AnyRecord))
    as_full = _parsed_or_refused(full, TypeAdapter(AnyRecord))
    assert (as_shielded is None) == (as_full is None)


@settings(max_examples=200)
@given(value=json_values)
def test_the_restore_requesters_username_is_text_or_nothing(value):
    body = _lockdown_body()
    body["restore_requested_by_username"] = value
    parsed = _parsed_or_refused(body, TypeAdapter(LockdownState))
    if value is None or isinstance(value, str):
        assert parsed is not None and parsed.restore_requested_by_username == value
    else:
        assert parsed is None


@settings(max_examples=200)
@given(value=json_values)
def test_a_users_organisation_id_is_a_whole_number(value):
    user = {
        "id": 1,
        "username": "j.smith",
        "display_name": "Jo Smith",
        "role": "practitioner",
        "job_title": "Worker",
        "organisation_id": value,
        "organisation": "Council",
        "organisation_accredited": True,
        "local_authority": "LA",
        "telephone": "",
        "email": "jo@example.org",
        "manager_name": "M",
        "manager_email": "m@example.org",
        "crb_checked_on": None,
        "crb_expires_on": None,
        "training_completed": True,
        "procedures_received": True,
        "agreement_signed": True,
        "suspended": False,
        "suspended_reason": "",
        "problems": [],
    }
    parsed = _parsed_or_refused([user], TypeAdapter(list[UserAccount]))
    if isinstance(value, int) and not isinstance(value, bool):
        assert parsed is not None and parsed[0].organisation_id == value
    else:
        assert parsed is None
    del user["organisation_id"]
    assert _parsed_or_refused([user], TypeAdapter(list[UserAccount])) is None


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


def test_a_saturated_server_reads_as_busy_try_again():
    from cpclient.api.errors import ServerBusy
    from cpclient.api.parsing import error_for

    body = b'{"error": {"code": "server_busy", "message": "Anything the server says."}}'
    headers = {"content-type": "application/json", "retry-after": "2"}
    for context in ("login", "session", "public"):
        error = error_for(503, headers, body, context)
        assert isinstance(error, ServerBusy)
        assert error.retry_after == 2
        assert error.message == "ContactPoint is busy just now. Wait a few seconds, then try again."
    # Any other 503 keeps the server's own explanation (the audit trail could not be written, ...).
    other = error_for(
        503, headers, b'{"error": {"code": "audit_unavailable", "message": "No audit."}}', "session"
    )
    assert not isinstance(other, ServerBusy) and other.message == "No audit."
