"""`InvolvementDialog`: a practitioner records their own involvement with a child.

The service types and the guidance on what counts (not clubs or everyday activities) come from the
server. A sensitive service (sexual health, mental health, substance misuse) needs the young
person's consent to be confirmed before it can be recorded.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.models import InvolvementDraft, ServiceType
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.date_entry import FORMAT_HINT, DateNotUnderstood, parse_date
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.training_banner import add_training_banner

SENSITIVE_NOTE = (
    "This is a sensitive service. It is recorded only with the young person's consent, and only you "
    "and the management team will see it."
)


class InvolvementDialog(QDialog):
    """Asks for the details of the practitioner's own involvement.

    Args:
        service_types: the server's service types.
        guidance: the server's guidance on what counts as an involvement.
        child_name: whose record this is.
        mode: live or training.
    """

    def __init__(
        self,
        service_types: list[ServiceType],
        guidance: str,
        child_name: str,
        mode: ClientMode,
        parent: QWidget | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("involvementDialog")
        self.setWindowTitle(mode.title("Record my involvement"))
        self.setModal(True)
        self._types = list(service_types)
        self._today = today or dt.date.today()

        layout = QVBoxLayout(self)
        add_training_banner(layout, mode, self)
        layout.addWidget(Heading(f"Record your involvement with {child_name}", 2, self))
        self.guidance = QLabel(guidance, self)
        self.guidance.setWordWrap(True)
        self.guidance.setAccessibleName(guidance)
        layout.addWidget(self.guidance)
        self.summary = ErrorSummary(self)
        layout.addWidget(self.summary)

        self.service = QComboBox(self)
        self.service.setAccessibleName("Service type")
        self.service.setPlaceholderText("Choose the service you provide")
        for service in self._types:
            label = service.label + (" (sensitive: needs consent)" if service.sensitive else "")
            self.service.addItem(label, service.code)
        self.service.setCurrentIndex(-1)
        self.service.currentIndexChanged.connect(self._update)
        self.sensitive_note = QLabel(SENSITIVE_NOTE, self)
        self.sensitive_note.setWordWrap(True)
        self.sensitive_note.setAccessibleName(SENSITIVE_NOTE)
        self.consent = QCheckBox("The young person has &consented to this service being recorded", self)
        self.consent.setAccessibleName("The young person has consented to this service being recorded")
        self.consent.toggled.connect(self._update)
        self.started_on = QLineEdit(self)
        self.started_on.setAccessibleName("Start date")
        self.started_on.setAccessibleDescription(f"Write the date as {FORMAT_HINT}; leave empty for today")
        self.started_on.setPlaceholderText(f"{FORMAT_HINT} (empty for today)")
        self.started_on.setMaxLength(10)
        self.lead = QCheckBox("I am the &lead professional for this child", self)
        self.lead.setAccessibleName("I am the lead professional for this child")
        self.assessment = QCheckBox("A common &assessment (CAF) has been completed", self)
        self.assessment.setAccessibleName("A common assessment (CAF) has been completed")
        self.assessment.setAccessibleDescription(
            "Only the fact is recorded; the assessment itself is never stored"
        )

        form = QFormLayout()
        service_label = QLabel("&Service type", self)
        service_label.setBuddy(self.service)
        start_label = QLabel("S&tart date", self)
        start_label.setBuddy(self.started_on)
        form.addRow(service_label, self.service)
        form.addRow("", self.sensitive_note)
        form.addRow("", self.consent)
        form.addRow(start_label, self.started_on)
        form.addRow("", self.lead)
        form.addRow("", self.assessment)
        layout.addLayout(form)

        self.button_box = QDialogButtonBox(self)
        self.ok_button: QPushButton = self.button_box.addButton(
            "&Record involvement", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setAccessibleName("Record involvement")
        self.ok_button.setDefault(True)
        cancel = self.button_box.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.button_box.accepted.connect(self._accept_if_valid)
        self.button_box.rejected.connect(self.reject)
        layout.addWidget(self.button_box)
        self._draft: InvolvementDraft | None = None
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)
        self._update()
        self.service.setFocus(Qt.FocusReason.OtherFocusReason)

    def chosen(self) -> ServiceType | None:
        """The service type chosen, or None."""
        index = self.service.currentIndex()
        return self._types[index] if 0 <= index < len(self._types) else None

    def _update(self) -> None:
        service = self.chosen()
        sensitive = service is not None and service.sensitive
        self.sensitive_note.setVisible(sensitive)
        self.consent.setVisible(sensitive)
        if not sensitive:
            self.consent.setChecked(False)
        self.ok_button.setEnabled(service is not None and (not sensitive or self.consent.isChecked()))

    def draft(self) -> InvolvementDraft | None:
        """The involvement to record, once the dialog was accepted."""
        return self._draft

    def _accept_if_valid(self) -> None:
        service = self.chosen()
        problems: list[Problem] = []
        started: dt.date | None = None
        if service is None:
            problems.append(Problem("Choose the service you provide", self.service))
        elif service.sensitive and not self.consent.isChecked():
            problems.append(Problem("Confirm that the young person has consented", self.consent))
        try:
            started = parse_date(self.started_on.text())
        except DateNotUnderstood:
            problems.append(Problem("Enter the start date as a real date, like 31/03/2009", self.started_on))
        if started is not None and started > self._today:
            problems.append(Problem("The start date cannot be in the future", self.started_on))
        if problems or service is None:
            self.summary.show_problems(problems)
            return
        self._draft = InvolvementDraft(
            service_type=service.code,
            started_on=started,
            lead_professional=self.lead.isChecked(),
            assessment_completed=self.assessment.isChecked(),
            consent_recorded=service.sensitive and self.consent.isChecked(),
        )
        self.accept()
