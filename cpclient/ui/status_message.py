"""`StatusMessage`: a line telling the person what just happened, which screen readers speak when it changes.

WCAG 4.1.3 (status messages): the text shown is also the label's accessible name, so a screen reader
reading the window finds it, and each new text is announced without moving focus. The announcement
is Qt's `QAccessibleAnnouncementEvent` (Qt 6.8+): an AT-SPI `Announcement` event on Linux (Orca) and
a UI Automation notification on Windows (NVDA). Texts set in one turn of the event loop are announced
once, with the last one; a message that changes at every key press (a character count) waits until
typing pauses (`settle_ms`), as the GOV.UK character count does. A message set while it is not on
screen (a dialog being built, a page not shown) is not announced: the screen reader reads it with the
page. Errors are not status messages: they go to the `ErrorSummary`, which takes focus.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

# A character count is announced once typing has paused this long (GOV.UK's character count waits 1 s).
TYPING_PAUSE_MS = 1000


def announce(widget: QWidget, text: str) -> None:
    """Ask assistive technology to speak `text` now, politely (after what it is saying), for `widget`."""
    event = QAccessibleAnnouncementEvent(widget, text)
    event.setPoliteness(QAccessible.AnnouncementPoliteness.Polite)
    QAccessible.updateAccessibility(event)


class StatusMessage(QLabel):
    """A status line: plain text, wrapped, its accessible name always the text shown.

    Args:
        settle_ms: announce only after the text has stopped changing for this long (0: at once).

    Signals:
        announced(str): the text was sent to assistive technology as an announcement.
    """

    announced = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, settle_ms: int = 0) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(settle_ms)
        self._pending.timeout.connect(self._announce)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        """Show `text`, make it the accessible name, and announce it (empty: stop showing anything)."""
        super().setText(text)
        self.setAccessibleName(text)
        if text and self.isVisible():
            self._pending.start()
        else:
            self._pending.stop()

    def clear(self) -> None:
        """Show nothing (nothing is announced)."""
        self.setText("")

    def _announce(self) -> None:
        text = self.text()
        if text and self.isVisible():
            announce(self, text)
            self.announced.emit(text)


def speak_status_bar(bar: QStatusBar) -> None:
    """Give the status bar's passing messages to assistive technology (Qt paints them, unexposed)."""

    def changed(text: str) -> None:
        bar.setAccessibleName(text)
        if text and bar.isVisible():
            announce(bar, text)

    bar.messageChanged.connect(changed)
