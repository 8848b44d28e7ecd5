"""`ReasonDialog`: the person states why they are opening a record, from the server's list, before it opens.

No reason is preselected and "Open record" stays disabled until one is chosen; a reason that needs
an explanation ("Other") also needs at least the server's minimum length of text. Cancel (or
Escape, or closing the window) opens nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.models import Reason, StatedReason
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.heading import Heading
from cpclient.ui.status_message import TYPING_PAUSE_MS, StatusMessage
from cpclient.ui.training_banner import add_training_banner

AUDIT_NOTE = (
    "Your reason is recorded in the audit trail with your name, this workstation and the time. "
    "Open a record only when you need it for your work with this child."
)
MAX_EXPLANATION = 500


class ReasonDialog(QDialog):
    """Asks for the reason for opening one child's record.

    Args:
        reasons: the server's reasons (from `GET /meta`).
        min_text_length: the shortest explanation the server accepts for a reason that needs one.
        child_name: whose record is being opened (shown in the question).
        mode: live or training.
        question: the question, when it is not the usual one (overriding shielding asks its own).
        confirm_text: the confirming button's text (with its mnemonic).
        enter_confirms: False when confirming cannot be undone (an override): Enter then cancels.
    """

    def __init__(
        self,
        reasons: list[Reason],
        min_text_length: int,
        child_name: str,
        mode: ClientMode,
        parent: QWidget | None = None,
        *,
        question: str = "",
        confirm_text: str = "&Open record",
        enter_confirms: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reasonDialog")
        self.setWindowTitle(mode.title("Reason for opening a record"))
        self.setModal(True)
        self._reasons = list(reasons)
        self._min_text = max(1, min_text_length)
        self._focus_shown = False

        layout = QVBoxLayout(self)
        add_training_banner(layout, mode, self)
        self.heading = Heading(question or f"Why are you opening the record of {child_name}?", 2, self)
        layout.addWidget(self.heading)
        note = QLabel(AUDIT_NOTE, self)
        note.setWordWrap(True)
        note.setAccessibleName(AUDIT_NOTE)
        layout.addWidget(note)

        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QRadioButton] = []
        for number, reason in enumerate(self._reasons):
            button = QRadioButton(reason.label, self)
            button.setAccessibleName(reason.label)
            button.setChecked(False)
            self.group.addButton(button, number)
            self.buttons.append(button)
            layout.addWidget(button)
        self.group.idToggled.connect(lambda *_: self._update())

        explain = f"Explain why you need this record (at least {self._min_text} characters)"
        self.explanation_label = QLabel(f"&{explain}", self)
        self.explanation_label.setWordWrap(True)
        self.explanation = QPlainTextEdit(self)
        self.explanation.setAccessibleName(explain)
        self.explanation.setTabChangesFocus(True)
        self.explanation.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.explanation.setMaximumHeight(self.explanation.fontMetrics().lineSpacing() * 5)
        self.explanation.textChanged.connect(self._update)
        self.explanation_label.setBuddy(self.explanation)
        self.count = StatusMessage(self, settle_ms=TYPING_PAUSE_MS)
        layout.addWidget(self.explanation_label)
        layout.addWidget(self.explanation)
        layout.addWidget(self.count)

        self.button_box = QDialogButtonBox(self)
        self.ok_button: QPushButton = self.button_box.addButton(
            confirm_text, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setAccessibleName(confirm_text.replace("&", ""))
        self.cancel_button: QPushButton = self.button_box.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        if enter_confirms:
            self.ok_button.setDefault(True)
        else:
            self.ok_button.setAutoDefault(False)
            self.cancel_button.setDefault(True)
        self.button_box.accepted.connect(self._accept_if_valid)
        self.button_box.rejected.connect(self.reject)
        layout.addWidget(self.button_box)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)
        self._update()
        if self.buttons:
            self.buttons[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.WindowActivate and not self._focus_shown:
            # Draw the focus frame from the start, even when the dialog was opened with the mouse (Qt
            # draws it only once the keyboard has moved focus), so the person sees where they are.
            self._focus_shown = True
            focused = self.focusWidget()
            if focused is not None:
                focused.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return super().event(event)

    def chosen(self) -> Reason | None:
        """The reason chosen, or None."""
        number = self.group.checkedId()
        return self._reasons[number] if 0 <= number < len(self._reasons) else None

    def _explanation_text(self) -> str:
        return " ".join(self.explanation.toPlainText().split())

    def is_complete(self) -> bool:
        """True when a reason is chosen and, if it needs one, the explanation is long enough."""
        reason = self.chosen()
        if reason is None:
            return False
        if reason.needs_text:
            return self._min_text <= len(self._explanation_text()) <= MAX_EXPLANATION
        return True

    def stated_reason(self) -> StatedReason | None:
        """What the person stated, or None when the dialog is not complete."""
        reason = self.chosen()
        if reason is None or not self.is_complete():
            return None
        return StatedReason(reason.code, self._explanation_text() if reason.needs_text else None)

    def _update(self) -> None:
        reason = self.chosen()
        needs_text = reason is not None and reason.needs_text
        self.explanation.setEnabled(needs_text)
        self.explanation_label.setEnabled(needs_text)
        typed = len(self._explanation_text())
        if needs_text:
            if typed < self._min_text:
                self.count.setText(f"{typed} characters: at least {self._min_text - typed} more needed")
            elif typed > MAX_EXPLANATION:
                self.count.setText(f"{typed} characters: {typed - MAX_EXPLANATION} too many")
            else:
                self.count.setText(f"{typed} characters")
        else:
            self.count.setText("")
        self.ok_button.setEnabled(self.is_complete())

    def _accept_if_valid(self) -> None:
        if self.is_complete():
            self.accept()
