"""`ErrorSummary`: the GOV.UK-style "There is a problem" box; each message links to its field.

Showing problems moves keyboard focus to the summary (so a screen reader announces it); activating
a message (click, or Space/Enter on it) moves focus to the field it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from cpclient.ui.styles import apply_style

TITLE = "There is a problem"


@dataclass(frozen=True)
class Problem:
    """One message for the summary, and the field it is about (None for a problem with no field)."""

    message: str
    field: QWidget | None = None


class ErrorLink(QPushButton):
    """A message in the summary that leads to its field: a flat button whose text wraps.

    A plain `QPushButton` never wraps, so a long message would widen the window; this one asks for the
    height its text needs at the width it is given.
    """

    PADDING = 4  # the style sheet's 2 px on each side
    FOCUS_TEXT = QColor("#0b0c0c")  # on the style sheet's yellow focus background

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def _text_rect(self, width: int) -> QRect:
        inner = QRect(0, 0, max(width - 2 * self.PADDING, 1), 1_000_000)
        return self.fontMetrics().boundingRect(inner, self._flags(), self.text())

    @staticmethod
    def _flags() -> int:
        return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return self._text_rect(width).height() + 2 * self.PADDING

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        metrics = self.fontMetrics()
        width = min(metrics.horizontalAdvance(self.text()), metrics.averageCharWidth() * 60)
        width += 2 * self.PADDING
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        metrics = self.fontMetrics()
        longest = max((metrics.horizontalAdvance(word) for word in self.text().split()), default=0)
        width = min(longest, metrics.averageCharWidth() * 20) + 2 * self.PADDING
        # One line: the layout asks `heightForWidth` for the height at the width it gives.
        return QSize(width, metrics.height() + 2 * self.PADDING)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QStylePainter(self)
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = ""
        painter.drawControl(QStyle.ControlElement.CE_PushButton, option)
        font = self.font()
        font.setUnderline(not self.hasFocus())
        painter.setFont(font)
        colour = self.FOCUS_TEXT if self.hasFocus() else self.palette().color(QPalette.ColorRole.Link)
        painter.setPen(colour)
        area = self.rect().adjusted(self.PADDING, self.PADDING, -self.PADDING, -self.PADDING)
        painter.drawText(area, self._flags(), self.text())


class ErrorSummary(QFrame):
    """The error summary; hidden while there is no problem."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorSummary")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(TITLE)
        self._layout = QVBoxLayout(self)
        self.title = QLabel(TITLE, self)
        self.title.setObjectName("errorSummaryTitle")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.title.setAccessibleName(TITLE)
        self._layout.addWidget(self.title)
        self._items: list[QWidget] = []
        # Each field described by a message, with the description it had before (restored on clear).
        self._described: list[tuple[QWidget, str]] = []
        self.problems: list[Problem] = []
        apply_style(self, "error_summary")
        self.hide()

    def show_problems(self, problems: list[Problem], *, take_focus: bool = True) -> None:
        """Show `problems` (replacing any shown before) and move focus to the summary."""
        self.clear()
        if not problems:
            return
        self.problems = list(problems)
        for problem in problems:
            item: QWidget
            if problem.field is not None:
                link = ErrorLink(problem.message, self)
                link.setObjectName("errorLink")
                link.setAccessibleName(problem.message)
                link.setAccessibleDescription("Go to the field this message is about")
                link.setCursor(Qt.CursorShape.PointingHandCursor)
                link.setAutoDefault(False)
                link.clicked.connect(lambda _=False, field=problem.field: focus_field(field))
                self._described.append((problem.field, problem.field.accessibleDescription()))
                problem.field.setAccessibleDescription(problem.message)
                item = link
            else:
                label = QLabel(problem.message, self)
                label.setWordWrap(True)
                label.setAccessibleName(problem.message)
                item = label
            self._layout.addWidget(item)
            self._items.append(item)
        previous: QWidget = self
        for each in self.links:
            # Tab goes from the summary through its links, then on to the form.
            QWidget.setTabOrder(previous, each)
            previous = each
        self.setAccessibleDescription(" ".join(problem.message for problem in problems))
        self.show()
        if take_focus:
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    def clear(self) -> None:
        """Remove every message and hide the summary."""
        for item in self._items:
            self._layout.removeWidget(item)
            item.hide()
            item.deleteLater()
        self._items.clear()
        for field, before in reversed(self._described):
            field.setAccessibleDescription(before)
        self._described.clear()
        self.problems = []
        self.setAccessibleDescription("")
        self.hide()

    @property
    def links(self) -> list[QPushButton]:
        """The message buttons that lead to a field."""
        return [item for item in self._items if isinstance(item, QPushButton)]

    @property
    def messages(self) -> list[str]:
        """The messages shown."""
        return [problem.message for problem in self.problems]


def focus_field(field: QWidget) -> None:
    """Move keyboard focus to `field` (selecting a text field's contents)."""
    field.setFocus(Qt.FocusReason.OtherFocusReason)
    if isinstance(field, QLineEdit):
        field.selectAll()
