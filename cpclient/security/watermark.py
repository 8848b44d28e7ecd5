"""A faint overlay that tiles the signed-in user's name and the time across a record view.

Anyone who photographs the screen also photographs who was signed in and when. The overlay ignores
the mouse and keyboard focus, follows its parent's size, stays above the parent's other children,
updates its clock every minute and draws in the palette's text colour at low opacity, so it stays
visible under high-contrast themes.

Example::

    watermark = Watermark(record_view)          # covers record_view from now on
    watermark.set_user("Sam Practitioner")      # the signed-in user's display name
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import QWidget

ANGLE_DEGREES = -30.0
OPACITY = 40  # of 255: faint, but present under every theme
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def watermark_text(user: str, moment: datetime) -> str:
    """Return the overlay text: ``"<user> · dd Mon yyyy HH:MM"`` (English month, whatever the locale)."""
    stamp = f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year:04d} {moment:%H:%M}"
    return f"{user} · {stamp}" if user else stamp


class Watermark(QWidget):
    """A transparent overlay on ``parent`` showing the user's name and the time, tiled diagonally.

    Args:
        parent: the widget to cover (required); the overlay follows its size.
        user: the signed-in user's display name; change it with :meth:`set_user`.
        clock: returns the current time; tests hand in a fixed one.
    """

    def __init__(self, parent: QWidget, user: str = "", clock: Callable[[], datetime] = datetime.now) -> None:
        super().__init__(parent)
        self._user = user
        self._clock = clock
        self._text = ""
        self._tile: QPixmap | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAutoFillBackground(False)
        self.setObjectName("watermark")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        parent.installEventFilter(self)
        self.setGeometry(parent.rect())
        self._tick()
        self.raise_()
        self.show()

    @property
    def text(self) -> str:
        """The text currently tiled."""
        return self._text

    def set_user(self, name: str) -> None:
        """Show ``name`` (the signed-in user's display name) in the overlay."""
        self._user = name
        self._refresh_text()

    def _tick(self) -> None:
        self._refresh_text()
        now = self._clock()
        to_next_minute_ms = int((60 - now.second - now.microsecond / 1_000_000) * 1000)
        self._timer.start(max(1000, to_next_minute_ms))

    def _refresh_text(self) -> None:
        text = watermark_text(self._user, self._clock())
        if text != self._text:
            self._text = text
            self._tile = None
            self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Follow the parent's size and stay above children added to it later."""
        parent = self.parentWidget()
        if watched is parent and parent is not None:
            kind = event.type()
            if kind == QEvent.Type.Resize:
                self.setGeometry(parent.rect())
            elif kind == QEvent.Type.ChildAdded:
                QTimer.singleShot(0, self, self.raise_)
        return False

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        """Redraw the tile when the palette, font or scale changes (for example high contrast)."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._tile = None
            self.update()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Tile the cached, rotated text over the exposed area."""
        if not self._text:
            return
        tile = self._tile
        if tile is None or tile.devicePixelRatio() != self.devicePixelRatioF():
            tile = self._tile = self._render_tile()
        painter = QPainter(self)
        painter.drawTiledPixmap(QRect(self.rect()), tile)
        painter.end()

    def _render_tile(self) -> QPixmap:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3 if font.pointSizeF() > 0 else 13.0)
        metrics = QFontMetricsF(font)
        text_width = metrics.horizontalAdvance(self._text)
        text_height = metrics.height()
        angle = math.radians(abs(ANGLE_DEGREES))
        width = text_width * math.cos(angle) + text_height * math.sin(angle) + 4 * text_height
        height = text_width * math.sin(angle) + text_height * math.cos(angle) + 3 * text_height
        ratio = self.devicePixelRatioF()
        # Two rows per tile, the second shifted by half a tile (like bricks), so the text covers the
        # view evenly and never runs into its neighbour along the diagonal.
        tile = QPixmap(math.ceil(width * ratio), math.ceil(2 * height * ratio))
        tile.setDevicePixelRatio(ratio)
        tile.fill(Qt.GlobalColor.transparent)
        colour = QColor(self.palette().color(QPalette.ColorRole.WindowText))
        colour.setAlpha(OPACITY)
        painter = QPainter(tile)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(font)
        painter.setPen(colour)
        for x, y in ((width / 2, height / 2), (0, 1.5 * height), (width, 1.5 * height)):
            painter.save()
            painter.translate(x, y)
            painter.rotate(ANGLE_DEGREES)
            painter.drawText(
                QRectF(-text_width / 2, -text_height / 2, text_width, text_height),
                Qt.AlignmentFlag.AlignCenter,
                self._text,
            )
            painter.restore()
        painter.end()
        return tile
