"""A reason before every record: every way of opening asks for it; Cancel opens nothing (audit-checked)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from cpclient.ui.reason_dialog import ReasonDialog
from tests.client.conftest import search_for, sign_in


def _double_click(qtbot, window):
    table = window.search.table
    rect = table.visualRect(window.search.model.index(0, 0))
    # A real double-click is a click followed by a double-click event.
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _enter(qtbot, window):
    window.search.table.setFocus()
    qtbot.keyClick(window.search.table, Qt.Key.Key_Return)


def _button(qtbot, window):
    qtbot.mouseClick(window.search.open_button, Qt.MouseButton.LeftButton)


@pytest.mark.parametrize("how", [_double_click, _enter, _button], ids=["double-click", "enter", "button"])
@pytest.mark.parametrize("close", ["cancel", "escape"])
def test_every_way_of_opening_asks_for_a_reason_and_cancel_opens_nothing(
    qtbot, server, make_window, how, close
):
    window = make_window(server.url)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    views_before = server.views_by("demo.practitioner")

    how(qtbot, window)
    qtbot.waitUntil(
        lambda: isinstance(window.opener.dialog, ReasonDialog) and window.opener.dialog.isVisible()
    )
    dialog = window.opener.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    assert dialog.chosen() is None
    assert not any(button.isChecked() for button in dialog.buttons)
    assert not dialog.ok_button.isEnabled()
    # Even pressing Enter with nothing chosen opens nothing.
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.isVisible()

    if close == "cancel":
        dialog.cancel_button.click()
    else:
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.opener.dialog is None)
    # Give any (wrongly) started request time to land, then check the server's audit trail.
    qtbot.wait(300)
    assert window.record_view.record is None
    assert window.work.currentWidget() is not window.record_view
    assert server.views_by("demo.practitioner") == views_before


def test_the_reason_list_comes_from_the_server_and_is_sent_with_the_view(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    dialog = window.opener.dialog
    assert [button.text() for button in dialog.buttons] == [reason.label for reason in window.meta.reasons]
    assert window.mode.training and "TRAINING" in dialog.windowTitle()
    dialog.buttons[2].click()
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: window.record_view.record is not None, timeout=10_000)
    code = server.scalar(
        "SELECT reason_code FROM audit_events WHERE action = 'view' AND username = 'demo.practitioner' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert code == window.meta.reasons[2].code


def test_other_needs_an_explanation_of_the_servers_minimum_length(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    dialog = window.opener.dialog
    other = next(
        button
        for button, reason in zip(dialog.buttons, window.meta.reasons, strict=True)
        if reason.needs_text
    )
    assert not dialog.explanation.isEnabled()
    other.click()
    assert dialog.explanation.isEnabled()
    assert not dialog.ok_button.isEnabled()
    minimum = window.meta.policy.reason_text_min_length
    qtbot.keyClicks(dialog.explanation, "x" * (minimum - 1))
    assert not dialog.ok_button.isEnabled()
    assert "more needed" in dialog.count.text()
    qtbot.keyClicks(dialog.explanation, "y")
    assert dialog.ok_button.isEnabled()
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: window.record_view.record is not None, timeout=10_000)
    text = server.scalar(
        "SELECT reason_text FROM audit_events WHERE action = 'view' AND username = 'demo.practitioner' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert text == "x" * (minimum - 1) + "y"


def test_views_are_called_from_exactly_one_place():
    """Source check: the only caller of `open_record` is `RecordOpener._open`, fed by the dialog."""
    import inspect
    import pathlib

    import cpclient.ui

    root = pathlib.Path(inspect.getfile(cpclient.ui)).parent
    callers = [
        path.name
        for path in root.rglob("*.py")
        if "open_record" in path.read_text(encoding="utf-8") and path.name != "record_opener.py"
    ]
    assert callers == []
    source = (root / "record_opener.py").read_text(encoding="utf-8")
    assert source.count("self._api.open_record") == 1


def test_no_dialog_is_left_behind_by_a_second_request(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None)
    first = window.opener.dialog
    window.opener.request_open(window.search.model.row_at(0))
    assert window.opener.dialog is first
    first.reject()
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None)
