"""`CmePage`: children missing education — children with no education setting recorded — on screen only.

The list is sortable by any column. It names children, so it is record data (no copy, drag, print or
export) and carries the watermark; the names are registered so logs never carry them.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from cpclient.api.models import GENDER_LABELS
from cpclient.api.oversight_models import ChildList, ChildListItem
from cpclient.security.lockdown import mark_record_data
from cpclient.security.redaction import register_sensitive
from cpclient.security.watermark import Watermark
from cpclient.ui.date_entry import format_date
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage

INTRO = (
    "Children with no school or other education setting recorded. Sort by any column heading. On "
    "screen only: this list cannot be printed, copied or exported, and viewing it is recorded."
)


def cme_columns(national: bool) -> list[Column[ChildListItem]]:
    """The columns of the list."""
    columns: list[Column[ChildListItem]] = [
        Column("Family name", lambda c: c.family),
        Column("Given name", lambda c: c.given),
        Column(
            "Date of birth", lambda c: format_date(c.date_of_birth), lambda c: c.date_of_birth.isoformat()
        ),
        Column("Gender", lambda c: GENDER_LABELS.get(c.gender, c.gender)),
        Column("ContactPoint ID", lambda c: c.id),
    ]
    if national:
        columns.append(Column("Local authority", lambda c: c.local_authority))
    columns.append(Column("Shielded", lambda c: "Shielded" if c.shielded else ""))
    return columns


class CmePage(OversightPage):
    """The children missing education list."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Children missing education", INTRO, context, parent)
        self.count = StatusMessage(self)
        self.model: RowsModel[ChildListItem] = RowsModel(cme_columns(context.national), self)
        self.table = RowsTable(self.model, "Children missing education", self)
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the list again")
        self.body.addWidget(self.count)
        self.body.addWidget(self.table, 1)
        self.body.addLayout(self.button_row(self.refresh_button))
        mark_record_data(self)
        self.watermark = Watermark(self, context.user.display_name)

    async def load(self) -> None:
        found: ChildList | None = await self.fetch(self.context.client.children_missing_education)
        if found is None:
            return
        for child in found.children:
            register_sensitive(child.given)
            register_sensitive(child.family)
        self.model.set_rows(found.children)
        shown = len(found.children)
        if shown == 0:
            text = "No children in this list: every child has an education setting recorded."
        elif found.total > shown:
            text = f"{found.total} children have no education setting recorded; the first {shown} are shown."
        else:
            text = f"{shown} child{'ren' if shown > 1 else ''} with no education setting recorded."
        self.count.setText(text)

    def forget(self) -> None:
        self.model.clear()
        self.count.clear()
