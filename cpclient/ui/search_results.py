"""The search results: their columns, and `ResultsTable`, where Enter or a double-click asks to open one.

Opening is only ever *requested* here (`open_requested`); the reason dialog decides whether a record
is opened at all. The rows keep the server's order (best matches first).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from cpclient.api.models import GENDER_LABELS, SearchResult
from cpclient.ui.date_entry import format_date
from cpclient.ui.rows_table import Column, RowsModel, RowsTable

SHIELDED = "Shielded"
SHIELDED_TOOLTIP = "Shielded record: contact details are withheld; the management team can broker contact"


def locality_text(result: SearchResult) -> str:
    """Where the child lives, as far as the searcher may know."""
    if result.shielded:
        return SHIELDED
    return result.locality or "Not recorded"


RESULT_COLUMNS: tuple[Column[SearchResult], ...] = (
    Column("Name", lambda result: result.name),
    Column("Date of birth", lambda result: format_date(result.date_of_birth)),
    Column("Gender", lambda result: GENDER_LABELS[result.gender]),
    Column(
        "Locality",
        locality_text,
        tooltip=lambda result: SHIELDED_TOOLTIP if result.shielded else None,
    ),
)


class ResultsTable(RowsTable[SearchResult]):
    """The results table: one row selected at a time; Enter or double-click asks to open it.

    Signals:
        open_requested(SearchResult): the result the person asked to open.
    """

    open_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(RowsModel(list(RESULT_COLUMNS), parent), "Search results", parent, sortable=False)
        self.doubleClicked.connect(self._request)

    def _request(self, index: QModelIndex) -> None:
        item = self.item_at(index)
        if item is not None:
            self.open_requested.emit(item)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        item = self.current_item()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            self.open_requested.emit(item)
            event.accept()
            return
        super().keyPressEvent(event)
