"""What a screen reader gets from a window, checked through the interfaces Qt hands assistive technology.

`screen_reader_problems(root)` walks every widget shown under `root` and asks Qt for its accessible
interface (`QAccessible.queryAccessibleInterface`: what the AT-SPI bridge gives Orca and the UI
Automation bridge gives NVDA) and lists:
- a control reachable by Tab (or a button) without a name, or whose name does not contain the words
  it shows (WCAG 2.5.3, label in name);
- a label whose accessible text (name or description) does not say what it shows, and a status message
  whose name is not exactly its text (WCAG 4.1.3);
- an entry (text field, combo box, spin box) with no label related to it (`QLabel.setBuddy`), or whose
  name is not that label's words (WCAG 1.3.1, 2.5.3).

On Linux Qt names a combo box by its current value ("Any") and relies on the label relation for what it
is (qtbase src/widgets/accessible/complexwidgets.cpp, `QAccessibleComboBox::text`: "on Linux we use
relations for this"); so a combo box is checked by its relation and its `accessibleName()` (what UI
Automation reads), not by the AT-SPI name.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleInterface
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

from cpclient.ui.status_message import StatusMessage

ENTRIES = (QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QAbstractSpinBox)
NAME = QAccessible.Text.Name
DESCRIPTION = QAccessible.Text.Description


def plain(text: str) -> str:
    """Text as it is spoken: without mnemonic ampersands, a trailing ellipsis or colon, or extra spaces."""
    text = re.sub(r"&(.)", r"\1", text)
    text = " ".join(text.split())
    return text.rstrip("…:").strip()


def interface(widget: QWidget) -> QAccessibleInterface:
    """The accessible interface Qt gives assistive technology for `widget`."""
    found = QAccessible.queryAccessibleInterface(widget)
    assert found is not None and found.isValid(), f"{type(widget).__name__} has no accessible interface"
    return found


def label_relations(widget: QWidget) -> list[str]:
    """The words of every label related to `widget` ("labelled by"), as assistive technology reads them."""
    found = interface(widget).relations(QAccessible.RelationFlag.Label)
    return [plain(label.text(NAME)) for label, _relation in found]


def spoken_name(widget: QWidget) -> str:
    """What a screen reader says a control is: its name, or for a combo box its accessible name."""
    if isinstance(widget, QComboBox):
        return plain(widget.accessibleName())
    return plain(interface(widget).text(NAME))


def describe(widget: QWidget) -> str:
    """A widget in a failure message: its class, object name and what it shows (no record data is shown
    by the widgets this names: controls, labels of forms and status lines over fictitious data)."""
    shows = ""
    if isinstance(widget, QLabel | QAbstractButton):
        shows = plain(widget.text())
    return f"{type(widget).__name__}({widget.objectName() or '-'}, {shows!r})"


def _internal(widget: QWidget, root: QWidget) -> bool:
    """Qt's own parts (scroll bar containers, a combo box's list, a spin box's line edit, a tab widget
    whose focus goes to its tab bar) and widgets in other windows (pop-ups)."""
    parent = widget.parentWidget()
    return (
        (widget.objectName().startswith("qt_") and not isinstance(widget, QTabBar))
        or widget.window() is not root.window()
        or isinstance(parent, QAbstractSpinBox | QComboBox | QAbstractItemView)
        or widget.focusProxy() is not None
    )


def _focusable(widget: QWidget) -> bool:
    return bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus) or isinstance(widget, QAbstractButton)


def _control_problems(widget: QWidget) -> list[str]:
    name = spoken_name(widget)
    if not name:
        return [f"{describe(widget)}: reachable by Tab but has no accessible name"]
    if isinstance(widget, QAbstractButton) and widget.text():
        shown = plain(widget.text())
        if shown.lower() not in name.lower():
            return [f"{describe(widget)}: named {name!r}, which does not contain what it shows"]
    return []


def _label_problems(label: QLabel) -> list[str]:
    shown = plain(label.text())
    if not shown:
        return []
    accessible = interface(label)
    name = plain(accessible.text(NAME))
    if isinstance(label, StatusMessage):
        if name != shown:
            return [f"{describe(label)}: a status message named {name!r}, not what it shows"]
        return []
    if not re.search(r"\w", shown):
        return []  # a symbol drawn beside a named thing (the warning's "!")
    said = f"{name} {plain(accessible.text(DESCRIPTION))}".lower()
    if shown.lower() not in said:
        return [f"{describe(label)}: a screen reader hears {name!r}, not what it shows"]
    return []


def _entry_problems(entry: QWidget) -> list[str]:
    labels = label_relations(entry)
    if not labels:
        return [f"{describe(entry)} named {spoken_name(entry)!r}: no label is related to it (setBuddy)"]
    name = spoken_name(entry)
    if name not in labels:
        return [f"{describe(entry)}: named {name!r} but its label says {labels}"]
    return []


def screen_reader_problems(root: QWidget) -> list[str]:
    """Everything under `root` (shown) that a screen reader user would meet unnamed or mislabelled."""
    found: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible() or _internal(widget, root):
            continue
        if _focusable(widget):
            found += _control_problems(widget)
        if isinstance(widget, QLabel):
            found += _label_problems(widget)
        if isinstance(widget, ENTRIES):
            found += _entry_problems(widget)
    return found


def status_messages(root: QWidget) -> list[StatusMessage]:
    """The status messages shown under `root`."""
    return [each for each in root.findChildren(StatusMessage) if each.isVisible() and each.text()]
