"""The search results: `SearchResultsModel` (the data) and `ResultsTable` (Enter or double-click opens).

Opening is only ever *requested* here (`open_requested`); the reason dialog decides whether a record
is opened at all.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from cpclient.api.models import GENDER_LABELS, SearchResult
from cpclient.ui.date_entry import format_date

COLUMNS = ("Name", "Date of birth", "Gender", "Locality")
SHIELDED = "Shielded"

Index = QModelIndex | QPersistentModelIndex


class SearchResultsModel(QAbstractTableModel):
    """The children found by the last search; `clear()` forgets them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._results: list[SearchResult] = []

    def set_results(self, results: list[SearchResult]) -> None:
        """Show `results`."""
        self.beginResetModel()
        self._results = list(results)
        self.endResetModel()

    def clear(self) -> None:
        """Forget every result."""
        self.beginResetModel()
        self._results = []
        self.endResetModel()

    def result_at(self, row: int) -> SearchResult | None:
        """The result in `row`, or None."""
        return self._results[row] if 0 <= row < len(self._results) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt's name)
        return 0 if parent.isValid() else len(self._results)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt's name)
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        result = self.result_at(index.row()) if index.isValid() else None
        if result is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.cell_text(result, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 3 and result.shielded:
            return "Shielded record: contact details are withheld; the management team can broker contact"
        return None

    def headerData(  # noqa: N802 (Qt's name)
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    @staticmethod
    def cell_text(result: SearchResult, column: int) -> str:
        """The text in `column` for `result`."""
        if column == 0:
            return result.name
        if column == 1:
            return format_date(result.date_of_birth)
        if column == 2:
            return GENDER_LABELS[result.gender]
        if result.shielded:
            return SHIELDED
        return result.locality or "Not recorded"


class ResultsTable(QTableView):
    """The results table: one row selected at a time; Enter or double-click asks to open it.

    Signals:
        open_requested(int): the row the person asked to open.
    """

    open_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Search results")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setTabKeyNavigation(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.doubleClicked.connect(lambda index: self.open_requested.emit(index.row()))

    def current_row(self) -> int:
        """The selected row, or -1."""
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.current_row() >= 0:
            self.open_requested.emit(self.current_row())
            event.accept()
            return
        super().keyPressEvent(event)
