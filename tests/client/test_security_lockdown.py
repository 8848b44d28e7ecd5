"""Nothing leaves the screen: print, copy, save, context menus, drag and the clipboard."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QPoint, QStringListModel, Qt, QTimer
from PySide6.QtGui import QAction, QContextMenuEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QTableView,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from cpclient.security.lockdown import (
    CLIPBOARD_CLEARED,
    COPYING_BLOCKED,
    PRINTING_BLOCKED,
    SAVING_BLOCKED,
    install_application_lockdown,
    is_record_data,
    mark_record_data,
)

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def lockdown(qapp):
    QGuiApplication.clipboard().clear()
    installed = install_application_lockdown(qapp)
    yield installed
    installed.uninstall()
    installed.deleteLater()
    QGuiApplication.clipboard().clear()


@pytest.fixture
def record_view(qtbot):
    """A fictitious record screen: a selectable label, a table and a line edit, marked as record data."""
    view = QWidget()
    layout = QVBoxLayout(view)
    label = QLabel("Fictitious Child, ZZ99 3VZ")
    label.setObjectName("name")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    table = QTableView()
    table.setModel(QStringListModel(["01632 960123", "Example Primary School"], view))
    table.setDragEnabled(True)
    line = QLineEdit("Fictitious Carer")
    line.setDragEnabled(True)
    for widget in (label, table, line):
        layout.addWidget(widget)
    qtbot.addWidget(view)
    mark_record_data(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_ctrl_p_anywhere_is_swallowed_and_announced(qtbot, lockdown):
    window = QWidget()
    button = QPushButton("Search", window)
    printed = []
    action = QAction("Print", window)
    action.setShortcut(QKeySequence(QKeySequence.StandardKey.Print))
    action.triggered.connect(lambda: printed.append(True))
    window.addAction(action)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    button.setFocus()

    with qtbot.waitSignal(lockdown.blocked) as blocker:
        qtbot.keyClick(button, Qt.Key.Key_P, CTRL)

    assert blocker.args == [PRINTING_BLOCKED]
    assert printed == []


def test_ctrl_p_is_refused_outside_record_data_while_other_keys_pass(qtbot, lockdown):
    field = QLineEdit("search text")
    qtbot.addWidget(field)

    with qtbot.assertNotEmitted(lockdown.blocked, wait=0):
        qtbot.keyClick(field, Qt.Key.Key_A, CTRL)
    with qtbot.waitSignal(lockdown.blocked) as blocker:
        qtbot.keyClick(field, Qt.Key.Key_P, CTRL)
    assert blocker.args == [PRINTING_BLOCKED]


def test_copy_in_a_marked_label_does_nothing(qtbot, lockdown, record_view):
    label = record_view.findChild(QLabel, "name")
    label.setFocus()

    with qtbot.waitSignal(lockdown.blocked) as blocker:
        qtbot.keyClick(label, Qt.Key.Key_C, CTRL)

    assert blocker.args == [COPYING_BLOCKED]
    assert QGuiApplication.clipboard().text() == ""


@pytest.mark.parametrize(
    ("key", "modifiers"),
    [(Qt.Key.Key_C, CTRL), (Qt.Key.Key_Insert, CTRL), (Qt.Key.Key_X, CTRL), (Qt.Key.Key_Delete, SHIFT)],
)
def test_copy_and_cut_shortcuts_in_a_marked_table_do_nothing(qtbot, lockdown, record_view, key, modifiers):
    table = record_view.findChild(QTableView)
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))

    with qtbot.waitSignal(lockdown.blocked) as blocker:
        qtbot.keyClick(table, key, modifiers)

    assert blocker.args == [COPYING_BLOCKED]
    assert QGuiApplication.clipboard().text() == ""


def test_copy_in_a_marked_line_edit_does_nothing(qtbot, lockdown, record_view):
    line = record_view.findChild(QLineEdit)
    line.setFocus()
    line.selectAll()

    with qtbot.waitSignal(lockdown.blocked) as blocker:
        qtbot.keyClick(line, Qt.Key.Key_C, CTRL)

    assert blocker.args == [COPYING_BLOCKED]
    assert QGuiApplication.clipboard().text() == ""


@pytest.mark.parametrize("modifiers", [CTRL, CTRL | SHIFT])
def test_save_shortcuts_in_record_data_are_refused(qtbot, lockdown, record_view, modifiers):
    saved = []
    action = QAction("Save", record_view)
    action.setShortcut(QKeySequence(Qt.Key.Key_S | modifiers))
    action.triggered.connect(lambda: saved.append(True))
    record_view.addAction(action)
    table = record_view.findChild(QTableView)
    table.setFocus()

    with qtbot.waitSignal(lockdown.blocked) as blocker:
        qtbot.keyClick(table, Qt.Key.Key_S, modifiers)

    assert blocker.args == [SAVING_BLOCKED]
    assert saved == []


def test_clipboard_text_set_by_the_app_is_cleared(qtbot, lockdown):
    with qtbot.waitSignal(lockdown.blocked) as blocker:
        QGuiApplication.clipboard().setText("Fictitious Child, 01632 960123")

    assert blocker.args == [CLIPBOARD_CLEARED]
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "")


def test_copy_from_an_unmarked_field_does_not_reach_the_clipboard(qtbot, lockdown):
    field = QLineEdit("Fictitious")
    qtbot.addWidget(field)
    field.selectAll()

    with qtbot.waitSignal(lockdown.blocked) as blocker:
        field.copy()

    assert blocker.args == [CLIPBOARD_CLEARED]
    assert QGuiApplication.clipboard().text() == ""


def test_clear_clipboard_empties_it_quietly(qtbot, lockdown):
    lockdown.uninstall()
    QGuiApplication.clipboard().setText("left over")
    lockdown = install_application_lockdown(QApplication.instance())  # clears what it finds
    try:
        assert QGuiApplication.clipboard().text() == ""
        with qtbot.assertNotEmitted(lockdown.blocked, wait=0):
            lockdown.clear_clipboard()
    finally:
        lockdown.uninstall()


@pytest.mark.parametrize("policy", list(Qt.ContextMenuPolicy))
def test_context_menu_on_marked_widget_shows_no_menu(qtbot, lockdown, record_view, policy):
    line = record_view.findChild(QLineEdit)
    line.setContextMenuPolicy(policy)  # even if the UI later asks for a menu
    line.addAction(QAction("Copy", line))
    requested = []
    line.customContextMenuRequested.connect(requested.append)
    record_view.customContextMenuRequested.connect(requested.append)
    menus_seen = []

    def close_any_menu():
        # A menu shown with exec() runs its own event loop: close it so a failing test ends.
        popup = QApplication.activePopupWidget()
        if popup is not None:
            menus_seen.append(type(popup).__name__)
            popup.close()

    watcher = QTimer()
    watcher.timeout.connect(close_any_menu)
    watcher.start(20)
    try:
        for target in (line, record_view.findChild(QTableView).viewport(), record_view):
            position = QPoint(5, 5)
            event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, position, target.mapToGlobal(position))
            QApplication.sendEvent(target, event)
            close_any_menu()
    finally:
        watcher.stop()

    assert requested == []
    assert menus_seen == []
    assert not [
        menu for menu in QApplication.topLevelWidgets() if isinstance(menu, QMenu) and menu.isVisible()
    ]


def test_marking_applies_prevent_context_menu_and_no_selection(record_view):
    label = record_view.findChild(QLabel, "name")
    line = record_view.findChild(QLineEdit)

    for widget in (record_view, label, line):
        assert widget.contextMenuPolicy() == Qt.ContextMenuPolicy.PreventContextMenu
        assert is_record_data(widget)
    assert not label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert label.focusPolicy() == Qt.FocusPolicy.TabFocus  # still reachable for screen readers
    assert not line.dragEnabled()


def test_drag_is_disabled_on_marked_views(qtbot, record_view):
    table = record_view.findChild(QTableView)

    assert not table.dragEnabled()
    assert table.dragDropMode() == QTableView.DragDropMode.NoDragDrop


def test_drag_re_enabled_after_marking_is_undone_on_press(qtbot, lockdown, record_view):
    table = record_view.findChild(QTableView)
    table.setDragEnabled(True)
    table.setDragDropMode(QTableView.DragDropMode.DragOnly)

    qtbot.mousePress(table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))

    assert not table.dragEnabled()
    assert table.dragDropMode() == QTableView.DragDropMode.NoDragDrop
    qtbot.mouseRelease(table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))


def test_children_added_later_are_marked_when_shown(qtbot, record_view):
    later = QListView(record_view)
    later.setDragEnabled(True)
    editor = QTextEdit("Fictitious note", record_view)
    record_view.layout().addWidget(later)
    record_view.layout().addWidget(editor)
    later.show()
    editor.show()

    qtbot.waitUntil(lambda: is_record_data(later) and later.property("cp_record_data"))
    assert not later.dragEnabled()
    assert later.contextMenuPolicy() == Qt.ContextMenuPolicy.PreventContextMenu
    assert not editor.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def test_unmarked_widgets_are_left_alone(qtbot, lockdown):
    field = QLineEdit()
    qtbot.addWidget(field)

    assert not is_record_data(field)
    assert field.contextMenuPolicy() == Qt.ContextMenuPolicy.DefaultContextMenu


def test_lockdown_refuses_to_import_print_support(lockdown):
    with pytest.raises(ImportError, match="Printing is not allowed"):
        __import__("PySide6.QtPrintSupport")


def test_print_support_is_never_imported_by_the_client():
    """Import every cpclient module, start the lockdown, and check QtPrintSupport stayed out."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        from PySide6.QtWidgets import QApplication
        import cpclient
        app = QApplication([])
        for module in pkgutil.walk_packages(cpclient.__path__, "cpclient."):
            if not module.name.endswith(".__main__"):  # that one starts the application
                importlib.import_module(module.name)
        from cpclient.security.lockdown import install_application_lockdown, install_capture_exclusion
        install_application_lockdown(app)
        install_capture_exclusion(app)
        sys.exit(1 if "PySide6.QtPrintSupport" in sys.modules else 0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
