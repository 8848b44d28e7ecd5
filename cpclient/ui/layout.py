"""Small pieces of screen layout the screens share: a page that scrolls, a dialog that keeps to its
content and to the screen, a left-aligned row, a tab order.

A page that can be taller than a laptop screen (a form, a list, an error summary) sits in `scrolling`,
so the window never grows to fit it: the page scrolls instead. A dialog gets `fit_to_content`: Qt
sizes a window by its content's minimum, which cuts text that wraps (an error, guidance) and squashes
the fields below it; this gives the dialog the height its content needs at its width, inside the
screen.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QWidget


def left_aligned(*widgets: QWidget) -> QHBoxLayout:
    """The widgets in a row, left-aligned (the rest of the row stays empty)."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row


def set_tab_order(widgets: list[QWidget]) -> None:
    """Make Tab move through `widgets` in this order."""
    for first, second in itertools.pairwise(widgets):
        QWidget.setTabOrder(first, second)


def scrolling(page: QWidget, parent: QWidget | None = None) -> QScrollArea:
    """`page` in a frameless scroll area: it fills the area, and scrolls when the area is too small.

    The area itself takes no keyboard focus (Tab goes straight to the page's controls, and the area
    scrolls to show the one with focus).
    """
    area = QScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    area.setWidget(page)
    return area


class _FitToContent(QObject):
    """Keeps a top-level widget as tall as its layout needs at its width (see `fit_to_content`)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._width = -1
        self._pending = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind in (QEvent.Type.LayoutRequest, QEvent.Type.Show) or (
            kind == QEvent.Type.Resize and self._window.width() != self._width
        ):
            self._schedule()
        return False

    def _schedule(self) -> None:
        # After the layout has handled the request itself (it does so after event filters run).
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self, self.fit)

    def fit(self) -> None:
        """Set the window's minimum height to what its content needs now, within the screen."""
        self._pending = False
        window = self._window
        layout = window.layout()
        if layout is None:
            return
        layout.activate()
        self._width = window.width()
        available = window.screen().availableGeometry()
        frame = window.frameGeometry()
        decoration = frame.height() - window.height()
        if layout.hasHeightForWidth():
            needed = layout.totalHeightForWidth(window.width())
        else:
            needed = layout.totalMinimumSize().height()
        height = min(max(needed, layout.totalMinimumSize().height()), available.height() - decoration)
        if window.minimumHeight() != height:
            window.setMinimumHeight(height)
        if window.height() < height:
            window.resize(window.width(), height)
        frame = window.frameGeometry()
        if window.isVisible() and not available.contains(frame):
            left = min(max(frame.left(), available.left()), available.right() + 1 - frame.width())
            top = min(max(frame.top(), available.top()), available.bottom() + 1 - frame.height())
            window.move(left, top)


def fit_to_content(window: QWidget) -> None:
    """Keep `window` (a dialog) tall enough for its content at its width, and inside its screen."""
    if window.findChild(_FitToContent) is None:
        _FitToContent(window)
