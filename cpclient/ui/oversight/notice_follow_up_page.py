"""`NoticeFollowUpPage`: per authority, how many involvement notices were followed up in time."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWidget

from cpclient.api.oversight_models import NoticeFollowUp
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.rows_table import Column, RowsModel, RowsTable

INTRO = (
    "When a practitioner starts or stops working with a child, the others working with that child are "
    "told. For each authority, the notices of the last year and how many were followed up (contacted, "
    "or not needed) within the window. Counts only; on screen only."
)


def count(title: str, value: Callable[[NoticeFollowUp], int]) -> Column[NoticeFollowUp]:
    """A column of numbers that sorts as numbers."""
    return Column(title, lambda row: str(value(row)), value)


FOLLOW_UP_COLUMNS: list[Column[NoticeFollowUp]] = [
    Column("Local authority", lambda row: row.local_authority),
    count("Notices", lambda row: row.notices),
    Column("Followed up in time", lambda row: row.in_time_percent),
    count("In time", lambda row: row.followed_up_in_time),
    count("Contacted in time", lambda row: row.contacted_in_time),
    count("Late", lambda row: row.followed_up_late),
    count("Not followed up", lambda row: row.not_followed_up),
    count("Window still open", lambda row: row.window_open),
]


class NoticeFollowUpPage(OversightPage):
    """The follow-up table."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Notice follow-up", INTRO, context, parent)
        window = context.meta.policy.notice_follow_up_working_days
        self.window_note = QLabel(f"The window is {window} working days from the notice.", self)
        self.window_note.setWordWrap(True)
        self.window_note.setAccessibleName(self.window_note.text())
        self.model: RowsModel[NoticeFollowUp] = RowsModel(FOLLOW_UP_COLUMNS, self)
        self.table = RowsTable(self.model, "Notice follow-up by authority", self)
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the figures again")
        self.body.addWidget(self.window_note)
        self.body.addWidget(self.table, 1)
        self.body.addLayout(self.button_row(self.refresh_button))

    async def load(self) -> None:
        rows = await self.fetch(self.context.client.notice_follow_up)
        if rows is None:
            return
        self.model.set_rows(rows)
        if not rows:
            self.message.setText("No notices in the last year.")

    def forget(self) -> None:
        self.model.clear()
