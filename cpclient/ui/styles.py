"""Loads the few style sheets the client uses (from `cpclient.resources`) and applies them to one widget.

Everything else is drawn with the platform style and the palette, so the system font size and
high-contrast themes apply unchanged.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtWidgets import QWidget


@cache
def style_sheet(name: str) -> str:
    """The text of `cpclient/resources/<name>.qss`."""
    return resources.files("cpclient.resources").joinpath(f"{name}.qss").read_text(encoding="utf-8")


def apply_style(widget: QWidget, name: str) -> None:
    """Give `widget` (and its children) the style sheet `name`."""
    widget.setStyleSheet(style_sheet(name))


def scaled_font_size(widget: QWidget, factor: float) -> float:
    """The widget's font size times `factor`: headings grow with the user's chosen font size."""
    return widget.font().pointSizeF() * factor
