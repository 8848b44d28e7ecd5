"""The session: idle lock forgets record data and ends the server session; expiry returns to sign-in."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from tests.client.conftest import all_widget_texts, open_first_result, search_for, sign_in

OPEN_SESSIONS = (
    "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE u.username = :u AND s.ended_at IS NULL"
)


def _record_is_gone(window) -> None:
    assert window.record_view.record is None
    assert window.record_view.content is None
    assert window.search.model.rowCount() == 0
    assert window.search.family.text() == "" and window.search.date_of_birth.text() == ""
    # (The training scenarios panel names the scenario children on purpose; it holds no record data.)
    texts = "\n".join(all_widget_texts(window.search) + all_widget_texts(window.record_view))
    assert "Thistlewood" not in texts
    assert "02/09/2015" not in texts


def test_idle_lock_hides_record_data_and_ends_the_session(qtbot, server, make_window, lockdown):
    window = make_window(server.url, lockdown=lockdown, policy_idle_seconds=45)
    sign_in(qtbot, window)
    # The shortest of the managed policy's timeout and the server's.
    assert window.idle.timeout_seconds == 45
    assert window.idle.is_running()
    search_for(qtbot, window, "ordinary")
    open_first_result(qtbot, window)
    QGuiApplication.clipboard().setText("Oliver Thistlewood")
    window.idle.set_timeout(0.3)  # rather than wait 45 seconds

    qtbot.waitUntil(lambda: window.locked, timeout=5_000)
    assert window.pages.currentWidget() is window.login_scroll
    assert window.login.heading.text() == "This workstation is locked"
    assert window.login.username.text() == "demo.practitioner" and window.login.username.isReadOnly()
    _record_is_gone(window)
    assert QGuiApplication.clipboard().text() == ""
    assert not window.api.signed_in
    qtbot.waitUntil(lambda: server.scalar(OPEN_SESSIONS, u="demo.practitioner") == 0, timeout=5_000)

    # Unlock: the password and a new one-time code, as a new sign-in by the same person.
    server.allow_new_sign_in()
    window.idle.stop()
    window.login.password.setText(DEMO_PASSWORD)
    window.login.otp.setText(demo_code())
    window.login.sign_in_button.click()
    qtbot.waitUntil(lambda: window.signed_in, timeout=10_000)
    window.idle.stop()
    assert not window.locked
    assert window.work.currentWidget() is not window.record_view


def test_the_lock_button_locks_at_once(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    window.session_bar.lock_button.click()
    assert window.locked
    _record_is_gone(window)
    # Signing out from the lock screen gives the ordinary sign-in form.
    window.login.sign_out_button.click()
    assert not window.locked
    assert window.login.username.text() == "" and not window.login.username.isReadOnly()
    assert window.login.notice.text() == "You have signed out."


def test_a_session_ended_by_the_server_returns_to_sign_in_with_a_message(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    with server.engine.begin() as db:
        from sqlalchemy import text

        db.execute(
            text(
                "UPDATE sessions SET ended_at = CURRENT_TIMESTAMP, end_reason = 'suspended' "
                "WHERE ended_at IS NULL "
                "AND user_id = (SELECT id FROM users WHERE username = 'demo.practitioner')"
            )
        )
    window.search.submit()
    qtbot.waitUntil(lambda: not window.signed_in, timeout=10_000)
    assert window.pages.currentWidget() is window.login_scroll
    assert window.login.notice.isVisible() or window.login.notice.text()
    assert "Sign in again" in window.login.notice.text() or "session" in window.login.notice.text().lower()
    _record_is_gone(window)
    assert not window.api.signed_in


def test_sign_out_clears_every_model(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    open_first_result(qtbot, window)
    window.session_bar.sign_out_button.click()
    _record_is_gone(window)
    assert window.session_bar.isHidden()
    qtbot.waitUntil(lambda: server.scalar(OPEN_SESSIONS, u="demo.practitioner") == 0, timeout=5_000)
