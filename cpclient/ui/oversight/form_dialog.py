"""`FormDialog`: a management form in a dialog that stays open until the server has accepted it.

Like the reason dialog, the confirming button stays disabled until the form is complete, and one line
above it says what is still needed (the first of `problems()`), updated as the person types. A
complete form emits `submitted`, and the page that opened the dialog sends it. While the call runs
the dialog is busy; a refusal comes back through `refused` and is shown in the GOV.UK-style error
summary, linked to the field the server names; success closes the dialog with `accept()`. Cancel
and Escape send nothing. Every dialog carries the training banner in training mode.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.errors import ApiError
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.warning_text import WarningText
from cpclient.ui.status_message import TYPING_PAUSE_MS, StatusMessage
from cpclient.ui.training_banner import add_training_banner

SENDING = "Sending…"


class FormDialog(QDialog):
    """The frame of a management form: heading, explanation, warning, error summary, fields, buttons.

    Subclasses add rows to `form` and implement `problems()`; `fields` maps the server's field names
    to widgets so a refusal can be linked to its field.

    Args:
        title: what the dialog is about (the window title adds the application and mode).
        heading: the question or instruction, as a heading.
        detail: what will happen (may be empty).
        confirm_text: the confirming button's text (with its mnemonic).
        mode: live or training.
        warning: a warning shown in bold beside a "!" (may be empty).

    Signals:
        submitted(): the form is complete; the page should send it.
    """

    submitted = Signal()

    def __init__(
        self,
        title: str,
        heading: str,
        detail: str,
        confirm_text: str,
        mode: ClientMode,
        parent: QWidget | None = None,
        *,
        warning: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(mode.title(title))
        self.setModal(True)
        self.fields: dict[str, QWidget] = {}
        self._busy = False
        self.outer = QVBoxLayout(self)
        add_training_banner(self.outer, mode, self)
        self.heading = Heading(heading, 2, self)
        self.outer.addWidget(self.heading)
        if detail:
            self.detail = QLabel(detail, self)
            self.detail.setWordWrap(True)
            self.detail.setAccessibleName(detail)
            self.outer.addWidget(self.detail)
        self.warning: WarningText | None = None
        if warning:
            self.warning = WarningText(warning, self)
            self.outer.addWidget(self.warning)
        self.summary = ErrorSummary(self)
        self.outer.addWidget(self.summary)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.outer.addLayout(self.form)
        # Says what is still needed as the person types: announced once typing pauses.
        self.needed = StatusMessage(self, settle_ms=TYPING_PAUSE_MS)
        self.needed.setObjectName("stillNeeded")
        self.outer.addWidget(self.needed)
        self.progress = StatusMessage(self)
        self.outer.addWidget(self.progress)
        self._watching = False
        self.buttons = QDialogButtonBox(self)
        self.confirm_button: QPushButton = self.buttons.addButton(
            confirm_text, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.confirm_button.setAccessibleName(confirm_text.replace("&", ""))
        self.confirm_button.setAutoDefault(False)
        self.cancel_button: QPushButton = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.outer.addWidget(self.buttons)
        if warning:
            # What cannot be undone is never confirmed by Enter.
            self.cancel_button.setDefault(True)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)

    def add_row(self, text: str, field: QWidget, name: str = "", hint: str = "") -> None:
        """Add a labelled field (`text` may carry a mnemonic); `name` is the server's name for it.

        The field's accessible name is its label's words, and the label stays beside it (same parent), so
        Qt relates the two for screen readers; the hint goes under the field and into its description.
        """
        caption = QLabel(text, self)
        caption.setBuddy(field)
        caption.setWordWrap(True)
        field.setAccessibleName(text.replace("&", ""))
        self.form.addRow(caption, field)
        if hint:
            note = QLabel(hint, self)
            note.setWordWrap(True)
            self.form.addRow("", note)
            if not field.accessibleDescription():
                field.setAccessibleDescription(hint)
        if name:
            self.fields[name] = field

    def problems(self) -> list[Problem]:
        """What stops the form being sent (subclasses check their fields)."""
        return []

    @property
    def busy(self) -> bool:
        """True while the page is sending the form."""
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """Disable the confirming button while the form is being sent."""
        self._busy = busy
        self.progress.setText(SENDING if busy else "")
        self.update_confirm()

    def update_confirm(self) -> None:
        """Enable the confirming button only for a complete form; say what is still needed."""
        problems = [] if self._busy else self.problems()
        self.confirm_button.setEnabled(not self._busy and not problems)
        self.needed.setVisible(bool(problems))  # on screen first, so that the change is announced
        self.needed.setText(problems[0].message if problems else "")

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        if not self._watching:
            # Every field of every form, whatever the subclass added: a change re-checks the form.
            self._watching = True
            for field in self.findChildren(QLineEdit):
                field.textChanged.connect(self.update_confirm)
            for text in self.findChildren(QPlainTextEdit):
                text.textChanged.connect(self.update_confirm)
            for choice in self.findChildren(QComboBox):
                choice.currentIndexChanged.connect(self.update_confirm)
            for button in self.findChildren(QAbstractButton):
                if button.isCheckable():
                    button.toggled.connect(self.update_confirm)
        self.update_confirm()
        super().showEvent(event)

    def refused(self, error: ApiError) -> None:
        """Show the server's refusal, linked to its field when the server names one."""
        self.set_busy(False)
        field = self.fields.get(error.field or "")
        self.summary.show_problems([Problem(error.message, field)])

    def _submit(self) -> None:
        if self._busy:
            return
        problems = self.problems()
        if problems:
            self.summary.show_problems(problems)
            return
        self.summary.clear()
        self.submitted.emit()

    def focus_first(self, widget: QWidget) -> None:
        """Start with the cursor in `widget`."""
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
