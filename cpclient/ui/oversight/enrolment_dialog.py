"""`EnrolmentDialog`: a new account's first password and authenticator secret, shown once to hand over.

The secrets are never stored: they live only in this dialog's labels, which are wiped when it closes.
The dialog is record data (no copying, dragging or context menu), so they cannot reach the clipboard.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.oversight_models import Enrolment
from cpclient.security.lockdown import mark_record_data
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.labels import PROBLEM_LABELS, label
from cpclient.ui.oversight.warning_text import WarningText
from cpclient.ui.training_banner import add_training_banner

HANDED_OVER = "I have &handed these over"


def grouped(secret: str, size: int = 4) -> str:
    """A secret in groups of `size` characters, easier to read aloud and type."""
    return " ".join(secret[start : start + size] for start in range(0, len(secret), size))


class EnrolmentDialog(QDialog):
    """Shows an `Enrolment` once.

    Args:
        enrolment: the new account and its one-time secrets.
        mode: live or training.
    """

    def __init__(self, enrolment: Enrolment, mode: ClientMode, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(mode.title("New account's first sign-in details"))
        self.setModal(True)
        user = enrolment.user
        layout = QVBoxLayout(self)
        add_training_banner(layout, mode, self)
        layout.addWidget(Heading(f"Account created for {user.display_name}", 2, self))
        self.warning = WarningText(
            f"Hand these to {user.display_name} in person. They are shown only this once: ContactPoint "
            "does not keep them and they cannot be shown again. Do not e-mail, write down or store them.",
            self,
        )
        layout.addWidget(self.warning)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for name, text in (
            ("Username", user.username),
            ("First password", enrolment.initial_password),
            ("Authenticator secret", grouped(enrolment.totp_secret)),
            ("Authenticator link", enrolment.totp_uri),
        ):
            value = QLabel(text, self)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setWordWrap(True)
            value.setFont(fixed)
            value.setAccessibleName(name)
            value.setAccessibleDescription(text)
            value.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            caption = QLabel(name, self)
            form.addRow(caption, value)
            self.values[name] = value
        layout.addLayout(form)
        missing = "; ".join(label(PROBLEM_LABELS, code) for code in user.problems)
        after = (
            "They cannot sign in until their accreditation is recorded"
            + (f" ({missing})." if missing else ".")
            + " They enter the authenticator secret in their authenticator app, then sign in with the "
            "first password and a one-time code."
        )
        self.after = QLabel(after, self)
        self.after.setWordWrap(True)
        self.after.setAccessibleName(after)
        layout.addWidget(self.after)
        buttons = QDialogButtonBox(self)
        self.done_button: QPushButton = buttons.addButton(HANDED_OVER, QDialogButtonBox.ButtonRole.AcceptRole)
        self.done_button.setAccessibleName(HANDED_OVER.replace("&", ""))
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)
        mark_record_data(self)
        self.finished.connect(lambda _result: self.wipe())
        self.done_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def wipe(self) -> None:
        """Blank every secret on screen (the dialog is closing)."""
        for value in self.values.values():
            value.clear()
            value.setAccessibleDescription("")
