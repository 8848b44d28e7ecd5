"""The client's API layer against `cpserver serve` run as its own process, as on a real deployment.

The database is made with the `cpserver seed --training` command, the server is started with
`cpserver serve --training`, and the client walks the practitioner's path over real HTTP: check
the server, sign in, search, open a record with a reason, record and end an involvement, sign out.
"""

from __future__ import annotations

import pytest

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import LoginRefused, ServerMismatch, SessionExpired
from cpclient.api.models import InvolvementDraft, Record, ShieldedRecord, StatedReason
from cpclient.api.transport import Transport
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from cpclient.training.scenarios import training_scenarios

pytestmark = pytest.mark.slow

WORKSTATION = "WS-00000000000000E2"


def _criteria(name: str):
    return next(item for item in training_scenarios() if item.name == name).criteria


def test_the_practitioner_path_over_http(server_url: str) -> None:
    client = ContactPointClient(Transport(server_url))
    meta = client.check_server(training=True)
    assert meta.training and meta.reasons

    session = client.login("demo.practitioner", DEMO_PASSWORD, demo_code(), WORKSTATION)
    assert session.user.display_name and client.signed_in

    found = client.search(_criteria("ordinary"))
    assert len(found.results) == 1
    record = client.open_record(found.results[0].id, StatedReason(meta.reasons[1].code))
    assert isinstance(record, Record)

    shielded = client.search(_criteria("shielded")).results[0]
    assert shielded.shielded and shielded.locality is None
    assert isinstance(client.open_record(shielded.id, StatedReason(meta.reasons[0].code)), ShieldedRecord)

    added = client.add_involvement(found.results[0].id, InvolvementDraft(service_type="speech_language"))
    assert added.mine and added.ended_on is None
    assert client.end_involvement(added.id).ended_on is not None

    client.logout()
    assert not client.signed_in
    with pytest.raises(SessionExpired):
        client.search(_criteria("ordinary"))


def test_a_code_works_once_over_http(server_url: str) -> None:
    code = demo_code()
    first = ContactPointClient(Transport(server_url))
    second = ContactPointClient(Transport(server_url))
    try:
        first.login("demo.socialworker", DEMO_PASSWORD, code, WORKSTATION)
    except LoginRefused:
        pytest.skip("the code was already used in this 30-second step by another test")
    with pytest.raises(LoginRefused) as refused:
        second.login("demo.socialworker", DEMO_PASSWORD, code, WORKSTATION)
    assert refused.value.code == "invalid_credentials"
    first.logout()


def test_a_live_client_refuses_this_training_server(server_url: str) -> None:
    with pytest.raises(ServerMismatch):
        ContactPointClient(Transport(server_url)).check_server(training=False)
