"""`IncidentsPage`: the authority's incidents (for the national team, the national register) and one
incident's detail — notes, manager notification, national report — moved open → investigating → closed."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QPushButton, QWidget

from cpclient.api.errors import ApiError
from cpclient.api.oversight_models import Incident
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.close_incident_dialog import CloseIncidentDialog
from cpclient.ui.oversight.labels import INCIDENT_STATUSES, OUTCOMES, format_time, label, sort_time
from cpclient.ui.oversight.notification import manager_notification_text, national_report_text
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.oversight.text_prompt import TextPromptDialog
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage

CMT_INTRO = (
    "Investigations into the use of ContactPoint by your authority's users. Opening one suspended the "
    "user, told their manager and reported it to the national team."
)
NATIONAL_INTRO = (
    "Every incident reported by the authorities, to read. Each management team investigates its own."
)
STATUS_ORDER = {"open": 0, "investigating": 1, "closed": 2}
NOTE_HINT = "Notes are about the investigation, never about a child."


def incident_columns(national: bool) -> list[Column[Incident]]:
    """The columns of the incidents table."""
    columns: list[Column[Incident]] = [
        Column("Number", lambda i: str(i.id), lambda i: i.id),
        Column("Opened", lambda i: format_time(i.opened_at), lambda i: sort_time(i.opened_at)),
        Column("User", lambda i: f"{i.user_display_name} ({i.username})"),
    ]
    if national:
        columns.append(Column("Local authority", lambda i: i.local_authority or "National"))
    columns += [
        Column(
            "Status",
            lambda i: label(INCIDENT_STATUSES, i.status),
            lambda i: STATUS_ORDER.get(i.status, 3),
        ),
        Column("Outcome", lambda i: label(OUTCOMES, i.outcome)),
        Column("Manager told", lambda i: "Yes" if i.manager_notification == "sent" else "No"),
        Column("Reported nationally", lambda i: format_time(i.reported_nationally_at) or "No"),
    ]
    return columns


class IncidentDetail(QFrame):
    """One incident: what it is about, where it stands, and its notes."""

    ROWS = ("User", "Summary", "Opened", "Status", "Outcome", "Manager", "National report", "Notes")

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Selected incident")
        self.heading = Heading("", 3, self)
        form = QFormLayout(self)
        form.addRow(self.heading)
        self.values: dict[str, QLabel] = {}
        for name in self.ROWS:
            value = QLabel(self)
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setAccessibleName(name)
            form.addRow(QLabel(name, self), value)
            self.values[name] = value

    def show_incident(self, incident: Incident | None) -> None:
        """Show `incident` (or nothing)."""
        self.setVisible(incident is not None)
        if incident is None:
            self.heading.set_heading("")
            for value in self.values.values():
                value.clear()
            return
        self.heading.set_heading(f"Incident {incident.id}")
        status = label(INCIDENT_STATUSES, incident.status)
        if incident.closed_at is not None:
            status += f" on {format_time(incident.closed_at)}"
        notes = "\n".join(
            f"{format_time(note.written_at)}, {note.author}: {note.text}" for note in incident.notes
        )
        texts = {
            "User": f"{incident.user_display_name} ({incident.username})",
            "Summary": incident.summary,
            "Opened": f"{format_time(incident.opened_at)} by {incident.opened_by}",
            "Status": status,
            "Outcome": label(OUTCOMES, incident.outcome) or "Not decided yet",
            "Manager": manager_notification_text(incident),
            "National report": national_report_text(incident),
            "Notes": notes or "No notes yet.",
        }
        for name, text in texts.items():
            self.values[name].setText(text)
            self.values[name].setAccessibleDescription(text)


class IncidentsPage(OversightPage):
    """The incidents and, for the management team, notes and status changes."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        title = "National incident register" if context.national else "Incidents"
        super().__init__(title, NATIONAL_INTRO if context.national else CMT_INTRO, context, parent)
        self.model: RowsModel[Incident] = RowsModel(incident_columns(context.national), self)
        self.table = RowsTable(self.model, title, self)
        self.table.current_changed.connect(self._selected)
        self.detail = IncidentDetail(self)
        self.list_state = StatusMessage(self)
        self.body.addWidget(self.list_state)
        self.body.addWidget(self.table, 2)
        self.body.addWidget(self.detail, 1)
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the incidents again")
        self.note_button: QPushButton | None = None
        self.investigate_button: QPushButton | None = None
        self.close_button: QPushButton | None = None
        if context.acts:
            self.note_button = self.button("Add &note…", self.add_note, "Add a note to the investigation")
            self.investigate_button = self.button(
                "Start &investigating", self.start_investigating, "Move the incident to investigating"
            )
            self.close_button = self.button(
                "&Close with outcome…", self.close_incident, "Close the investigation with its outcome"
            )
            self.body.addLayout(
                self.button_row(
                    self.note_button, self.investigate_button, self.close_button, self.refresh_button
                )
            )
        else:
            self.body.addLayout(self.button_row(self.refresh_button))
        self._selected()

    async def load(self) -> None:
        incidents = await self.fetch(self.context.client.incidents)
        if incidents is not None:
            self.show_incidents(incidents)

    def show_incidents(self, incidents: list[Incident], select: int | None = None) -> None:
        """Show the incidents, selecting incident `select` (or the one selected before)."""
        chosen = self.table.current_item()
        wanted = select if select is not None else (chosen.id if chosen else None)
        self.model.set_rows(incidents)
        if wanted is None or not self.table.select_where(lambda i: i.id == wanted):
            self.table.select_first()
        open_count = sum(1 for each in incidents if each.status != "closed")
        self.list_state.setText(
            "There are no incidents."
            if not incidents
            else f"{len(incidents)} incidents, {open_count} not yet closed."
            if len(incidents) > 1
            else f"1 incident, {open_count} not yet closed."
        )
        self._selected()

    def forget(self) -> None:
        self.model.clear()
        self.list_state.clear()
        self._selected()

    def _selected(self) -> None:
        incident = self.table.current_item()
        self.detail.show_incident(incident)
        status = incident.status if incident else None
        for button, enabled in (
            (self.note_button, incident is not None),
            (self.investigate_button, status == "open"),
            (self.close_button, status in ("open", "investigating")),
        ):
            if button is not None:
                button.setEnabled(enabled)

    def _replace(self, updated: Incident, text: str) -> None:
        rows = [updated if each.id == updated.id else each for each in self.model.rows]
        self.show_incidents(rows, select=updated.id)
        self.say(text)

    # --- actions ---------------------------------------------------------------------------------

    def add_note(self) -> None:
        """Add a note about the investigation."""
        incident = self.table.current_item()
        if incident is None:
            return
        dialog = TextPromptDialog(
            "Add a note",
            f"Add a note to incident {incident.id}",
            "",
            "Add &note",
            self.context.mode,
            self,
            text_label="&Note",
            field_name="text",
            hint=NOTE_HINT,
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.add_note, incident.id, dialog.value()),
            lambda updated: self._replace(updated, f"Note added to incident {updated.id}."),
        )

    def start_investigating(self) -> None:
        """Move the selected incident from open to investigating."""
        incident = self.table.current_item()
        if incident is not None and not self.busy:
            self.start(self._investigate(incident))

    async def _investigate(self, incident: Incident) -> None:
        self.summary.clear()
        call = partial(self.context.client.update_incident, incident.id, "investigating")
        try:
            updated: Incident = await self.context.calls.run(call)
        except ApiError as error:
            self.show_error(error)
            return
        self._replace(updated, f"Incident {updated.id} is being investigated.")

    def close_incident(self) -> None:
        """Close the selected incident with an outcome."""
        incident = self.table.current_item()
        if incident is None:
            return
        dialog = CloseIncidentDialog(incident, self.context.mode, self)
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.update_incident, incident.id, "closed", dialog.outcome()),
            lambda updated: self._replace(
                updated, f"Incident {updated.id} closed: {label(OUTCOMES, updated.outcome)}."
            ),
        )
