"""The API client over real HTTP: timeouts, size caps, truncation, garbage, redirects, unsafe addresses."""

from __future__ import annotations

import json
import re
import socket

import pytest

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import (
    BadResponse,
    ConnectionFailed,
    ServerMismatch,
    ServiceUnavailable,
    SessionExpired,
    TimedOut,
)
from cpclient.api.models import SearchCriteria
from cpclient.api.server_url import UnsafeServerUrl, server_url_problem
from cpclient.api.transport import MAX_BODY_BYTES, Transport, api_base
from tests.client.conftest import Canned

SESSION = {
    "token": "secret-token-value",
    "expires_at": "2030-01-01T00:00:00Z",
    "idle_timeout_seconds": 900,
    "user": {
        "username": "demo.practitioner",
        "display_name": "Sam Okafor",
        "role": "practitioner",
        "job_title": "Worker",
        "organisation": "Org",
        "local_authority": "LA",
        "management_contact": None,
    },
}


def signed_in_client(fake_server, **transport_options) -> ContactPointClient:
    fake_server.answer_json("POST", "/api/v1/sessions", SESSION, status=201)
    client = ContactPointClient(Transport(fake_server.url, **transport_options))
    client.login("demo.practitioner", "pw", "123456", "WS-1")
    return client


def test_the_token_is_kept_inside_and_sent_as_bearer(fake_server):
    client = signed_in_client(fake_server)
    assert client.signed_in
    fake_server.answer_json("POST", "/api/v1/searches", {"results": [], "more": False, "max_results": 50})
    assert client.search(SearchCriteria(family="X")).results == []


def test_a_huge_answer_is_refused(fake_server):
    client = signed_in_client(fake_server)
    fake_server.answer("POST", "/api/v1/searches", Canned(200, b"[" * (MAX_BODY_BYTES + 10)))
    with pytest.raises(BadResponse):
        client.search(SearchCriteria(family="X"))


def test_an_endless_chunked_answer_is_cut_off(fake_server):
    client = signed_in_client(fake_server)
    fake_server.answer("POST", "/api/v1/searches", Canned(200, chunked_forever=True))
    with pytest.raises(BadResponse):
        client.search(SearchCriteria(family="X"))


def test_a_truncated_answer_is_a_bad_response(fake_server):
    client = signed_in_client(fake_server)
    body = json.dumps({"results": [], "more": False, "max_results": 50}).encode()
    fake_server.answer("POST", "/api/v1/searches", Canned(200, body, truncate=True))
    with pytest.raises(BadResponse):
        client.search(SearchCriteria(family="X"))


@pytest.mark.parametrize(
    "canned",
    [
        Canned(200, b"not json at all"),
        Canned(200, b'{"results": "nope"}'),
        Canned(200, b'{"results": [], "more": false, "max_results": 50}', {"Content-Type": "text/html"}),
        Canned(302, b"", {"Location": "http://elsewhere.example/"}),
        Canned(418, b"teapot"),
    ],
)
def test_garbage_and_surprises_are_bad_responses(fake_server, canned):
    client = signed_in_client(fake_server)
    fake_server.answer("POST", "/api/v1/searches", canned)
    with pytest.raises(BadResponse):
        client.search(SearchCriteria(family="X"))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_failures_are_service_unavailable(fake_server, status):
    client = signed_in_client(fake_server)
    fake_server.answer(
        "POST", "/api/v1/searches", Canned(status, b"<html>down</html>", {"Content-Type": "text/html"})
    )
    with pytest.raises(ServiceUnavailable):
        client.search(SearchCriteria(family="X"))


def test_a_slow_server_times_out(fake_server):
    client = signed_in_client(fake_server, read_timeout=0.3)
    fake_server.answer("POST", "/api/v1/searches", Canned(200, b"{}", delay=1.0))
    with pytest.raises(TimedOut):
        client.search(SearchCriteria(family="X"))


def test_nobody_listening_is_connection_failed():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ContactPointClient(Transport(f"http://127.0.0.1:{port}", connect_timeout=1))
    with pytest.raises(ConnectionFailed) as caught:
        client.meta()
    assert caught.value.__context__ is None


def test_session_expiry_forgets_the_token(fake_server):
    client = signed_in_client(fake_server)
    fake_server.answer_json(
        "POST", "/api/v1/searches", {"error": {"code": "session_expired", "message": "Ended."}}, status=401
    )
    with pytest.raises(SessionExpired):
        client.search(SearchCriteria(family="X"))
    assert not client.signed_in
    with pytest.raises(SessionExpired):
        client.search(SearchCriteria(family="X"))


def test_no_call_without_a_session(fake_server):
    client = ContactPointClient(Transport(fake_server.url))
    with pytest.raises(SessionExpired):
        client.search(SearchCriteria(family="X"))
    assert fake_server.requests == []


def test_training_and_live_servers_are_never_confused(fake_server, real_meta):
    live = dict(real_meta, training=False)
    fake_server.answer_json("GET", "/api/v1/meta", live)
    client = ContactPointClient(Transport(fake_server.url))
    with pytest.raises(ServerMismatch):
        client.check_server(training=True)
    assert client.check_server(training=False).training is False
    fake_server.answer_json("GET", "/api/v1/meta", dict(real_meta, training=True))
    with pytest.raises(ServerMismatch):
        client.check_server(training=False)


def test_child_ids_cannot_change_the_path(fake_server):
    from cpclient.api.errors import NotFound
    from cpclient.api.models import StatedReason

    client = signed_in_client(fake_server)
    with pytest.raises(NotFound):
        client.open_record("../../sessions/current", StatedReason("safeguarding"))
    assert fake_server.requests[-1] == ("POST", "/api/v1/children/..%2F..%2Fsessions%2Fcurrent/views")


@pytest.mark.parametrize(
    "url",
    [
        "http://contactpoint.example",
        "ftp://x",
        "https://user:pw@host.example",
        "https://host.example/?q=1",
        "nothing",
    ],
)
def test_unsafe_server_addresses_are_refused(url):
    with pytest.raises(UnsafeServerUrl):
        api_base(url)


@pytest.mark.parametrize(
    "url", ["https://cp.example:99999", "https://cp.example:0", "https://@cp.example", "http://[::1"]
)
def test_the_transport_refuses_every_address_the_policy_refuses(url):
    # One check serves both: a port out of range or an empty user name was once let through here.
    problem = server_url_problem(url)
    assert problem
    with pytest.raises(UnsafeServerUrl, match=re.escape(problem)):
        api_base(url)
    with pytest.raises(UnsafeServerUrl):
        Transport(url)


def test_safe_addresses():
    assert api_base("https://cp.example") == "https://cp.example/api/v1"
    assert api_base("http://127.0.0.1:8700/") == "http://127.0.0.1:8700/api/v1"
    assert api_base("https://cp.example/api/v1") == "https://cp.example/api/v1"
