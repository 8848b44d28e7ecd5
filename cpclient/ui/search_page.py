"""`SearchPage`: the search form, its hint of what is enough, and the results table.

Enter in any field searches; while a search runs the form stays usable and Cancel discards it.
Opening a result (button, Enter or double-click) only emits `open_requested`: the main window sends
every such request through the reason dialog.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import ApiError, RequestRejected
from cpclient.api.models import Gender, SearchCriteria, SearchResult, SearchResults
from cpclient.security.lockdown import mark_record_data
from cpclient.security.redaction import register_sensitive
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.date_entry import FORMAT_HINT, DateNotUnderstood, parse_date
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.layout import left_aligned, set_tab_order
from cpclient.ui.search_results import ResultsTable
from cpclient.ui.status_message import StatusMessage
from cpclient.ui.text_field import date_edit, line_edit

ENOUGH_HINT = (
    "Enter the family name and the date of birth (or a date range), or the given name, family name "
    "and either the date of birth or the postcode. Names that sound alike are found too, unless you "
    "choose exact spelling."
)
GENDERS: tuple[tuple[str, Gender | None], ...] = (
    ("Any", None),
    ("Female", "female"),
    ("Male", "male"),
    ("Not specified", "not_specified"),
)


class SearchPage(QWidget):
    """The search form and results.

    Args:
        api: the API client.
        calls: runs searches off the Qt thread.

    Signals:
        open_requested(SearchResult): the person asked to open this result's record.
    """

    open_requested = Signal(object)

    def __init__(
        self, api: ContactPointClient, calls: BackgroundCalls, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("searchPage")
        self._api = api
        self._calls = calls
        self._task: asyncio.Task[None] | None = None
        self._quiet_cancel = False
        self.max_results = 50

        self.heading = Heading("Find a child", 1, self)
        self.hint = QLabel(ENOUGH_HINT, self)
        self.hint.setWordWrap(True)
        self.hint.setAccessibleName(ENOUGH_HINT)
        self.summary = ErrorSummary(self)
        form = self._build_form()
        buttons = self._build_buttons()
        self._build_status()
        self._build_results()

        layout = QVBoxLayout(self)
        for widget in (self.heading, self.hint, self.summary, form):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(Heading("Results", 2, self))
        layout.addWidget(self.more)
        layout.addWidget(self.table, 1)
        layout.addLayout(left_aligned(self.open_button))
        self._set_tab_order()

    # --- building --------------------------------------------------------------------------------

    def _build_form(self) -> QWidget:
        """The criteria: names, date of birth or a range, gender, postcode, exact spelling."""
        self.family = line_edit(self, 100, name="Family name", on_enter=self.submit)
        self.given = line_edit(self, 100, name="Given name", on_enter=self.submit)
        self.date_of_birth = date_edit(self, name="Date of birth", on_enter=self.submit)
        self.born_from = date_edit(self, name="Or born on or after", on_enter=self.submit)
        self.born_to = date_edit(self, name="and on or before", on_enter=self.submit)
        self.postcode = line_edit(self, 10, name="Postcode", on_enter=self.submit)
        self.gender = QComboBox(self)
        self.gender.setAccessibleName("Gender")
        for label, _code in GENDERS:
            self.gender.addItem(label)
        self.exact = QCheckBox("&Exact spelling only", self)
        self.exact.setAccessibleName("Exact spelling only")
        self.exact.setAccessibleDescription(
            "Find only names spelt exactly as typed, not names that sound alike"
        )
        # Where a server refusal naming a field puts the cursor.
        self._fields: dict[str, QWidget] = {
            "family": self.family,
            "given": self.given,
            "date_of_birth": self.date_of_birth,
            "date_of_birth_from": self.born_from,
            "date_of_birth_to": self.born_to,
            "gender": self.gender,
            "postcode": self.postcode,
            "exact": self.exact,
        }

        grid = QGridLayout()
        self._add_row(grid, 0, "&Family name", self.family)
        self._add_row(grid, 1, "&Given name", self.given)
        self._add_row(grid, 2, "&Date of birth", self.date_of_birth, FORMAT_HINT)
        # A date range on one row: each end has its own label, which is also its accessible name.
        range_row = QHBoxLayout()
        range_row.addWidget(self.born_from)
        until = QLabel("and on or &before", self)
        until.setBuddy(self.born_to)
        range_row.addWidget(until)
        range_row.addWidget(self.born_to)
        after = QLabel("Or born on or &after", self)
        after.setBuddy(self.born_from)
        grid.addWidget(after, 3, 0)
        grid.addLayout(range_row, 3, 1)
        grid.addWidget(QLabel(FORMAT_HINT, self), 3, 2)
        self._add_row(grid, 4, "Ge&nder", self.gender)
        self._add_row(grid, 5, "&Postcode", self.postcode)
        grid.addWidget(self.exact, 6, 1)
        grid.setColumnStretch(1, 1)
        form = QWidget(self)
        form.setLayout(grid)
        form.setMaximumWidth(form.fontMetrics().averageCharWidth() * 100)
        return form

    def _add_row(self, grid: QGridLayout, row: int, text: str, field: QWidget, hint: str = "") -> None:
        label = QLabel(text, self)
        label.setBuddy(field)
        grid.addWidget(label, row, 0)
        grid.addWidget(field, row, 1)
        if hint:
            grid.addWidget(QLabel(hint, self), row, 2)

    def _build_buttons(self) -> QHBoxLayout:
        """Search, Cancel search (and Escape while a search runs), Clear form."""
        self.search_button = QPushButton("&Search", self)
        self.search_button.setAccessibleName("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.submit)
        self.cancel_button = QPushButton("&Cancel search", self)
        self.cancel_button.setAccessibleName("Cancel search")
        self.cancel_button.setToolTip("Stop waiting for this search (Escape)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_by_person)
        # Escape cancels a running search (and is left alone at other times).
        self._escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.cancel_by_person)
        self._escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._escape.setEnabled(False)
        self.clear_button = QPushButton("Clea&r form", self)
        self.clear_button.setAccessibleName("Clear form")
        self.clear_button.clicked.connect(self.clear)
        return left_aligned(self.search_button, self.cancel_button, self.clear_button)

    def _build_status(self) -> None:
        """What the search is doing or found, and the "more than 50" notice."""
        self.status = StatusMessage(self)
        self.status.setObjectName("searchStatus")
        self.more = StatusMessage(self)
        self.more.setObjectName("moreMatches")
        bold = self.more.font()
        bold.setBold(True)
        self.more.setFont(bold)
        self.more.hide()

    def _build_results(self) -> None:
        """The results table and "Open record…"."""
        self.table = ResultsTable(self)
        self.model = self.table.rows_model
        mark_record_data(self.table)
        self.table.open_requested.connect(self.open_requested)
        self.table.current_changed.connect(self._update_open_button)
        self.open_button = QPushButton("&Open record…", self)
        self.open_button.setAccessibleName("Open record")
        self.open_button.setAccessibleDescription(
            "Asks for your reason, then opens the selected child's record"
        )
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_selected)

    def _set_tab_order(self) -> None:
        set_tab_order(
            [
                self.summary,
                *self._fields.values(),
                self.search_button,
                self.cancel_button,
                self.clear_button,
                self.table,
                self.open_button,
            ]
        )

    # --- searching -------------------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        """True while a search is running."""
        return self._task is not None and not self._task.done()

    def submit(self) -> None:
        """Check the form and search."""
        if self.searching:
            return
        criteria, problems = self.criteria()
        if problems:
            self.summary.show_problems(problems)
            return
        assert criteria is not None
        self._set_searching(True)
        self.summary.clear()
        self.status.setText("Searching…")
        task = self._calls.start(self._search(criteria))
        task.add_done_callback(self._search_done)
        self._task = task

    def criteria(self) -> tuple[SearchCriteria | None, list[Problem]]:
        """The criteria in the form, or the problems that stop it being sent."""
        problems: list[Problem] = []
        dates: dict[str, dt.date | None] = {}
        for name, field, label in (
            ("date_of_birth", self.date_of_birth, "date of birth"),
            ("date_of_birth_from", self.born_from, "start of the date range"),
            ("date_of_birth_to", self.born_to, "end of the date range"),
        ):
            try:
                dates[name] = parse_date(field.text())
            except DateNotUnderstood:
                dates[name] = None
                problems.append(Problem(f"Enter the {label} as a real date, like 31/03/2009", field))
        has_range = bool(self.born_from.text().strip() or self.born_to.text().strip())
        if self.date_of_birth.text().strip() and has_range:
            problems.append(
                Problem("Enter either a date of birth or a date range, not both", self.date_of_birth)
            )
        if not self.family.text().strip():
            problems.insert(0, Problem("Enter the family name", self.family))
        if problems:
            return None, problems
        return (
            SearchCriteria(
                family=self.family.text(),
                given=self.given.text(),
                date_of_birth=dates["date_of_birth"],
                date_of_birth_from=dates["date_of_birth_from"],
                date_of_birth_to=dates["date_of_birth_to"],
                gender=GENDERS[self.gender.currentIndex()][1],
                postcode=self.postcode.text(),
                exact=self.exact.isChecked(),
            ),
            [],
        )

    async def _search(self, criteria: SearchCriteria) -> None:
        try:
            found: SearchResults = await self._calls.run(partial(self._api.search, criteria))
        except RequestRejected as error:
            self._set_searching(False)
            self.status.clear()
            self.summary.show_problems([Problem(error.message, self._field_for(error.field))])
        except ApiError as error:
            self._set_searching(False)
            self.status.clear()
            self.summary.show_problems([Problem(error.message)])
        else:
            # The buttons change with the answer, not a loop turn later when the task's done
            # callback runs: no moment shows results beside a live Cancel button.
            self._set_searching(False)
            self._show(found)

    def _search_done(self, task: asyncio.Task[None]) -> None:
        # Runs however the search ended, even when it was cancelled before it started.
        if task is not self._task:
            return
        self._set_searching(False)
        if task.cancelled() and not self._quiet_cancel:
            self.status.setText("Search cancelled. Nothing was changed.")
        self._quiet_cancel = False

    def _field_for(self, name: str | None) -> QWidget | None:
        return self._fields.get(name or "")

    def _show(self, found: SearchResults) -> None:
        self.max_results = found.max_results
        for result in found.results:
            register_sensitive(result.given)
            register_sensitive(result.family)
        self.model.set_rows(found.results)
        count = len(found.results)
        if count == 0:
            self.status.setText("No children matched. Check the details, or try without exact spelling.")
        elif count == 1:
            self.status.setText("1 child found.")
        else:
            self.status.setText(f"{count} children found.")
        if found.more:
            text = f"More than {found.max_results} matches: add detail to narrow the search."
            self.more.show()
            self.more.setText(text)
        else:
            self.more.hide()
        if count:
            self.table.selectRow(0)
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self._update_open_button()

    def cancel(self, *, quiet: bool = False) -> None:
        """Cancel the running search; the form is usable again at once (`quiet`: say nothing)."""
        if self._task is not None and not self._task.done():
            self._quiet_cancel = quiet
            self._task.cancel()
            self._set_searching(False)
            if not quiet:
                self.status.setText("Search cancelled. Nothing was changed.")

    def cancel_by_person(self) -> None:
        """Cancel, as asked by the person (Cancel button or Escape)."""
        self.cancel()

    def _set_searching(self, searching: bool) -> None:
        had_focus = self.cancel_button.hasFocus()
        self.search_button.setEnabled(not searching)
        self.cancel_button.setEnabled(searching)
        self._escape.setEnabled(searching)
        if had_focus and not searching:
            self.search_button.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- results ---------------------------------------------------------------------------------

    def _open_selected(self) -> None:
        result = self.table.current_item()
        if result is not None:
            self.open_requested.emit(result)

    def _update_open_button(self) -> None:
        self.open_button.setEnabled(self.table.current_item() is not None)

    def selected_result(self) -> SearchResult | None:
        """The result selected in the table."""
        return self.table.current_item()

    def clear(self) -> None:
        """Cancel any search and forget the form and the results (logout, lock)."""
        self.cancel(quiet=True)
        for field in (
            self.family,
            self.given,
            self.date_of_birth,
            self.born_from,
            self.born_to,
            self.postcode,
        ):
            field.clear()
        self.gender.setCurrentIndex(0)
        self.exact.setChecked(False)
        self.summary.clear()
        self.status.clear()
        self.more.hide()
        self.model.clear()
        self._update_open_button()

    def fill(self, criteria: SearchCriteria) -> None:
        """Put `criteria` into the form (training scenarios)."""
        self.clear()
        self.family.setText(criteria.family)
        self.given.setText(criteria.given)
        for field, value in (
            (self.date_of_birth, criteria.date_of_birth),
            (self.born_from, criteria.date_of_birth_from),
            (self.born_to, criteria.date_of_birth_to),
        ):
            field.setText(value.strftime("%d/%m/%Y") if value else "")
        codes = [code for _label, code in GENDERS]
        self.gender.setCurrentIndex(codes.index(criteria.gender))
        self.postcode.setText(criteria.postcode)
        self.exact.setChecked(criteria.exact)

    def focus_first_field(self) -> None:
        """Put the cursor in the family name."""
        self.family.setFocus(Qt.FocusReason.OtherFocusReason)
