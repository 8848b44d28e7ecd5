"""Sign-in: each refusal in plain English with whom to contact, throttling with the wait, error summary."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from cpclient.ui.error_summary import TITLE
from cpclient.ui.login_guidance import GUIDANCE
from cpclient.ui.training_banner import TrainingBanner

REFUSED = {
    "demo.suspended": ("account_suspended", "suspended"),
    "demo.crbexpired": ("crb_check_expired", "criminal records check"),
    "demo.untrained": ("training_incomplete", "training"),
    "demo.noagreement": ("agreement_unsigned", "agreement"),
    "demo.noprocedures": ("procedures_not_received", "procedures"),
    "demo.unaccredited": ("organisation_not_accredited", "accredited"),
}


def _submit(qtbot, window, username, password=DEMO_PASSWORD, code=None):
    window.login.username.setText(username)
    window.login.password.setText(password)
    window.login.otp.setText(code if code is not None else demo_code())
    window.login.summary.clear()
    window.login.sign_in_button.click()
    qtbot.waitUntil(lambda: window.login.summary.isVisible() or window.signed_in, timeout=10_000)


@pytest.mark.parametrize("username", sorted(REFUSED))
def test_each_refusal_is_explained_with_whom_to_contact(qtbot, server, make_window, username):
    code, words = REFUSED[username]
    window = make_window(server.url)
    _submit(qtbot, window, username)
    assert not window.signed_in
    summary = window.login.summary
    assert summary.title.text() == TITLE
    messages = summary.messages
    # The server's message names what is missing and whom to contact ...
    assert words in messages[0].lower()
    assert "Northmere ContactPoint Management Team" in messages[0]
    # ... and the client adds what to do about it.
    assert messages[1] == GUIDANCE[code]
    # Focus moves to the summary, so a screen reader announces it.
    qtbot.waitUntil(lambda: QApplication.focusWidget() is summary)
    assert window.login.password.text() == "" and window.login.otp.text() == ""


def test_wrong_details_link_to_the_field_and_focus_moves_there(qtbot, server, make_window):
    window = make_window(server.url)
    _submit(qtbot, window, "demo.practitioner", password="wrong-password")
    summary = window.login.summary
    assert summary.messages[0].startswith("The username, password or one-time code is not right")
    assert summary.messages[1] == GUIDANCE["invalid_credentials"]
    (link,) = summary.links
    link.click()
    assert QApplication.focusWidget() is window.login.username


def test_empty_fields_are_named_and_linked(qtbot, server, make_window):
    window = make_window(server.url)
    window.login.sign_in_button.click()
    summary = window.login.summary
    assert summary.messages == [
        "Enter your username",
        "Enter your password",
        "Enter the one-time code from your authenticator",
    ]
    assert QApplication.focusWidget() is summary
    # Keyboard: Tab reaches the first link, Space follows it to the field.
    qtbot.keyClick(summary, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is summary.links[0]
    qtbot.keyClick(summary.links[0], Qt.Key.Key_Space)
    assert QApplication.focusWidget() is window.login.username
    summary.links[2].click()
    assert QApplication.focusWidget() is window.login.otp


def test_throttling_shows_the_wait_and_holds_the_button(qtbot, server, make_window):
    window = make_window(server.url)
    for _ in range(5):
        _submit(qtbot, window, "demo.socialworker", password="not-the-password")
        assert window.login.summary.messages[0].startswith("The username")
    _submit(qtbot, window, "demo.socialworker")
    messages = window.login.summary.messages
    assert messages[0].startswith("Too many attempts to sign in. Wait ")
    assert "seconds" in messages[0]
    assert window.login.throttled
    assert not window.login.sign_in_button.isEnabled()
    assert window.login.status.text().startswith("You can try again in ")


def test_training_mode_shows_the_banner_title_and_demo_accounts(qtbot, server, make_window):
    window = make_window(server.url)
    assert window.windowTitle() == "cpclient — TRAINING"
    assert window.findChildren(TrainingBanner)[0].label.text() == "TRAINING — fictitious data"
    assert window.demo_accounts is not None
    button = next(b for b in window.demo_accounts.buttons if b.text() == "demo.practitioner")
    button.click()
    assert window.login.username.text() == "demo.practitioner"
    assert window.login.password.text() == DEMO_PASSWORD
    assert window.login.otp.text().isdigit()
    window.login.sign_in_button.click()
    qtbot.waitUntil(lambda: window.signed_in, timeout=10_000)


def test_a_live_client_refuses_a_training_server(qtbot, server, make_window):
    window = make_window(server.url, training=False, wait_ready=False)
    qtbot.waitUntil(window.login.summary.isVisible, timeout=10_000)
    assert "training server" in window.login.summary.messages[0]
    assert not window.login.sign_in_button.isEnabled()
    assert window.windowTitle() == "cpclient"
    assert window.retry_button.isVisible()


def test_a_training_client_refuses_a_live_server(qtbot, fake_server, real_meta, make_window):
    fake_server.answer_json("GET", "/api/v1/meta", dict(real_meta, training=False))
    window = make_window(fake_server.url, wait_ready=False)
    qtbot.waitUntil(window.login.summary.isVisible, timeout=10_000)
    assert "holds live records" in window.login.summary.messages[0]
    assert not window.login.sign_in_button.isEnabled()
    assert [request for request in fake_server.requests if request[1] != "/api/v1/meta"] == []
