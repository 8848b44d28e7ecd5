"""`AlertsPage`: the queue of unusual activity with its evidence; dismiss with a justification or open
an incident. The national team sees every authority's queue, read only."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QPushButton, QWidget

from cpclient.api.oversight_models import Alert
from cpclient.security.lockdown import mark_record_data
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.labels import RULES, SEVERITIES, evidence_text, format_time, label, sort_time
from cpclient.ui.oversight.notification import incident_opened_text
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.oversight.text_prompt import TextPromptDialog, incident_prompt
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage

CMT_INTRO = (
    "Unusual activity noticed by ContactPoint, newest first. Look at the evidence, then either dismiss "
    "the alert with a justification or open an incident."
)
NATIONAL_INTRO = (
    "Open alerts in every authority, to read. Each authority's management team deals with its own."
)
NO_ALERTS = "There are no open alerts."
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def alert_columns(national: bool) -> list[Column[Alert]]:
    """The columns of the alerts table."""
    columns: list[Column[Alert]] = [
        Column("Raised", lambda a: format_time(a.raised_at), lambda a: sort_time(a.raised_at)),
        Column("Severity", lambda a: label(SEVERITIES, a.severity), lambda a: SEVERITY_ORDER[a.severity]),
        Column("What was noticed", lambda a: label(RULES, a.rule)),
        Column("User", lambda a: f"{a.user_display_name} ({a.username})"),
    ]
    if national:
        columns.append(Column("Local authority", lambda a: a.local_authority or "National"))
    columns += [
        Column("Suspended automatically", lambda a: "Yes" if a.auto_suspended else "No"),
        Column("Summary", lambda a: a.summary),
    ]
    return columns


class AlertDetail(QFrame):
    """The selected alert: its summary and evidence."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Selected alert")
        self.heading = Heading("", 3, self)
        self.form = QFormLayout(self)
        self.form.addRow(self.heading)
        self.values: dict[str, QLabel] = {}
        for name in ("User", "Severity", "Summary", "Evidence"):
            value = QLabel(self)
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setAccessibleName(name)
            self.form.addRow(QLabel(name, self), value)
            self.values[name] = value

    def show_alert(self, alert: Alert | None) -> None:
        """Show `alert` (or nothing)."""
        self.heading.set_heading(f"Alert {alert.id}: {label(RULES, alert.rule)}" if alert else "")
        texts = {
            "User": f"{alert.user_display_name} ({alert.username})" if alert else "",
            "Severity": label(SEVERITIES, alert.severity)
            + (": the account was suspended automatically" if alert.auto_suspended else "")
            if alert
            else "",
            "Summary": alert.summary if alert else "",
            "Evidence": evidence_text(alert.evidence) if alert else "",
        }
        for name, text in texts.items():
            self.values[name].setText(text)
            self.values[name].setAccessibleDescription(text)
        self.setVisible(alert is not None)


class AlertsPage(OversightPage):
    """The alerts queue and, for the management team, its two actions."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Alerts", NATIONAL_INTRO if context.national else CMT_INTRO, context, parent)
        self.model: RowsModel[Alert] = RowsModel(alert_columns(context.national), self)
        self.table = RowsTable(self.model, "Alerts", self)
        self.table.current_changed.connect(self._selected)
        self.detail = AlertDetail(self)
        self.queue_state = StatusMessage(self)
        self.body.addWidget(self.queue_state)
        self.body.addWidget(self.table, 2)
        self.body.addWidget(self.detail, 1)
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the alerts again")
        self.dismiss_button: QPushButton | None = None
        self.incident_button: QPushButton | None = None
        if context.acts:
            self.dismiss_button = self.button(
                "&Dismiss…", self.dismiss, "Dismiss the selected alert with a justification"
            )
            self.incident_button = self.button(
                "Open &incident…",
                self.open_incident,
                "Suspend the user, tell their manager and start an investigation",
            )
            self.body.addLayout(
                self.button_row(self.dismiss_button, self.incident_button, self.refresh_button)
            )
        else:
            self.body.addLayout(self.button_row(self.refresh_button))
        # Evidence names children's ContactPoint IDs.
        mark_record_data(self.table)
        mark_record_data(self.detail)
        self._selected()

    async def load(self) -> None:
        alerts = await self.fetch(self.context.client.alerts)
        if alerts is None:
            return
        self.show_alerts(alerts)

    def show_alerts(self, alerts: list[Alert]) -> None:
        """Show the queue, keeping the selected alert selected if it is still open."""
        chosen = self.table.current_item()
        self.model.set_rows(alerts)
        if chosen is None or not self.table.select_where(lambda a: a.id == chosen.id):
            self.table.select_first()
        count = len(alerts)
        self.queue_state.setText(
            NO_ALERTS if count == 0 else f"{count} open alert{'s' if count > 1 else ''}."
        )
        self._selected()

    def forget(self) -> None:
        self.model.clear()
        self.queue_state.clear()
        self._selected()

    def _selected(self) -> None:
        alert = self.table.current_item()
        self.detail.show_alert(alert)
        for button in (self.dismiss_button, self.incident_button):
            if button is not None:
                button.setEnabled(alert is not None)

    def dismiss(self) -> None:
        """Dismiss the selected alert with a justification."""
        alert = self.table.current_item()
        if alert is None:
            return
        dialog = TextPromptDialog(
            "Dismiss an alert",
            f"Dismiss alert {alert.id} about {alert.user_display_name}?",
            f"{label(RULES, alert.rule)}. Say why this is not misuse; the justification is kept with "
            "the alert and counted in the yearly figures.",
            "&Dismiss alert",
            self.context.mode,
            self,
            text_label="&Justification",
            field_name="justification",
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.dismiss_alert, alert.id, dialog.value()),
            lambda done: self._handled(f"Alert {done.id} dismissed."),
        )

    def _handled(self, text: str) -> None:
        self.say(text)
        self.start(self.load())

    def open_incident(self) -> None:
        """Turn the selected alert into an incident."""
        alert = self.table.current_item()
        if alert is None:
            return
        dialog = incident_prompt(alert.user_display_name, self.context.mode, self)
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.incident_from_alert, alert.id, dialog.value()),
            lambda incident: self._handled(incident_opened_text(incident)),
        )
