"""`Heading`: a bold label sized relative to the user's font, with an accessible name."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

# Size of each heading level relative to the system font.
LEVEL_SCALE = {1: 1.5, 2: 1.25, 3: 1.1}


class Heading(QLabel):
    """A heading of `level` 1, 2 or 3."""

    def __init__(self, text: str, level: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        font = self.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * LEVEL_SCALE.get(level, 1.0))
        self.setFont(font)
        self.setWordWrap(True)
        self.setAccessibleName(text)

    def set_heading(self, text: str) -> None:
        """Change the text (and the accessible name with it)."""
        self.setText(text)
        self.setAccessibleName(text)
