"""`ShieldOverrideDialog`: the warning before someone who may override shielding sees a shielded record.

It says plainly what overriding does (an investigation, an alert to the management team at once, the
account suspended until the investigation ends) and asks the person to tick that they understand.
Cancel is the default, so Enter never overrides by accident; Cancel, Escape or closing the dialog
overrides nothing. Confirming only leads on to the reason: the record is not fetched here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.ui.client_mode import ClientMode
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.warning_text import WarningText
from cpclient.ui.training_banner import add_training_banner

OVERRIDE_DETAIL = (
    "This record is shielded because the child is at increased risk. Override only in an emergency, "
    "when you cannot wait for the management team to arrange contact for you. You will be asked for "
    "your reason next; it is recorded in the audit trail with the override."
)
OVERRIDE_WARNING = (
    "Overriding the shielding starts an investigation into this access. The management team is "
    "alerted at once, and your account is suspended until the investigation ends: ContactPoint signs "
    "you out when you next use it after seeing the record."
)
ACKNOWLEDGEMENT = (
    "I &understand that overriding starts an investigation, alerts the management team at once and "
    "suspends my account"
)
NOT_ACKNOWLEDGED = "Tick the box to confirm you understand what overriding does"


class ShieldOverrideDialog(QDialog):
    """Warns what overriding a record's shielding does; accepted only with the acknowledgement ticked.

    Args:
        child_name: whose record would be overridden (record data: the caller marks `heading`).
        mode: live or training.
    """

    def __init__(self, child_name: str, mode: ClientMode, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shieldOverrideDialog")
        self.setWindowTitle(mode.title("Override shielding"))
        self.setModal(True)
        layout = QVBoxLayout(self)
        add_training_banner(layout, mode, self)
        self.heading = Heading(f"Override the shielding of {child_name}'s record?", 2, self)
        layout.addWidget(self.heading)
        self.detail = QLabel(OVERRIDE_DETAIL, self)
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName(OVERRIDE_DETAIL)
        layout.addWidget(self.detail)
        self.warning = WarningText(OVERRIDE_WARNING, self)
        layout.addWidget(self.warning)
        self.summary = ErrorSummary(self)
        layout.addWidget(self.summary)
        self.acknowledge = QCheckBox(ACKNOWLEDGEMENT, self)
        self.acknowledge.setAccessibleName(ACKNOWLEDGEMENT.replace("&", ""))
        layout.addWidget(self.acknowledge)

        buttons = QDialogButtonBox(self)
        self.confirm_button: QPushButton = buttons.addButton(
            "&Override shielding…", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.confirm_button.setAccessibleName("Override shielding")
        self.confirm_button.setAccessibleDescription("Continue to the reason for overriding")
        self.confirm_button.setAutoDefault(False)
        self.cancel_button: QPushButton = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        # What cannot be undone is never confirmed by Enter.
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self._accept_if_acknowledged)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)
        self.acknowledge.setFocus(Qt.FocusReason.OtherFocusReason)

    def _accept_if_acknowledged(self) -> None:
        if not self.acknowledge.isChecked():
            self.summary.show_problems([Problem(NOT_ACKNOWLEDGED, self.acknowledge)])
            return
        self.summary.clear()
        self.accept()
