"""The screens say what is true now: a management tab shows what another tab just did, a message from
one tab or an earlier session is not left under another, and a cut-off table cell shows its whole
text as a tooltip."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from cpclient.ui.main_window import SIGNED_OUT
from cpclient.ui.oversight.incidents_page import IncidentsPage
from cpclient.ui.oversight.users_page import UsersPage
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from tests.client.conftest import sign_in
from tests.client.oversight_support import answer_prompt, open_tab, restore_world


@pytest.fixture
def cmt_window(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    yield window
    restore_world(server)


def test_a_tab_shows_what_another_tab_did_and_the_status_bar_forgets_it(qtbot, cmt_window):
    window = cmt_window
    incidents = open_tab(qtbot, window, "Incidents")
    assert isinstance(incidents, IncidentsPage)
    assert not incidents.table.select_where(lambda i: i.username == "demo.socialworker")

    users = open_tab(qtbot, window, "Users")
    assert isinstance(users, UsersPage)
    assert users.table.select_where(lambda u: u.username == "demo.socialworker")
    users.incident_button.click()
    answer_prompt(qtbot, users, "Shared a password with a colleague, reported by the manager.")
    assert window.statusBar().currentMessage()

    # Back on Incidents, without pressing Refresh: the new incident is listed, and the status bar no
    # longer speaks of the Users tab.
    open_tab(qtbot, window, "Incidents")
    assert window.statusBar().currentMessage() == ""
    assert incidents.table.select_where(lambda i: i.username == "demo.socialworker" and i.status == "open")


def test_a_new_attempt_to_sign_in_clears_the_notice_of_the_last_session(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    window.sign_out()
    assert window.login.notice.isVisibleTo(window) and window.login.notice.text() == SIGNED_OUT
    server.allow_new_sign_in()
    window.login.username.setText("demo.practitioner")
    window.login.password.setText("not-the-password")
    window.login.otp.setText("000000")
    window.login.sign_in_button.click()
    qtbot.waitUntil(lambda: bool(window.login.summary.messages), timeout=10_000)
    # The refusal is about this attempt; "You have signed out." above it would mislead.
    assert not window.login.notice.isVisibleTo(window)


def _tooltip_at(table: RowsTable, row: int, column: int) -> str:
    QToolTip.hideText()
    place = table.visualRect(table.model().index(row, column)).center()
    event = QHelpEvent(QEvent.Type.ToolTip, place, table.viewport().mapToGlobal(place))
    QApplication.sendEvent(table.viewport(), event)
    return QToolTip.text() if QToolTip.isVisible() else ""


# Showing a tooltip asks the offscreen platform to raise its window, which it cannot (and says so).
@pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support propagateSizeHints"
)
def test_a_cut_off_cell_shows_its_whole_text_as_a_tooltip(qtbot):
    long = "Safeguarding or child protection enquiry, following a referral from the school nurse"
    model: RowsModel[str] = RowsModel([Column("Reason", str), Column("Length", lambda text: str(len(text)))])
    table = RowsTable(model, "Reasons", sortable=False)
    qtbot.addWidget(table)
    model.set_rows([long, "Short"])
    table.resize(400, 200)
    table.show()
    qtbot.waitExposed(table)
    table.setColumnWidth(0, 120)

    assert _tooltip_at(table, 1, 0) == ""  # "Short" fits: no tooltip
    assert _tooltip_at(table, 0, 0) == long
    QToolTip.hideText()
