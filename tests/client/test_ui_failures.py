"""Malformed, failing, truncated, huge or slow answers give a message, never a crash or a half record."""

from __future__ import annotations

import json

import pytest

from cpclient.api.errors import BadResponse, ServerBusy, ServiceUnavailable, TimedOut
from cpclient.api.transport import MAX_BODY_BYTES
from tests.client.conftest import Canned

SESSION = {
    "token": "fake-token",
    "expires_at": "2030-01-01T00:00:00Z",
    "idle_timeout_seconds": 900,
    "user": {
        "username": "demo.practitioner",
        "display_name": "Sam Okafor",
        "role": "practitioner",
        "job_title": "Family support worker",
        "organisation": "Fictional Council",
        "local_authority": "Northmere",
        "management_contact": None,
    },
}
ONE_RESULT = {
    "results": [
        {
            "id": "CP100",
            "given": "Fictional",
            "family": "Child",
            "date_of_birth": "2015-09-02",
            "gender": "male",
            "locality": "Northmere",
            "shielded": False,
            "exact_match": True,
        }
    ],
    "more": True,
    "max_results": 50,
}
# What a saturated cpserver answers (cpserver.api.middleware.ConcurrencyLimitMiddleware).
BUSY = Canned(
    503,
    b'{"error": {"code": "server_busy", "message": "ContactPoint is very busy just now."}}',
    {"Content-Type": "application/json", "Retry-After": "2"},
)
AUDIT_DOWN = {
    "error": {
        "code": "audit_unavailable",
        "message": "ContactPoint cannot record this access in the audit trail just now, "
        "so the record was not opened.",
    }
}


@pytest.fixture
def signed_in(qtbot, fake_server, real_meta, make_window):
    """A training window signed in to the fake server."""
    fake_server.answer_json("GET", "/api/v1/meta", real_meta)
    fake_server.answer_json("POST", "/api/v1/sessions", SESSION, status=201)
    window = make_window(fake_server.url)
    window.login.username.setText("demo.practitioner")
    window.login.password.setText("x")
    window.login.otp.setText("123456")
    window.login.sign_in_button.click()
    qtbot.waitUntil(lambda: window.signed_in, timeout=5_000)
    window.search.family.setText("Child")
    window.search.date_of_birth.setText("02/09/2015")
    return window


def _search_and_wait(qtbot, window):
    window.search.submit()
    qtbot.waitUntil(lambda: not window.search.searching, timeout=30_000)


@pytest.mark.parametrize(
    ("canned", "expected"),
    [
        (Canned(200, b"<html>surprise</html>", {"Content-Type": "text/html"}), BadResponse),
        (Canned(200, b"{not json"), BadResponse),
        (Canned(200, b'{"results": [{"id": 1}], "more": "maybe", "max_results": 50}'), BadResponse),
        (Canned(200, json.dumps(ONE_RESULT).encode(), truncate=True), BadResponse),
        (Canned(200, b" " * (MAX_BODY_BYTES + 1)), BadResponse),
        (Canned(200, chunked_forever=True), BadResponse),
        (Canned(500, b"Internal Server Error", {"Content-Type": "text/plain"}), ServiceUnavailable),
        (Canned(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}), ServiceUnavailable),
        (Canned(503, json.dumps(AUDIT_DOWN).encode()), ServiceUnavailable),
        (BUSY, ServerBusy),
    ],
    ids=["html", "broken-json", "wrong-shape", "truncated", "huge", "endless", "500", "502", "503", "busy"],
)
def test_a_bad_search_answer_gives_a_message(qtbot, fake_server, signed_in, canned, expected):
    window = signed_in
    fake_server.answer("POST", "/api/v1/searches", canned)
    _search_and_wait(qtbot, window)
    messages = window.search.summary.messages
    assert len(messages) == 1
    if expected is ServiceUnavailable and canned.status == 503 and canned is not BUSY:
        assert messages[0] == AUDIT_DOWN["error"]["message"]
    else:
        assert messages[0] == expected.default_message
    assert window.search.model.rowCount() == 0
    assert window.search.search_button.isEnabled()
    assert window.signed_in


def test_a_timeout_gives_a_message(qtbot, fake_server, signed_in):
    window = signed_in
    window.api._transport.timeout = (2.0, 0.5)
    fake_server.answer("POST", "/api/v1/searches", Canned(200, b"{}", delay=1.5))
    _search_and_wait(qtbot, window)
    assert window.search.summary.messages == [TimedOut.default_message]


@pytest.mark.parametrize(
    ("canned", "message"),
    [
        (Canned(503, json.dumps(AUDIT_DOWN).encode()), AUDIT_DOWN["error"]["message"]),
        (BUSY, ServerBusy.default_message),
        (Canned(200, b'{"kind": "full", "id": "CP100"}'), BadResponse.default_message),
        (Canned(200, b'{"kind": "secret"}'), BadResponse.default_message),
        (
            Canned(
                404, b'{"error": {"code": "child_not_found", "message": "There is no record with that ID."}}'
            ),
            "There is no record with that ID.",
        ),
    ],
    ids=["audit-unavailable", "busy", "half-record", "unknown-kind", "not-found"],
)
def test_a_record_that_cannot_be_opened_shows_nothing_but_a_message(
    qtbot, fake_server, signed_in, canned, message
):
    window = signed_in
    fake_server.answer_json("POST", "/api/v1/searches", ONE_RESULT)
    _search_and_wait(qtbot, window)
    assert window.search.more.text() == "More than 50 matches: add detail to narrow the search."
    fake_server.answer("POST", "/api/v1/children/CP100/views", canned)
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    window.opener.dialog.buttons[0].click()
    window.opener.dialog.ok_button.click()
    qtbot.waitUntil(window.search.summary.isVisible, timeout=10_000)
    assert window.search.summary.messages == [message]
    assert window.record_view.record is None
    assert window.record_view.content is None
    assert window.work.currentWidget() is not window.record_view


def test_an_unexpected_refusal_mid_session_is_shown(qtbot, fake_server, signed_in):
    window = signed_in
    locked = {"error": {"code": "service_locked_down", "message": "ContactPoint is closed to all users."}}
    fake_server.answer("POST", "/api/v1/searches", Canned(403, json.dumps(locked).encode()))
    _search_and_wait(qtbot, window)
    qtbot.waitUntil(lambda: not window.signed_in)
    assert window.login.notice.text() == "ContactPoint is closed to all users."


def test_a_server_that_cannot_be_reached_is_explained_and_can_be_retried(qtbot, real_meta, make_window):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    window = make_window(f"http://127.0.0.1:{port}", wait_ready=False)
    qtbot.waitUntil(window.login.summary.isVisible, timeout=10_000)
    assert window.login.summary.messages[0].startswith("ContactPoint cannot be reached")
    assert window.retry_button.isVisible()
    assert not window.login.sign_in_button.isEnabled()
