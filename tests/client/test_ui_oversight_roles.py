"""Only management and national team members see the management screens, each only what their role
holds; the national team's lists are read only; signing out or locking destroys the screens."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QWidget,
)

from cpclient.ui.oversight.alerts_page import AlertsPage
from cpclient.ui.oversight.incidents_page import IncidentsPage
from cpclient.ui.oversight.oversight_tabs import CMT_PAGES, NATIONAL_PAGES
from cpclient.ui.oversight.page import OversightPage
from cpclient.ui.oversight.shielding_page import ShieldingPage
from cpclient.ui.oversight.text_prompt import TextPromptDialog
from cpclient.ui.oversight.user_dialogs import AccreditationDialog, AddUserDialog
from cpclient.ui.oversight.users_page import UsersPage
from tests.client.conftest import sign_in
from tests.client.oversight_support import open_tab


def tab_titles(window) -> list[str]:
    tabs = window.management.tabs
    return [tabs.tabText(index) for index in range(tabs.count())]


def test_a_practitioner_sees_no_management_screen(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.practitioner")
    assert window.management.tabs is None and not window.management.available
    assert window.management.button.isHidden()
    window.management.open()  # even if asked, nothing opens
    assert window.work.currentWidget() is not window.management
    # No management screen exists at all, hidden or shown.
    assert window.findChildren(OversightPage) == []
    assert not window.management.isVisible()


def test_the_management_team_sees_its_six_screens_and_acts_on_them(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    assert window.management.button.isVisible()
    page = open_tab(qtbot, window, "Users")
    assert window.work.currentWidget() is window.management
    assert tab_titles(window) == [title for title, _factory in CMT_PAGES]
    assert "Organisations" not in tab_titles(window) and "Lockdown" not in tab_titles(window)
    assert isinstance(page, UsersPage) and page.add_button is not None
    assert window.management.heading.text() == "Management — Northmere"
    # Back to search forgets what the screens showed.
    window.management.back_button.click()
    assert window.work.currentWidget() is not window.management
    assert page.model.rowCount() == 0


def test_the_national_team_reads_every_list_and_runs_its_own_screens(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.national")
    page = open_tab(qtbot, window, "Users")
    assert tab_titles(window) == [title for title, _factory in NATIONAL_PAGES]
    assert isinstance(page, UsersPage)
    assert page.add_button is None and page.suspend_button is None
    authorities = {user.local_authority for user in page.model.rows}
    assert len(authorities - {None}) >= 2
    alerts = open_tab(qtbot, window, "Alerts")
    assert isinstance(alerts, AlertsPage) and alerts.dismiss_button is None
    register = open_tab(qtbot, window, "Incident register")
    assert isinstance(register, IncidentsPage) and register.close_button is None
    assert register.heading.text() == "National incident register"
    reviews = open_tab(qtbot, window, "Shield reviews")
    assert isinstance(reviews, ShieldingPage) and reviews.shield_cp_id is None and reviews.use_button is None

    window.session_bar.sign_out_button.click()
    assert window.management.tabs is None and window.management.button.isHidden()
    assert page.model.rowCount() == 0 and alerts.model.rowCount() == 0


def test_locking_destroys_the_screens(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    page = open_tab(qtbot, window, "Children missing education")
    assert page.model.rowCount() > 0
    window.session_bar.lock_button.click()
    assert window.locked
    assert page.model.rowCount() == 0 and window.management.tabs is None


INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QPlainTextEdit, QAbstractItemView, QAbstractSpinBox)


def unnamed_or_unreachable(root) -> list[str]:
    """Controls under `root` without an accessible name, or that the keyboard cannot reach."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or isinstance(widget, QTabBar | QHeaderView):
            continue  # the tab bar and table headers are driven through their tab widget and table
        if isinstance(widget.parentWidget(), QAbstractItemView) or widget.window() is not root.window():
            continue  # a table's corner button, a combo box's pop-up list
        if widget.parentWidget() is not None and isinstance(widget.parentWidget(), QAbstractSpinBox):
            continue  # the spin box's own line edit
        if widget.objectName().startswith("qt_"):
            continue  # Qt's internal scroll bar and corner widgets
        if not widget.accessibleName():
            found.append(f"{type(widget).__name__} {widget.objectName()} unnamed")
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            found.append(f"{type(widget).__name__} {widget.accessibleName()} not reachable by Tab")
    return found


def test_every_control_is_named_and_reachable_by_keyboard(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.national")
    assert unnamed_or_unreachable(window.management) == []
    window.session_bar.sign_out_button.click()
    server.allow_new_sign_in()
    sign_in(qtbot, window, "demo.cmt")
    assert unnamed_or_unreachable(window.management) == []
    users = open_tab(qtbot, window, "Users")
    mode = window.mode
    dialogs = [
        AddUserDialog(users.context.client.organisations(), mode, window),
        AccreditationDialog(users.model.rows[0], mode, window),
        TextPromptDialog("T", "H", "D", "&Go", mode, window, warning="W", acknowledgement="&I agree"),
    ]
    for dialog in dialogs:
        assert unnamed_or_unreachable(dialog) == [], type(dialog).__name__
        dialog.deleteLater()


def test_the_keyboard_opens_the_screens_and_moves_between_them(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    window.management.button.setFocus()
    qtbot.keyClick(window.management.button, Qt.Key.Key_Space)
    assert window.work.currentWidget() is window.management
    tabs = window.management.tabs
    assert tabs.hasFocus() or tabs.tabBar().hasFocus() or tabs.isAncestorOf(QApplication.focusWidget())
    qtbot.keyClick(tabs.tabBar(), Qt.Key.Key_Right)
    assert tabs.currentIndex() == 1
    page = tabs.currentWidget()
    qtbot.keyClick(tabs.tabBar(), Qt.Key.Key_Tab)
    assert page.isAncestorOf(QApplication.focusWidget())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.work.currentWidget() is not window.management)
