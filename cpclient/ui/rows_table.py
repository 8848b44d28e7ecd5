"""`RowsTable`: a read-only, sortable table of typed rows (users, alerts, children…) and its `RowsModel`.

Each `Column` says how to show a row and how to sort it. The table selects whole rows, one at a time,
never drags or edits, and `clear()` forgets every row (logout, lock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column: its title, the text shown for a row, and (optionally) what it sorts by."""

    title: str
    text: Callable[[T], str]
    sort_key: Callable[[T], Any] | None = None


class RowsModel(QAbstractTableModel, Generic[T]):
    """The rows of one table."""

    def __init__(self, columns: list[Column[T]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._rows: list[T] = []

    @property
    def rows(self) -> list[T]:
        """The rows, in the order they arrived."""
        return list(self._rows)

    def set_rows(self, rows: list[T]) -> None:
        """Show `rows`."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        """Forget every row."""
        self.set_rows([])

    def row_at(self, row: int) -> T | None:
        """The row at `row`, or None."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt's name)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt's name)
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.row_at(index.row()) if index.isValid() else None
        if item is None or not 0 <= index.column() < len(self.columns):
            return None
        column = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return column.text(item)
        if role == SORT_ROLE:
            return column.sort_key(item) if column.sort_key is not None else column.text(item).lower()
        return None

    def headerData(  # noqa: N802 (Qt's name)
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            return self.columns[section].title if 0 <= section < len(self.columns) else None
        return None

    def cell_text(self, row: int, column: int) -> str:
        """The text shown at (`row`, `column`) in arrival order (for checks and tests)."""
        item = self.row_at(row)
        return self.columns[column].text(item) if item is not None else ""


class RowsTable(QTableView, Generic[T]):
    """A sortable table over a `RowsModel`; the current row is what the page's buttons act on.

    Args:
        model: the rows.
        name: the accessible name (what the table lists).

    Signals:
        current_changed(): the selected row changed.
    """

    current_changed = Signal()

    def __init__(self, model: RowsModel[T], name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows_model = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setAccessibleName(name)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setTabKeyNavigation(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.selectionModel().currentRowChanged.connect(lambda *_: self.current_changed.emit())
        model.modelReset.connect(self._fit_columns)

    def _fit_columns(self) -> None:
        self.resizeColumnsToContents()
        limit = self.fontMetrics().averageCharWidth() * 45
        for column in range(self.proxy.columnCount()):
            if self.columnWidth(column) > limit:
                self.setColumnWidth(column, limit)

    def current_item(self) -> T | None:
        """The selected row's item, or None."""
        index = self.currentIndex()
        if not index.isValid():
            return None
        return self.rows_model.row_at(self.proxy.mapToSource(index).row())

    def select_where(self, matches: Callable[[T], bool]) -> bool:
        """Select the first row (in the order shown) whose item `matches`; False if none does."""
        for row in range(self.proxy.rowCount()):
            item = self.rows_model.row_at(self.proxy.mapToSource(self.proxy.index(row, 0)).row())
            if item is not None and matches(item):
                self.selectRow(row)
                return True
        return False

    def select_first(self) -> None:
        """Select the first row shown, if there is one."""
        if self.proxy.rowCount() > 0:
            self.selectRow(0)
