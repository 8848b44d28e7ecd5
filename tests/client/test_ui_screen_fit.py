"""Every screen fits a council laptop (1024×768 and 1366×768): nothing grows past the screen, every
control is inside the window (pages scroll instead), and no label or button is cut short. On the
way, the keyboard: no two controls on screen share an Alt+letter, the reason dialog shows where its
focus is, and Escape on a record goes back to the results."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionButton

from cpclient.api.models import SearchCriteria
from cpclient.ui.main_window import MainWindow
from cpclient.ui.training_help import TrainingKit
from tests.client.conftest import open_first_result, search_for, sign_in, training_kit
from tests.client.oversight_support import open_tab
from tests.client.screen_fit import (
    SCREEN_NAMES,
    dialog_problems,
    fit_problems,
    laptop_screen,
    mnemonic_clashes,
)


def with_reset(server: Any) -> TrainingKit:
    """The training kit `cpclient --training` has: with its server, so "Reset training data" shows."""
    return replace(training_kit(), server=server.server)


def on_screen(qtbot: Any, window: MainWindow, name: str) -> None:
    """Move the window to the laptop screen `name`, at the size it takes there when it opens."""
    screen = laptop_screen(name)
    window.windowHandle().setScreen(screen)
    window.move(screen.availableGeometry().topLeft())
    window.fit_to_screen()
    qtbot.waitUntil(lambda: window.screen() is screen)


def settle(qtbot: Any) -> None:
    """Let pending layout requests run (they are posted events)."""
    qtbot.wait(50)


def fits(window: Any) -> list[str]:
    """What does not fit, and which Alt+letters clash."""
    return fit_problems(window) + [f"{key} is {texts}" for key, texts in mnemonic_clashes(window).items()]


def shows_focus(button: Any) -> bool:
    """True when `button` has focus and the style is told to draw the focus frame."""
    option = QStyleOptionButton()
    button.initStyleOption(option)
    wanted = QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_KeyboardFocusChange
    return button.hasFocus() and (option.state & wanted) == wanted


@pytest.mark.parametrize("screen", SCREEN_NAMES)
def test_the_practitioner_screens_fit(qtbot, server, make_window, screen):
    window = make_window(server.url, kit=with_reset(server))
    on_screen(qtbot, window, screen)
    size = window.size()
    settle(qtbot)
    assert fits(window) == []

    window.login.username.setText("demo.practitioner")
    window.login.password.setText("not-the-password")
    window.login.otp.setText("000000")
    window.login.sign_in_button.click()
    qtbot.waitUntil(lambda: bool(window.login.summary.messages), timeout=10_000)
    settle(qtbot)
    assert fits(window) == [] and window.size() == size

    server.allow_new_sign_in()
    sign_in(qtbot, window)
    settle(qtbot)
    assert fits(window) == [] and window.size() == size

    # A family name alone is refused by the server as too broad: its message must wrap.
    window.search.fill(SearchCriteria(family="Smith"))
    window.search.submit()
    qtbot.waitUntil(lambda: bool(window.search.summary.messages), timeout=10_000)
    settle(qtbot)
    assert fits(window) == [] and window.size() == size

    search_for(qtbot, window, "ordinary")
    window.search.table.selectRow(0)
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    reason = window.opener.dialog
    settle(qtbot)
    assert dialog_problems(reason) + list(mnemonic_clashes(reason)) == []
    assert shows_focus(reason.buttons[0])  # opened with the mouse, yet the focus frame is drawn
    reason.buttons[-1].click()  # "Other (explain)": the explanation is needed too
    settle(qtbot)
    assert dialog_problems(reason) == []
    reason.reject()
    qtbot.waitUntil(lambda: window.opener.dialog is None)

    open_first_result(qtbot, window)
    settle(qtbot)
    assert fits(window) == [] and window.size() == size

    window.record_view.add_button.click()
    qtbot.waitUntil(lambda: window.involvements.dialog is not None and window.involvements.dialog.isVisible())
    dialog = window.involvements.dialog
    settle(qtbot)
    assert dialog_problems(dialog) + list(mnemonic_clashes(dialog)) == []
    dialog.service.setCurrentIndex(0)
    dialog.started_on.setText("31/02/2009")
    dialog.ok_button.click()
    assert dialog.summary.messages
    settle(qtbot)
    assert dialog_problems(dialog) + list(mnemonic_clashes(dialog)) == []
    dialog.reject()
    assert window.size() == size

    window.record_view.report_button.click()
    qtbot.waitUntil(lambda: window.reports.dialog is not None and window.reports.dialog.isVisible())
    report = window.reports.dialog
    settle(qtbot)
    assert dialog_problems(report) + list(mnemonic_clashes(report)) == []
    report.reject()
    qtbot.waitUntil(lambda: window.reports.dialog is None)

    # Escape on the record goes back to the results, which are still there.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.record_view.details.setFocus()
    qtbot.keyClick(window.record_view.details, Qt.Key.Key_Escape)
    assert window.work.currentWidget() is not window.record_view
    assert window.search.model.rowCount() > 0 and window.record_view.record is None

    # The inbox of involvement notices (its button is in the session bar on every screen).
    window.notices.open()
    qtbot.waitUntil(lambda: window.notices.model.rowCount() > 0 and not window.notices.busy, timeout=10_000)
    settle(qtbot)
    assert fits(window) == [] and window.size() == size


@pytest.mark.parametrize("screen", SCREEN_NAMES)
@pytest.mark.parametrize("username", ["demo.cmt", "demo.national"])
def test_every_management_screen_fits(qtbot, server, make_window, screen, username):
    window = make_window(server.url, kit=with_reset(server))
    on_screen(qtbot, window, screen)
    size = window.size()
    sign_in(qtbot, window, username)
    tabs = window.management.tabs
    assert tabs is not None
    for title in tabs.pages:
        page = open_tab(qtbot, window, title)
        settle(qtbot)
        assert fits(window) == [], title
        assert window.size() == size, title
        if title == "Users" and username == "demo.cmt":
            # The tallest form: inside the screen, nothing squashed, confirm waiting for it.
            page.add_button.click()
            qtbot.waitUntil(lambda page=page: page.dialog is not None and page.dialog.isVisible())
            form = page.dialog
            settle(qtbot)
            assert dialog_problems(form) + list(mnemonic_clashes(form)) == []
            assert not form.confirm_button.isEnabled() and form.needed.text()
            form.reject()
            qtbot.waitUntil(lambda page=page: page.dialog is None)
        if title == "Shielding":
            # Every problem of an empty form at once: the page scrolls, the window stays.
            page.shield_button.click()
            qtbot.waitUntil(lambda page=page: bool(page.summary.messages))
            settle(qtbot)
            assert fits(window) == [] and window.size() == size
        if title == "Data matching":
            # Both records side by side, below the queue and above the reports: the page scrolls.
            page.matches_table.selectRow(0)
            qtbot.waitUntil(lambda page=page: page.comparison is not None and not page.busy, timeout=10_000)
            settle(qtbot)
            assert fits(window) == [] and window.size() == size
