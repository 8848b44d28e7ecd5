"""`AuditPage`: the audit trail filtered by user, child, dates, reason and action — on screen only.

Every row says who did what, when, to which child, for which reason, from which workstation, and
whether shielded details were shown. Looking at the trail is itself recorded by the server. The page
is record data (no copy, drag, print or export) and carries the watermark.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from cpclient.api.errors import ApiError
from cpclient.api.oversight_models import AuditFilters, AuditPage, AuditRow
from cpclient.security.lockdown import mark_record_data
from cpclient.security.redaction import register_sensitive
from cpclient.security.watermark import Watermark
from cpclient.ui.date_entry import DateNotUnderstood, parse_date
from cpclient.ui.error_summary import Problem
from cpclient.ui.layout import set_tab_order
from cpclient.ui.oversight.labels import AUDIT_ACTIONS, format_time, label, sort_time
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage
from cpclient.ui.text_field import date_edit, line_edit

INTRO = (
    "Who opened or changed what, when, why and from which workstation. Choose filters, then show the "
    "entries. On screen only: the audit trail cannot be printed, copied or exported, and looking at it "
    "is itself recorded."
)
ANY = "Any"
MORE = "More than 500 entries match: only the newest 500 are shown. Narrow the filters."


def shielded_text(row: AuditRow) -> str:
    """Whether the record was shielded and whether its details were shown."""
    if row.shielded_access:
        return "Shielded details shown"
    if row.shielded:
        return "Shielded (details withheld)"
    return ""


def audit_columns(reasons: dict[str, str]) -> list[Column[AuditRow]]:
    """The columns of the audit table."""
    return [
        Column("When", lambda r: format_time(r.occurred_at), lambda r: sort_time(r.occurred_at)),
        Column("User", lambda r: r.username),
        Column("Action", lambda r: label(AUDIT_ACTIONS, r.action)),
        Column("Outcome", lambda r: r.outcome.replace("_", " ")),
        Column("Child's ContactPoint ID", lambda r: r.cp_id or ""),
        Column("Child", lambda r: r.child_name or ""),
        Column("Reason", lambda r: reasons.get(r.reason_code or "", r.reason_code or "")),
        Column("Explanation", lambda r: r.reason_text or ""),
        Column("Workstation", lambda r: r.workstation),
        Column("Shielded", shielded_text),
    ]


class AuditReviewPage(OversightPage):
    """The filters, the entries and the "more than 500" notice."""

    load_on_show = False

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Audit trail", INTRO, context, parent)
        archive = [context.meta.archive_reason] if context.meta.archive_reason is not None else []
        self._reasons = [(reason.code, reason.label) for reason in [*context.meta.reasons, *archive]]
        self.username = line_edit(self, 100, name="Username", on_enter=self.submit)
        self.cp_id = line_edit(self, 20, name="Child's ContactPoint ID", on_enter=self.submit)
        self.date_from = date_edit(self, name="From date", on_enter=self.submit)
        self.date_to = date_edit(self, name="To date", on_enter=self.submit)
        self.reason = QComboBox(self)
        self.reason.setAccessibleName("Reason")
        self.reason.addItem(ANY)
        for _code, text in self._reasons:
            self.reason.addItem(text)
        self.action = QComboBox(self)
        self.action.setAccessibleName("Action")
        self.action.addItem(ANY)
        self._actions = list(AUDIT_ACTIONS.items())
        for _code, text in self._actions:
            self.action.addItem(text)
        grid = QGridLayout()
        for row, (text, field) in enumerate(
            (("Usern&ame", self.username), ("C&hild's ContactPoint ID", self.cp_id))
        ):
            self._caption(grid, row, 0, text, field)
        self._caption(grid, 0, 2, "&From date", self.date_from)
        self._caption(grid, 1, 2, "&To date", self.date_to)
        self._caption(grid, 2, 0, "R&eason", self.reason)
        self._caption(grid, 2, 2, "Actio&n", self.action)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.body.addLayout(grid)
        self.show_button = self.button("&Show entries", self.submit, "Show the audit entries that match")
        self.clear_button = self.button("Clea&r filters", self.clear_filters)
        self.body.addLayout(self.button_row(self.show_button, self.clear_button))
        self.more = StatusMessage(self)
        bold = self.more.font()
        bold.setBold(True)
        self.more.setFont(bold)
        self.more.hide()
        self.body.addWidget(self.more)
        self.model: RowsModel[AuditRow] = RowsModel(audit_columns(dict(self._reasons)), self)
        self.table = RowsTable(self.model, "Audit entries", self)
        self.body.addWidget(self.table, 1)
        self._fields: dict[str, QWidget] = {
            "username": self.username,
            "child_id": self.cp_id,  # the server's name for the field in the audit query
            "date_from": self.date_from,
            "date_to": self.date_to,
            "reason": self.reason,
            "action": self.action,
        }
        order: list[QWidget] = [
            self.username,
            self.cp_id,
            self.date_from,
            self.date_to,
            self.reason,
            self.action,
            self.show_button,
            self.clear_button,
            self.table,
        ]
        set_tab_order(order)
        mark_record_data(self)
        self.watermark = Watermark(self, context.user.display_name)

    def _caption(self, grid: QGridLayout, row: int, column: int, text: str, field: QWidget) -> None:
        caption = QLabel(text, self)
        caption.setBuddy(field)
        grid.addWidget(caption, row, column)
        grid.addWidget(field, row, column + 1)

    def filters(self) -> tuple[AuditFilters | None, list[Problem]]:
        """The filters in the form, or the problems that stop them being sent."""
        problems: list[Problem] = []
        dates: list[dt.date | None] = []
        for field, what in ((self.date_from, "from date"), (self.date_to, "to date")):
            try:
                dates.append(parse_date(field.text()))
            except DateNotUnderstood:
                dates.append(None)
                problems.append(Problem(f"Enter the {what} as a real date, like 31/03/2009", field))
        start, end = dates
        if start is not None and end is not None and start > end:
            problems.append(Problem("The from date must be on or before the to date", self.date_from))
        if problems:
            return None, problems
        reason = self.reason.currentIndex() - 1
        action = self.action.currentIndex() - 1
        return (
            AuditFilters(
                username=self.username.text(),
                cp_id=self.cp_id.text(),
                date_from=start,
                date_to=end,
                reason=self._reasons[reason][0] if reason >= 0 else "",
                action=self._actions[action][0] if action >= 0 else "",
            ),
            [],
        )

    def submit(self) -> None:
        """Check the filters and show the matching entries."""
        if self.busy:
            return
        filters, problems = self.filters()
        if filters is None:
            self.summary.show_problems(problems)
            return
        self.loaded = True
        self.start(self._query(filters))

    async def _query(self, filters: AuditFilters) -> None:
        self.summary.clear()
        self.message.setText("Looking through the audit trail…")
        self.show_button.setEnabled(False)
        # No `finally`: a cancelled query may find the page already destroyed (sign-out), so the
        # button is enabled again here or by `forget()`, never after a cancellation.
        try:
            page: AuditPage = await self.context.calls.run(partial(self.context.client.audit, filters))
        except ApiError as error:
            self.show_button.setEnabled(True)
            self.message.clear()
            self.show_error(error, self._fields.get(error.field or ""))
            return
        self.show_button.setEnabled(True)
        self.show_page(page)

    def show_page(self, page: AuditPage) -> None:
        """Show the entries and whether there were more."""
        for row in page.rows:
            if row.child_name:
                for part in row.child_name.split():
                    register_sensitive(part)
        self.model.set_rows(page.rows)
        count = len(page.rows)
        self.message.setText(
            "No entries match these filters."
            if count == 0
            else ("1 entry." if count == 1 else f"{count} entries, newest first.")
        )
        self.more.setVisible(page.more)
        self.more.setText(MORE)
        if count:
            self.table.select_first()
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh(self) -> None:
        """Run the current filters again."""
        self.submit()

    def clear_filters(self) -> None:
        """Empty every filter (the entries shown stay until the next search)."""
        for field in (self.username, self.cp_id, self.date_from, self.date_to):
            field.clear()
        self.reason.setCurrentIndex(0)
        self.action.setCurrentIndex(0)
        self.summary.clear()
        self.username.setFocus(Qt.FocusReason.OtherFocusReason)

    def forget(self) -> None:
        self.show_button.setEnabled(True)
        self.model.clear()
        self.more.hide()
        for field in (self.username, self.cp_id, self.date_from, self.date_to):
            field.clear()
        self.reason.setCurrentIndex(0)
        self.action.setCurrentIndex(0)
