"""`ErrorSummary`: the GOV.UK-style "There is a problem" box; each message links to its field.

Showing problems moves keyboard focus to the summary (so a screen reader announces it); activating
a message (click, or Space/Enter on it) moves focus to the field it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from cpclient.ui.styles import apply_style

TITLE = "There is a problem"


@dataclass(frozen=True)
class Problem:
    """One message for the summary, and the field it is about (None for a problem with no field)."""

    message: str
    field: QWidget | None = None


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
                link = QPushButton(problem.message, self)
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
        for link in self.links:
            # Tab goes from the summary through its links, then on to the form.
            QWidget.setTabOrder(previous, link)
            previous = link
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
