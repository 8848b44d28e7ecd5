"""`StatusMessage`: what it shows is what a screen reader reads; each change on screen is announced once."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QMainWindow, QVBoxLayout, QWidget

from cpclient.ui.status_message import StatusMessage, speak_status_bar


def name_of(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return interface.text(QAccessible.Text.Name)


@pytest.fixture
def shown_status(qtbot) -> Iterator[Callable[..., StatusMessage]]:
    """`shown_status(settle_ms=0)`: a status message on a page that is on screen."""
    pages: list[QWidget] = []  # qtbot holds widgets weakly: the pages live until the test ends

    def make(*, settle_ms: int = 0) -> StatusMessage:
        page = QWidget()
        qtbot.addWidget(page)
        pages.append(page)
        status = StatusMessage(page, settle_ms=settle_ms)
        QVBoxLayout(page).addWidget(status)
        page.show()
        qtbot.waitExposed(page)
        return status

    yield make
    pages.clear()


def test_a_screen_reader_reads_the_text_shown(qtbot, shown_status):
    status = shown_status()
    status.setText("8 entries, newest first.")
    assert name_of(status) == "8 entries, newest first." == status.text()
    status.setText("<b>2 open alerts.</b>")  # a server's words are never markup
    assert status.textFormat() == Qt.TextFormat.PlainText
    assert name_of(status) == "<b>2 open alerts.</b>"
    status.clear()
    assert status.text() == "" and name_of(status) == ""


def test_changes_in_one_turn_are_announced_once_with_the_last_text(qtbot, shown_status):
    status = shown_status()
    heard: list[str] = []
    status.announced.connect(heard.append)
    with qtbot.waitSignal(status.announced):
        status.setText("Searching…")
        status.setText("1 child found.")
    with qtbot.assertNotEmitted(status.announced, wait=100):
        pass  # "Searching…" is never said: it was replaced in the same turn
    assert heard == ["1 child found."]


def test_a_count_is_announced_once_typing_pauses(qtbot, shown_status):
    status = shown_status(settle_ms=300)
    heard: list[str] = []
    status.announced.connect(heard.append)
    with qtbot.waitSignal(status.announced, timeout=3000):
        for typed in range(1, 4):
            status.setText(f"{typed} characters: at least {10 - typed} more needed")
    assert heard == ["3 characters: at least 7 more needed"]


def test_nothing_is_announced_when_cleared_or_not_on_screen(qtbot, shown_status):
    status = shown_status()
    with qtbot.assertNotEmitted(status.announced, wait=100):
        status.setText("Loading…")
        status.clear()  # the load finished at once: nothing to say
    hidden = StatusMessage()
    with qtbot.assertNotEmitted(hidden.announced, wait=100):
        hidden.setText("1 check expires within 60 days or has expired.")
    assert name_of(hidden) == "1 check expires within 60 days or has expired."


def test_the_status_bar_message_is_exposed(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    speak_status_bar(window.statusBar())
    window.show()
    qtbot.waitExposed(window)
    window.statusBar().showMessage("Copying is not allowed.")
    assert name_of(window.statusBar()) == "Copying is not allowed."
    window.statusBar().clearMessage()
    assert name_of(window.statusBar()) == ""
    window.close()
