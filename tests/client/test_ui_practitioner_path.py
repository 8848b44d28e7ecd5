"""The practitioner path by keyboard alone, on a real server: sign in, search, reason, record, sign out."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from cpclient.ui.reason_dialog import ReasonDialog
from tests.client.conftest import focused, press, type_text

ALT = Qt.KeyboardModifier.AltModifier


def test_keyboard_only_path(qtbot, server, make_window):
    window = make_window(server.url)
    views_before = server.views_by("demo.practitioner")

    # Sign in: the cursor starts in the username; Tab moves through the form; Enter signs in.
    assert focused() is window.login.username
    type_text(qtbot, "demo.practitioner")
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is window.login.password
    type_text(qtbot, DEMO_PASSWORD)
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is window.login.otp
    type_text(qtbot, demo_code())
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.signed_in, timeout=10_000)
    assert "Sam Okafor" in window.session_bar.who.text()

    # Search: the cursor is in the family name; Tab to the date of birth; Enter searches.
    assert focused() is window.search.family
    type_text(qtbot, "Thistlewood")
    press(qtbot, Qt.Key.Key_Tab)
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is window.search.date_of_birth
    type_text(qtbot, "02/09/2015")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.search.model.rowCount() == 1, timeout=10_000)
    assert window.search.status.text() == "1 child found."

    # The results table has focus with the first row selected; Enter asks for a reason.
    assert focused() is window.search.table
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), ReasonDialog))
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, ReasonDialog)
    assert not dialog.ok_button.isEnabled()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    assert focused() is dialog.buttons[0]
    press(qtbot, Qt.Key.Key_Down)  # arrow keys move through the reasons and choose
    press(qtbot, Qt.Key.Key_Space)
    assert dialog.chosen() is not None
    assert dialog.ok_button.isEnabled()
    press(qtbot, Qt.Key.Key_Return)  # the default button: Open record
    qtbot.waitUntil(lambda: window.record_view.record is not None, timeout=10_000)
    assert window.work.currentWidget() is window.record_view
    assert server.views_by("demo.practitioner") == views_before + 1
    texts = window.record_view.texts()
    assert "Oliver James Thistlewood" in texts
    assert any("Lead professional" in text for text in texts)

    # Back to the results with Alt+B, then sign out with Alt+U.
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    assert focused() is window.record_view.details
    press(qtbot, Qt.Key.Key_B, ALT)
    qtbot.waitUntil(lambda: window.work.currentWidget() is not window.record_view)
    assert window.record_view.record is None
    press(qtbot, Qt.Key.Key_U, ALT)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login_scroll)
    assert not window.signed_in
    assert window.login.notice.text() == "You have signed out."
    assert window.search.model.rowCount() == 0
    assert window.search.family.text() == ""
    qtbot.waitUntil(
        lambda: (
            server.scalar(
                "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE u.username = 'demo.practitioner' AND s.ended_at IS NULL"
            )
            == 0
        ),
        timeout=10_000,
    )


def unnamed_controls(root):
    """Controls a person can reach that have no accessible name (scroll bars and viewports excluded)."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QLineEdit,
        QPlainTextEdit,
        QWidget,
    )

    controls = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QPlainTextEdit)
    return [
        f"{type(widget).__name__}:{getattr(widget, 'text', lambda: '')()}"
        for widget in root.findChildren(QWidget)
        if isinstance(widget, controls)
        and widget.isVisibleTo(root)
        and not widget.accessibleName()
        and type(widget.parent()).__name__ not in ("QComboBox", "QScrollBar")
        and widget.focusPolicy() != Qt.FocusPolicy.NoFocus
    ]


def test_every_control_has_an_accessible_name(qtbot, server, make_window):
    from tests.client.conftest import open_first_result, search_for, sign_in

    window = make_window(server.url)
    assert unnamed_controls(window) == []
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    assert unnamed_controls(window) == []
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None)
    assert unnamed_controls(window.opener.dialog) == []
    window.opener.dialog.reject()
    open_first_result(qtbot, window)
    assert unnamed_controls(window) == []
    window.record_view.add_button.click()
    qtbot.waitUntil(lambda: window.involvements.dialog is not None and window.involvements.dialog.isVisible())
    assert unnamed_controls(window.involvements.dialog) == []
    window.involvements.dialog.reject()
