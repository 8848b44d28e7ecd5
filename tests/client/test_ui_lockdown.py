"""Nothing leaves the record view and results: Ctrl+P, copy, drag and context menus do nothing."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLabel

from cpclient.security.lockdown import COPYING_BLOCKED, PRINTING_BLOCKED, SAVING_BLOCKED, is_record_data
from tests.client.conftest import open_first_result, search_for, sign_in

CTRL = Qt.KeyboardModifier.ControlModifier


def _record_labels(window):
    return [label for label in window.record_view.content.findChildren(QLabel) if label.text()]


def test_print_copy_save_and_context_menu_do_nothing_on_a_record(qtbot, server, make_window, lockdown):
    window = make_window(server.url, lockdown=lockdown)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    open_first_result(qtbot, window)
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    label = next(label for label in _record_labels(window) if "Thistlewood" in label.text())
    assert is_record_data(label)

    for target in (window.record_view.details, label):
        with qtbot.waitSignal(lockdown.blocked) as printing:
            qtbot.keyClick(target, Qt.Key.Key_P, CTRL)
        assert printing.args == [PRINTING_BLOCKED]
        with qtbot.waitSignal(lockdown.blocked) as copying:
            qtbot.keyClick(target, Qt.Key.Key_C, CTRL)
        assert copying.args == [COPYING_BLOCKED]
        with qtbot.waitSignal(lockdown.blocked) as saving:
            qtbot.keyClick(target, Qt.Key.Key_S, CTRL)
        assert saving.args == [SAVING_BLOCKED]
    assert clipboard.text() == ""
    assert window.statusBar().currentMessage() == SAVING_BLOCKED

    # No text can be selected (selection feeds the clipboard, the primary selection and drags).
    selectable = (
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    assert all(not (each.textInteractionFlags() & selectable) for each in _record_labels(window))

    # A context menu request on record data opens nothing.
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(2, 2), label.mapToGlobal(QPoint(2, 2)))
    QApplication.sendEvent(label, event)
    assert QApplication.activePopupWidget() is None
    assert label.contextMenuPolicy() == Qt.ContextMenuPolicy.PreventContextMenu


def test_results_cannot_be_dragged_or_copied(qtbot, server, make_window, lockdown):
    window = make_window(server.url, lockdown=lockdown)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    table = window.search.table
    assert is_record_data(table)
    assert not table.dragEnabled()
    assert table.dragDropMode() == QAbstractItemView.DragDropMode.NoDragDrop
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(lockdown.blocked) as copying:
        qtbot.keyClick(table, Qt.Key.Key_C, CTRL)
    assert copying.args == [COPYING_BLOCKED]
    assert QGuiApplication.clipboard().text() == ""
    # A drag gesture over the table starts nothing: the selection does not leave the view.
    rect = table.visualRect(window.search.model.index(0, 0))
    qtbot.mousePress(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseMove(table.viewport(), rect.center() + QPoint(200, 80))
    qtbot.mouseRelease(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center() + QPoint(200, 80))
    assert QGuiApplication.clipboard().text() == ""


def test_app_clipboard_content_is_cleared_on_sign_out(qtbot, server, make_window, lockdown):
    window = make_window(server.url, lockdown=lockdown)
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    # Even if something of ours reached the clipboard, signing out empties it.
    QGuiApplication.clipboard().setText("Oliver Thistlewood")
    window.sign_out()
    assert QGuiApplication.clipboard().text() == ""
