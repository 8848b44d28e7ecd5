"""Checking that a window fits a laptop screen: inside the screen, every control inside the window, no
label or button cut short; and that no two of its visible controls share an Alt+letter. The screens
are set up in `tests/conftest.py` (offscreen platform)."""

from __future__ import annotations

from collections import defaultdict

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication, QKeySequence, QScreen
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QWidget,
)

SCREEN_NAMES = ("1024x768", "1366x768")
CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QPlainTextEdit, QAbstractScrollArea, QScrollBar, QTabBar)


def laptop_screen(name: str) -> QScreen:
    """The test screen called `name` (see `tests/conftest.py`)."""
    for screen in QGuiApplication.screens():
        if screen.name() == name:
            return screen
    raise AssertionError(f"no screen {name!r}: run the client tests with QT_QPA_PLATFORM=offscreen")


def describe(widget: QWidget) -> str:
    """A widget as a failure message shows it: its class, name and text."""
    text = ""
    if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
        text = widget.text()
    name = widget.accessibleName() or widget.objectName()
    return f"{type(widget).__name__}({name!r}, {text[:40]!r})"


def _scrolled_by(widget: QWidget, window: QWidget) -> QAbstractScrollArea | None:
    """The scroll area whose viewport holds `widget` (its content scrolls), if any."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        area = parent.parentWidget()
        if isinstance(area, QAbstractScrollArea) and area.viewport() is parent:
            return area
        parent = parent.parentWidget()
    return None


def _rect_in(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def fit_problems(window: QWidget) -> list[str]:
    """What does not fit: the window outside its screen, a control outside the window (or sticking out
    sideways from the area that scrolls it), a label or button smaller than its text needs."""
    problems: list[str] = []
    screen = window.screen()
    if not screen.availableGeometry().contains(window.frameGeometry()):
        problems.append(
            f"the window {window.frameGeometry()} is not inside the screen {screen.availableGeometry()}"
        )
    inside = window.rect()
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window) or widget.isWindow() or widget.width() <= 0:
            continue
        if not isinstance(widget, (*CONTROLS, QLabel)):
            continue
        rect = _rect_in(widget, window)
        area = _scrolled_by(widget, window)
        if area is not None:
            viewport = _rect_in(area.viewport(), window)
            if rect.left() < viewport.left() or rect.right() > viewport.right():
                problems.append(f"{describe(widget)} sticks out sideways from its scrolling area")
        elif not inside.contains(rect):
            problems.append(f"{describe(widget)} at {rect} is outside the window {inside}")
        problems += clipped(widget)
    return problems


def clipped(widget: QWidget) -> list[str]:
    """A label or button too small for its text."""
    if isinstance(widget, QLabel) and widget.text():
        if widget.wordWrap():
            needed = widget.heightForWidth(widget.width())
            if needed > widget.height():
                return [f"{describe(widget)} is {widget.height()} px high but its text needs {needed}"]
        else:
            hint = widget.minimumSizeHint()
            if hint.width() > widget.width() or hint.height() > widget.height():
                return [f"{describe(widget)} is {widget.size()} but its text needs {hint}"]
    if isinstance(widget, QAbstractButton) and widget.text():
        hint = widget.minimumSizeHint()
        needed = widget.heightForWidth(widget.width()) if widget.hasHeightForWidth() else hint.height()
        if hint.width() > widget.width() or needed > widget.height():
            return [f"{describe(widget)} is {widget.size()} but its text needs {hint.width()}x{needed}"]
    return []


def dialog_problems(dialog: QWidget) -> list[str]:
    """`fit_problems` for a dialog, and that every field keeps the height its text needs."""
    problems = fit_problems(dialog)
    for field in dialog.findChildren(QLineEdit) + dialog.findChildren(QComboBox):
        if field.isVisibleTo(dialog) and field.height() < field.minimumSizeHint().height():
            problems.append(f"{describe(field)} is squashed to {field.height()} px")
    return problems


def mnemonic_clashes(window: QWidget) -> dict[str, list[str]]:
    """Alt+letter keys that two or more visible controls (or labels of fields) of `window` claim."""
    claimed: dict[str, list[str]] = defaultdict(list)

    def claim(text: str) -> None:
        key = QKeySequence.mnemonic(text)
        if not key.isEmpty():
            claimed[key.toString()].append(text)

    for widget in [window, *window.findChildren(QWidget)]:
        if widget is not window and (not widget.isVisibleTo(window) or widget.isWindow()):
            continue
        if isinstance(widget, QAbstractButton) or (isinstance(widget, QLabel) and widget.buddy()):
            claim(widget.text())
        if isinstance(widget, QTabBar):
            for index in range(widget.count()):
                claim(widget.tabText(index))
    return {key: texts for key, texts in claimed.items() if len(texts) > 1}
