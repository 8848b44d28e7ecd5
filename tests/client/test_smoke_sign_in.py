"""`cpclient --smoke-test` against a real training server: a second check within the same 30 seconds
(two installations checked one after the other) signs in with the next one-time code."""

from __future__ import annotations

import io
import time

from cpclient.smoke import SmokeTest
from tests.client.conftest import ServerHandle

STEP = 30


def test_a_used_one_time_code_is_followed_by_the_next_one(qtbot, server: ServerHandle, make_window):
    # The current code has just been used (as by the check of the installation before this one).
    with server.engine.begin() as db:
        db.exec_driver_sql(
            "UPDATE users SET totp_last_step = ? WHERE username = 'demo.practitioner'",
            (int(time.time() // STEP),),
        )
    window = make_window(server.url)
    out = io.StringIO()
    smoke = SmokeTest(window, out=out, timeout_seconds=70)
    smoke.sign_in()
    qtbot.waitUntil(lambda: smoke.passed or "FAILED" in out.getvalue(), timeout=75_000)
    report = out.getvalue()
    assert smoke.passed, report
    assert report.endswith("signed in as demo.practitioner\n")
