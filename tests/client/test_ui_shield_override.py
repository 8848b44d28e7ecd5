"""Overriding shielding against the real server: only a user who may override is offered it; the warning
must be acknowledged and a reason given (cancelling either opens nothing); the full record then carries
the investigation notice, the server audits the override and raises its alert at once, and the
suspended account's next action returns it to sign-in."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from cpclient.api.models import Record, ShieldedRecord
from cpclient.ui.reason_dialog import ReasonDialog
from cpclient.ui.record_opener import OVERRIDING
from cpclient.ui.shield_override_dialog import NOT_ACKNOWLEDGED, ShieldOverrideDialog
from cpclient.ui.shielded_banner import (
    ACCESS_NOTICE_TITLE,
    OVERRIDE_NOTICE_TITLE,
    ShieldedAccessNotice,
    ShieldOverrideNotice,
)
from tests.client.conftest import (
    all_widget_texts,
    focused,
    open_first_result,
    press,
    search_for,
    sign_in,
)
from tests.client.test_ui_oversight_roles import unnamed_or_unreachable

EMERGENCY = "demo.emergency"


def put_back(server) -> None:
    """Reinstate demo.emergency and remove the alerts its overrides raised (the server is shared)."""
    with server.engine.begin() as db:
        db.execute(
            text("UPDATE users SET suspended = 0, suspended_reason = '' WHERE username = :u"),
            {"u": EMERGENCY},
        )
        db.execute(
            text(
                "DELETE FROM alerts WHERE rule = 'shield_override' AND incident_id IS NULL AND user_id = "
                "(SELECT id FROM users WHERE username = :u)"
            ),
            {"u": EMERGENCY},
        )
    server.allow_new_sign_in()


@pytest.fixture
def emergency(qtbot, server, make_window):
    """demo.emergency, signed in, looking at the shielded scenario record."""
    window = make_window(server.url)
    sign_in(qtbot, window, EMERGENCY)
    assert window.session.user.may_override_shield
    search_for(qtbot, window, "shielded")
    open_first_result(qtbot, window)
    assert isinstance(window.record_view.record, ShieldedRecord)
    yield window
    put_back(server)


def open_warning(qtbot, window) -> ShieldOverrideDialog:
    button = window.record_view.override_button
    assert button is not None and button.isVisible() and button.isEnabled()
    button.click()
    qtbot.waitUntil(lambda: window.opener.warning is not None and window.opener.warning.isVisible())
    return window.opener.warning


def acknowledge(qtbot, window) -> ReasonDialog:
    warning = open_warning(qtbot, window)
    warning.acknowledge.setChecked(True)
    warning.confirm_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    assert window.opener.warning is None
    return window.opener.dialog


def views(server) -> int:
    """Record views disclosed to demo.emergency (refusals are audited too, as views denied)."""
    return int(
        server.scalar(
            "SELECT count(*) FROM audit_events WHERE action = 'view' AND outcome = 'disclosed' "
            "AND username = :u",
            u=EMERGENCY,
        )
    )


def test_cancelling_the_warning_or_the_reason_overrides_nothing(qtbot, server, emergency):
    window = emergency
    before = views(server)
    warning = open_warning(qtbot, window)
    # The warning says plainly what overriding does; Enter cancels, it never overrides.
    said = warning.warning.body.text()
    assert "starts an investigation" in said and "alerted at once" in said and "suspended" in said
    assert warning.cancel_button.isDefault() and not warning.confirm_button.isDefault()
    # Confirming without the acknowledgement is refused, with the message linked to the box.
    warning.confirm_button.click()
    assert warning.isVisible() and warning.summary.messages == [NOT_ACKNOWLEDGED]
    assert warning.summary.problems[0].field is warning.acknowledge
    warning.cancel_button.click()
    qtbot.waitUntil(lambda: window.opener.warning is None)
    assert window.opener.dialog is None

    # Acknowledged, then the reason is cancelled: still nothing.
    reason = acknowledge(qtbot, window)
    assert "override the shielding" in reason.heading.text()
    assert reason.ok_button.text() == "&Override shielding" and not reason.ok_button.isDefault()
    reason.buttons[2].click()
    qtbot.keyClick(reason, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.opener.dialog is None)
    assert not window.opener.busy
    assert views(server) == before
    assert isinstance(window.record_view.record, ShieldedRecord) and not window.record_view.overridden
    assert not server.scalar("SELECT suspended FROM users WHERE username = :u", u=EMERGENCY)


def test_an_acknowledged_override_shows_the_record_under_investigation(qtbot, server, emergency):
    window = emergency
    cp_id = window.record_view.record.id
    reason = acknowledge(qtbot, window)
    reason.buttons[2].click()  # Safeguarding or child protection enquiry
    reason.ok_button.click()
    qtbot.waitUntil(lambda: isinstance(window.record_view.record, Record), timeout=10_000)

    record = window.record_view.record
    assert record.id == cp_id and record.shielded and window.record_view.overridden
    notices = window.record_view.content.findChildren(ShieldOverrideNotice)
    assert len(notices) == 1 and notices[0].title.text() == OVERRIDE_NOTICE_TITLE
    assert window.record_view.content.findChildren(ShieldedAccessNotice) == []
    texts = all_widget_texts(window)
    assert OVERRIDE_NOTICE_TITLE in texts and ACCESS_NOTICE_TITLE not in texts
    assert OVERRIDING not in window.record_view.message.text()
    # The details that were withheld are shown now.
    postcode = server.scalar("SELECT postcode FROM children WHERE cp_id = :id", id=cp_id)
    assert any(postcode in each for each in texts)

    # The server audited the view as an override and alerted the management team at once.
    detail, reason_code = server.rows(
        "SELECT detail, reason_code FROM audit_events WHERE action = 'view' AND username = :u "
        "AND outcome = 'disclosed' ORDER BY id DESC LIMIT 1",
        u=EMERGENCY,
    )[0]
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert detail.get("shield_override") is True and reason_code == "safeguarding"
    alert = server.rows(
        "SELECT a.severity, a.auto_suspended FROM alerts a JOIN users u ON u.id = a.user_id "
        "WHERE a.rule = 'shield_override' AND u.username = :u",
        u=EMERGENCY,
    )
    assert [tuple(row) for row in alert] == [("high", 1)]
    assert server.scalar("SELECT suspended FROM users WHERE username = :u", u=EMERGENCY)

    # The account is suspended, so its next action returns it to sign-in with the server's words.
    window.record_view.back_button.click()
    assert window.record_view.record is None
    window.search.submit()
    qtbot.waitUntil(lambda: not window.signed_in, timeout=10_000)
    assert window.pages.currentWidget() is window.login_scroll
    assert "Sign in again" in window.login.notice.text()
    assert window.record_view.record is None and window.record_view.content is None


def test_the_server_decides_a_refused_override_is_shown_on_the_record(qtbot, server, emergency):
    window = emergency
    before = views(server)
    # The permission is withdrawn after sign-in: the client still offers the override, the server refuses.
    with server.engine.begin() as db:
        db.execute(text("UPDATE users SET may_override_shield = 0 WHERE username = :u"), {"u": EMERGENCY})
    try:
        reason = acknowledge(qtbot, window)
        reason.buttons[2].click()
        reason.ok_button.click()
        qtbot.waitUntil(window.record_view.summary.isVisible, timeout=10_000)
    finally:
        with server.engine.begin() as db:
            db.execute(text("UPDATE users SET may_override_shield = 1 WHERE username = :u"), {"u": EMERGENCY})
    assert window.record_view.summary.messages == ["Your account cannot override shielding."]
    assert isinstance(window.record_view.record, ShieldedRecord) and not window.record_view.overridden
    assert window.record_view.message.text() == ""
    assert window.signed_in and views(server) == before  # a refused attempt is audited, not disclosed
    denied = server.scalar(
        "SELECT outcome FROM audit_events WHERE action = 'view' AND username = :u ORDER BY id DESC LIMIT 1",
        u=EMERGENCY,
    )
    assert denied == "denied:override_not_permitted"


def test_users_who_may_not_override_never_see_the_button(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.practitioner")
    assert not window.session.user.may_override_shield
    search_for(qtbot, window, "shielded")
    open_first_result(qtbot, window)
    assert isinstance(window.record_view.record, ShieldedRecord)
    assert window.record_view.override_button is None
    assert "Override shielding" not in all_widget_texts(window)
    before = server.views_by("demo.practitioner")
    window.record_view.request_override()  # not offered, and asking anyway does nothing
    assert window.opener.warning is None and window.opener.dialog is None
    assert server.views_by("demo.practitioner") == before


def test_the_override_button_is_named_and_reachable_by_keyboard(qtbot, server, emergency):
    button = emergency.record_view.override_button
    assert button.accessibleName() == "Override shielding" and button.accessibleDescription()
    assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: emergency.opener.warning is not None and emergency.opener.warning.isVisible())
    warning = emergency.opener.warning
    assert unnamed_or_unreachable(warning) == []
    qtbot.waitUntil(lambda: QApplication.activeWindow() is warning)
    assert focused() is warning.acknowledge
    press(qtbot, Qt.Key.Key_Space)
    assert warning.acknowledge.isChecked()
    # Even acknowledged, Enter never overrides: Cancel is the default.
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: emergency.opener.warning is None)
    assert emergency.opener.dialog is None and isinstance(emergency.record_view.record, ShieldedRecord)
