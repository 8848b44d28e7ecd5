"""`FiguresPage`: per year and authority, incidents, outcomes and alerts — the figures Parliament asks for."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from cpclient.api.oversight_models import YearFigures
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage

INTRO = (
    "For each year and local authority: incidents and their outcomes, alerts raised and dismissed, and "
    "involvement notices sent and followed up in time. On screen only."
)


def count(title: str, value: Callable[[YearFigures], int]) -> Column[YearFigures]:
    """A column of numbers that sorts as numbers."""
    return Column(title, lambda f: str(value(f)), value)


FIGURE_COLUMNS: list[Column[YearFigures]] = [
    count("Year", lambda f: f.year),
    Column("Local authority", lambda f: f.local_authority),
    count("Incidents", lambda f: f.incidents),
    count("Disciplined", lambda f: f.disciplined),
    count("Procedures not followed", lambda f: f.procedures_not_followed),
    count("Training required", lambda f: f.training_required),
    count("No misuse", lambda f: f.no_misuse),
    count("Alerts raised", lambda f: f.alerts_raised),
    count("Alerts dismissed", lambda f: f.alerts_dismissed),
    count("Notices sent", lambda f: f.notices_sent),
    count("Notices followed up in time", lambda f: f.notices_followed_up_in_time),
]


class FiguresPage(OversightPage):
    """The yearly figures table."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Yearly figures", INTRO, context, parent)
        self.state = StatusMessage(self)
        self.model: RowsModel[YearFigures] = RowsModel(FIGURE_COLUMNS, self)
        self.table = RowsTable(self.model, "Yearly figures", self)
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the figures again")
        self.body.addWidget(self.state)
        self.body.addWidget(self.table, 1)
        self.body.addLayout(self.button_row(self.refresh_button))

    async def load(self) -> None:
        figures = await self.fetch(self.context.client.yearly_figures)
        if figures is None:
            return
        self.model.set_rows(figures)
        self.state.setText("No incidents or alerts recorded yet." if not figures else "")

    def forget(self) -> None:
        self.model.clear()
        self.state.clear()
