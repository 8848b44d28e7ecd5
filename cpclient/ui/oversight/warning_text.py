"""`WarningText`: the GOV.UK warning (a "!" in a circle, then bold text) for what cannot be undone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

# Inline rather than a resource: two rules, and they keep the palette's text colour for high contrast.
STYLE = """
QLabel#warningIcon {
    border: 3px solid palette(window-text);
    border-radius: 14px;
    min-width: 22px; max-width: 22px; min-height: 22px; max-height: 22px;
    font-weight: bold;
    qproperty-alignment: AlignCenter;
}
QLabel#warningBody { font-weight: bold; }
"""


class WarningText(QFrame):
    """A warning the reader must not miss; screen readers hear "Warning:" first."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("warningText")
        self.icon = QLabel("!", self)
        self.icon.setObjectName("warningIcon")
        self.icon.setAccessibleName("Warning")
        self.body = QLabel(text, self)
        self.body.setObjectName("warningBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setAccessibleName(f"Warning: {text}")
        layout = QHBoxLayout(self)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.body, 1)
        self.setAccessibleName(f"Warning: {text}")
        self.setStyleSheet(STYLE)

    def set_text(self, text: str) -> None:
        """Change the warning."""
        self.body.setText(text)
        self.body.setAccessibleName(f"Warning: {text}")
        self.setAccessibleName(f"Warning: {text}")
