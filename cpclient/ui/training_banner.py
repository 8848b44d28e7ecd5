"""`TrainingBanner`: the bold "TRAINING — fictitious data" strip at the top of every window and dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from cpclient.ui.client_mode import TRAINING_TEXT, ClientMode
from cpclient.ui.styles import apply_style


class TrainingBanner(QFrame):
    """The training banner; with `with_reset`, also a "Reset training data" button.

    Signals:
        reset_requested(): the trainer asked to restore the starting training data.
    """

    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, with_reset: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("trainingBanner")
        self.setAccessibleName(TRAINING_TEXT)
        layout = QHBoxLayout(self)
        self.label = QLabel(TRAINING_TEXT, self)
        self.label.setObjectName("trainingBannerText")
        self.label.setAccessibleName(TRAINING_TEXT)
        font = self.label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.label.setFont(font)
        layout.addWidget(self.label, 1, Qt.AlignmentFlag.AlignVCenter)
        self.reset_button: QPushButton | None = None
        if with_reset:
            # No Alt+letter: every letter of it belongs to a control on some page (Alt+R was also
            # "Shield record" and "Clear form"), and this one signs everybody out. Tab reaches it.
            self.reset_button = QPushButton("Reset training data", self)
            self.reset_button.setAccessibleName("Reset training data")
            self.reset_button.setToolTip("Restore the fictitious training data to its starting state")
            self.reset_button.clicked.connect(self.reset_requested)
            layout.addWidget(self.reset_button)
        apply_style(self, "training_banner")


def add_training_banner(layout: QBoxLayout, mode: ClientMode, parent: QWidget) -> TrainingBanner | None:
    """Put the training banner at the top of `layout` when in training mode."""
    if not mode.training:
        return None
    banner = TrainingBanner(parent)
    layout.insertWidget(0, banner)
    return banner
