"""Small pieces of screen layout the pages share: a left-aligned row of controls and a tab order."""

from __future__ import annotations

import itertools

from PySide6.QtWidgets import QHBoxLayout, QWidget


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
