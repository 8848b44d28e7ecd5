"""One-line fields as every form in the client makes them: `line_edit` and `date_edit`.

A field has a length limit and, where given, an accessible name and a placeholder; a date field shows
its format as placeholder and says it in its description; `on_enter` is what Enter in it does (submit).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLineEdit, QWidget

from cpclient.ui.date_entry import FORMAT_HINT

DATE_MAX_LENGTH = 10


def line_edit(
    parent: QWidget,
    max_length: int,
    placeholder: str = "",
    *,
    name: str = "",
    on_enter: Callable[[], object] | None = None,
) -> QLineEdit:
    """A one-line text field."""
    field = QLineEdit(parent)
    field.setMaxLength(max_length)
    if name:
        field.setAccessibleName(name)
    if placeholder:
        field.setPlaceholderText(placeholder)
    if on_enter is not None:
        field.returnPressed.connect(on_enter)
    return field


def date_edit(parent: QWidget, *, name: str = "", on_enter: Callable[[], object] | None = None) -> QLineEdit:
    """A field for a date typed day first (its format is the placeholder and the description)."""
    field = line_edit(parent, DATE_MAX_LENGTH, FORMAT_HINT, name=name, on_enter=on_enter)
    field.setAccessibleDescription(f"Write the date as {FORMAT_HINT}")
    return field
