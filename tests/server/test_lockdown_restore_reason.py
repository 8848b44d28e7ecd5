"""Rule 8, two-person restore: the second member of the national team reads why the first asked."""

from __future__ import annotations

from tests.server import world
from tests.server.conftest import log_in

API = "/api/v1"


def test_the_waiting_restore_request_carries_its_reason(client, db, as_role):
    first = as_role("national")
    second = log_in(client, db, world.NATIONAL_2)
    client.post(f"{API}/lockdown", headers=first, json={"reason": "Suspected credential theft."})
    before = client.get(f"{API}/lockdown", headers=second).json()
    assert before["restore_request_id"] is None and before["restore_request_reason"] is None

    reason = "Every key rotated; the logs show no further use."
    client.post(f"{API}/lockdown/restore-requests", headers=first, json={"reason": reason})

    seen = client.get(f"{API}/lockdown", headers=second).json()
    assert seen["restore_requested_by_username"] == world.NATIONAL
    assert seen["restore_request_reason"] == reason
