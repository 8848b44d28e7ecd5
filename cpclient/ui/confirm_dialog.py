"""`ConfirmDialog`: a yes/no question in a dialog that carries the training banner in training mode."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from cpclient.ui.client_mode import ClientMode
from cpclient.ui.heading import Heading
from cpclient.ui.training_banner import add_training_banner


class ConfirmDialog(QDialog):
    """Asks `question`; Cancel is the default, so Enter never confirms by accident.

    Args:
        title: what the dialog is about (the window title adds the application and mode).
        question: the question, as a heading.
        detail: what will happen.
        confirm_text: the confirming button's text (with its mnemonic).
        mode: live or training.
    """

    def __init__(
        self,
        title: str,
        question: str,
        detail: str,
        confirm_text: str,
        mode: ClientMode,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(mode.title(title))
        self.setModal(True)
        layout = QVBoxLayout(self)
        add_training_banner(layout, mode, self)
        layout.addWidget(Heading(question, 2, self))
        text = QLabel(detail, self)
        text.setWordWrap(True)
        text.setAccessibleName(detail)
        layout.addWidget(text)
        buttons = QDialogButtonBox(self)
        self.confirm_button: QPushButton = buttons.addButton(
            confirm_text, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.confirm_button.setAccessibleName(confirm_text.replace("&", ""))
        self.confirm_button.setAutoDefault(False)
        self.cancel_button: QPushButton = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.cancel_button.setFocus()
