"""`RowsTable`: a read-only table of typed rows (search results, users, alerts…) and its `RowsModel`.

Each `Column` says how to show a row, how to sort it and, where a cell needs one, its tooltip; a
cell too narrow for its text shows the whole text as a tooltip. The table selects whole rows, one at
a time, never drags or edits, and `clear()` forgets every row (logout, lock). A sortable table sorts
through a proxy; an unsortable one keeps the server's order.
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
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QWidget,
)

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column: its title, the text shown for a row, and (optionally) what it sorts by and a tooltip."""

    title: str
    text: Callable[[T], str]
    sort_key: Callable[[T], Any] | None = None
    tooltip: Callable[[T], str | None] | None = None


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

    def append_rows(self, rows: list[T]) -> None:
        """Add `rows` after those shown (the next page of a list): the selection stays where it is."""
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

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
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(item)
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


class FullTextTooltips(QStyledItemDelegate):
    """Shows a cell's whole text as its tooltip when the column is too narrow for it (else the
    model's own tooltip, if any)."""

    def helpEvent(  # noqa: N802 (Qt's name)
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> bool:
        if event is not None and view is not None and index.isValid() and self.is_cut_off(option, index):
            text = str(index.data(Qt.ItemDataRole.DisplayRole))
            own = index.data(Qt.ItemDataRole.ToolTipRole)
            QToolTip.showText(event.globalPos(), f"{text}\n{own}" if own else text, view)
            return True
        return super().helpEvent(event, view, option, index)

    def is_cut_off(self, option: QStyleOptionViewItem, index: Index) -> bool:
        """True when the cell's text is wider than the room its column gives it."""
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if not text:
            return False
        return bool(self.sizeHint(option, index).width() > option.rect.width())


class RowsTable(QTableView, Generic[T]):
    """A table over a `RowsModel`; the current row is what the page's buttons act on.

    Args:
        model: the rows.
        name: the accessible name (what the table lists).
        sortable: whether a click on a column title sorts by it (else the rows keep their order).

    Signals:
        current_changed(): the selected row changed.
    """

    current_changed = Signal()

    def __init__(
        self, model: RowsModel[T], name: str, parent: QWidget | None = None, *, sortable: bool = True
    ) -> None:
        super().__init__(parent)
        self.rows_model = model
        self.proxy: QSortFilterProxyModel | None = None
        if sortable:
            self.proxy = QSortFilterProxyModel(self)
            self.proxy.setSourceModel(model)
            self.proxy.setSortRole(SORT_ROLE)
            self.setModel(self.proxy)
        else:
            self.setModel(model)
        self.setAccessibleName(name)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setTabKeyNavigation(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setItemDelegate(FullTextTooltips(self))
        if sortable:
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
        for column in range(self.rows_model.columnCount()):
            if self.columnWidth(column) > limit:
                self.setColumnWidth(column, limit)

    def item_at(self, index: Index) -> T | None:
        """The item shown in the row of the view's `index`, or None."""
        if not index.isValid():
            return None
        row = self.proxy.mapToSource(index).row() if self.proxy is not None else index.row()
        return self.rows_model.row_at(row)

    def current_item(self) -> T | None:
        """The selected row's item, or None."""
        return self.item_at(self.currentIndex())

    def select_where(self, matches: Callable[[T], bool]) -> bool:
        """Select the first row (in the order shown) whose item `matches`; False if none does."""
        shown = self.model()
        for row in range(shown.rowCount()):
            item = self.item_at(shown.index(row, 0))
            if item is not None and matches(item):
                self.selectRow(row)
                return True
        return False

    def select_first(self) -> None:
        """Select the first row shown, if there is one."""
        if self.model().rowCount() > 0:
            self.selectRow(0)
