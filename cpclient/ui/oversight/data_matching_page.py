"""`DataMatchingPage`: the management team's possible-match queue and "this is not right" reports.

A possible match is a row from a source system that may be a child already on the directory. The
person chooses one in the list; after a short pause (so moving through the list with the arrow keys
does not open every item) the incoming record and the directory's are shown side by side, one field
a row, each row saying in words whether the two agree. Showing them is a disclosure the server
audits, so nothing is opened until the person chooses an item. "Same child" and "Different
children" each ask for confirmation first. Reports are listed below, each closed as "Corrected" or
"Not upheld". Both lists come a page at a time, oldest first ("Show more possible matches", "Show more
reports" fetch the next page after the last item shown). Every call runs off the Qt thread.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import partial

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from cpclient.api.data_matching_models import (
    Decision,
    FieldPair,
    MatchComparison,
    MatchReview,
    MatchReviewPage,
    RecordReport,
    RecordReportPage,
    Resolution,
)
from cpclient.api.models import GENDER_LABELS
from cpclient.security.lockdown import mark_record_data
from cpclient.security.redaction import register_sensitive
from cpclient.security.watermark import Watermark
from cpclient.ui.confirm_dialog import ConfirmDialog
from cpclient.ui.date_entry import format_date
from cpclient.ui.error_summary import Problem
from cpclient.ui.heading import Heading
from cpclient.ui.modal import open_modal
from cpclient.ui.oversight.labels import format_time, sort_time
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage

INTRO = (
    "Rows from source systems that may be children already on the directory, and reports from "
    "practitioners that a record is not right. Choose a possible match to see both records side by "
    "side; showing them is recorded."
)
NO_MATCHES = "There are no possible matches to decide."
NO_REPORTS = "There are no open reports."
CHOOSE = "Choose a possible match in the list to see both records side by side."
NOT_RECORDED = "Not recorded"
SAME, DIFFERENT, NOT_SENT = "Same", "Different", "Not in the incoming record"
AGREEMENT = {"same": SAME, "different": DIFFERENT, "not_in_row": NOT_SENT}
# A pause after a choice in the list before the comparison is fetched (arrow keys move quickly).
COMPARE_DELAY_MS = 400
# Items fetched a page at a time; the server gives at most SERVER_PAGE_MAX in one page.
PAGE_SIZE = 100
SERVER_PAGE_MAX = 500
MORE_MATCHES = "Show more possible matches"
MORE_REPORTS = "Show more reports"
FETCHING_MATCHES = "Fetching more possible matches…"
FETCHING_REPORTS = "Fetching more reports…"


def matches_text(count: int, more: bool) -> str:
    """What the possible-match list holds, in words."""
    if count == 0 and not more:
        return NO_MATCHES
    items = f"{count} possible match{'es' if count != 1 else ''}"
    return f"{items} shown, oldest first; there are more to decide." if more else f"{items} to decide."


def reports_text(count: int, more: bool) -> str:
    """What the report list holds, in words."""
    if count == 0 and not more:
        return NO_REPORTS
    items = f"{count} open report{'s' if count != 1 else ''}"
    return f"{items} shown, oldest first; there are more." if more else f"{items}."


HELD_BECAUSE = {
    "possible_match": "Possible match",
    "shielded_candidate": "May be a shielded child",
}
PROBLEMS = {
    "wrong_name": "Name wrong",
    "wrong_date_of_birth": "Date of birth wrong",
    "wrong_gender": "Gender wrong",
    "wrong_address": "Address wrong",
    "wrong_carers": "Parents or carers wrong",
    "wrong_school": "Education setting wrong",
    "wrong_gp": "GP practice wrong",
    "not_this_child_duplicate": "Duplicate of another record",
    "involvement_ended": "A service has stopped",
}
FIELD_LABELS = {
    "name": "Name",
    "former_names": "Former names",
    "date_of_birth": "Date of birth",
    "gender": "Gender",
    "address": "Address",
    "telephone": "Telephone",
    "local_authority": "Local authority",
    "education_setting": "Education setting",
    "gp_practice": "GP practice",
}
_CARER_FIELD = re.compile(r"^carer_(\d+)(?:_(address|telephone))?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def field_label(field: str) -> str:
    """The words for a compared field's code ("carer_2_address" → "Parent or carer 2: address")."""
    carer = _CARER_FIELD.match(field)
    if carer is not None:
        number, part = carer.groups()
        return f"Parent or carer {number}" + (f": {part}" if part else "")
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def field_value(pair: FieldPair, text: str) -> str:
    """A compared value as shown: dates and genders in words, an empty value as "Not recorded"."""
    if not text:
        return NOT_RECORDED
    if pair.field == "date_of_birth" and _ISO_DATE.match(text):
        return format_date(dt.date.fromisoformat(text))
    if pair.field == "gender":
        return GENDER_LABELS.get(text, text)
    return text


def person(given: str, family: str, date_of_birth: dt.date) -> str:
    return f"{given} {family}, born {format_date(date_of_birth)}"


def candidate_text(item: MatchReview) -> str:
    candidate = item.candidate
    if candidate is None:
        return "No longer on the directory"
    return f"{person(candidate.given, candidate.family, candidate.date_of_birth)} ({candidate.id})"


def match_columns() -> list[Column[MatchReview]]:
    return [
        Column("Received", lambda m: format_time(m.received_at), lambda m: sort_time(m.received_at)),
        Column("Source", lambda m: m.source),
        Column(
            "Incoming record", lambda m: person(m.incoming.given, m.incoming.family, m.incoming.date_of_birth)
        ),
        Column(
            "Record on the directory",
            candidate_text,
        ),
        Column("Why held", lambda m: HELD_BECAUSE.get(m.held_because, m.held_because)),
        Column("Likelihood", lambda m: f"{m.match_probability:.0%}", lambda m: m.match_probability),
    ]


def comparison_columns() -> list[Column[FieldPair]]:
    return [
        Column("Field", lambda p: field_label(p.field)),
        Column("Incoming record", lambda p: field_value(p, p.incoming)),
        Column("On the directory", lambda p: field_value(p, p.directory)),
        Column("Same or different", lambda p: AGREEMENT.get(p.agreement, p.agreement)),
    ]


def report_columns() -> list[Column[RecordReport]]:
    return [
        Column("Reported", lambda r: format_time(r.reported_at), lambda r: sort_time(r.reported_at)),
        Column(
            "Child",
            lambda r: f"{person(r.child.given, r.child.family, r.child.date_of_birth)} ({r.child.id})",
        ),
        Column("Shielded", lambda r: "Shielded" if r.child.shielded else ""),
        Column("Problem", lambda r: PROBLEMS.get(r.problem, r.problem)),
        Column("Reported by", lambda r: r.reporter),
    ]


class DataMatchingPage(OversightPage):
    """The possible-match queue, the two records side by side, and the reports."""

    # How many items a page of either list asks for.
    page_size = PAGE_SIZE

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Data matching", INTRO, context, parent)
        self.confirm: ConfirmDialog | None = None
        self.comparison: MatchComparison | None = None
        # Whether the server has more items after those shown; a reload makes older pages stale.
        self.matches_more = False
        self.reports_more = False
        self._lists_version = 0
        self._compare_timer = QTimer(self)
        self._compare_timer.setSingleShot(True)
        self._compare_timer.setInterval(COMPARE_DELAY_MS)
        self._compare_timer.timeout.connect(self.compare)

        self.matches_heading = Heading("Possible matches", 3, self)
        self.matches_state = StatusMessage(self)
        self.matches_model: RowsModel[MatchReview] = RowsModel(match_columns(), self)
        self.matches_table = RowsTable(self.matches_model, "Possible matches", self)
        self.matches_table.current_changed.connect(self._match_chosen)
        self.matches_table.activated.connect(lambda _index: self.compare())
        self.more_matches_button = self.button(
            "Sho&w more possible matches",
            self.show_more_matches,
            "Fetch the next possible matches in the queue",
        )

        self.comparison_heading = Heading("", 3, self)
        self.comparison_state = StatusMessage(self)
        self.comparison_model: RowsModel[FieldPair] = RowsModel(comparison_columns(), self)
        self.comparison_table = RowsTable(
            self.comparison_model, "Incoming record and record on the directory", self, sortable=False
        )
        self.same_button = self.button(
            "&Same child…", self.same_child, "The incoming record updates the record on the directory"
        )
        self.different_button = self.button(
            "Di&fferent children…", self.different_children, "The incoming record becomes a new record"
        )

        self.reports_heading = Heading("Reports that a record is not right", 3, self)
        self.reports_state = StatusMessage(self)
        self.reports_model: RowsModel[RecordReport] = RowsModel(report_columns(), self)
        self.reports_table = RowsTable(self.reports_model, "Reports that a record is not right", self)
        self.reports_table.current_changed.connect(self._report_chosen)
        self.more_reports_button = self.button(
            "Show more re&ports", self.show_more_reports, "Fetch the next open reports"
        )
        self.corrected_button = self.button(
            "&Corrected…", partial(self.resolve, "corrected"), "The record has been corrected at its source"
        )
        self.not_upheld_button = self.button(
            "&Not upheld…", partial(self.resolve, "not_upheld"), "The record is right as it stands"
        )
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the lists again")

        self.body.addWidget(self.matches_heading)
        self.body.addWidget(self.matches_state)
        self.body.addWidget(self.matches_table, 2)
        self.body.addLayout(self.button_row(self.more_matches_button))
        self.body.addWidget(self.comparison_heading)
        self.body.addWidget(self.comparison_state)
        self.body.addWidget(self.comparison_table, 3)
        self.body.addLayout(self.button_row(self.same_button, self.different_button))
        self.body.addWidget(self.reports_heading)
        self.body.addWidget(self.reports_state)
        self.body.addWidget(self.reports_table, 2)
        self.body.addLayout(self.button_row(self.more_reports_button))
        self.body.addLayout(
            self.button_row(self.corrected_button, self.not_upheld_button, self.refresh_button)
        )
        mark_record_data(self)
        self.watermark = Watermark(self, context.user.display_name)
        self._show_comparison(None)
        self._report_chosen()
        self._show_more_buttons()

    # --- loading ---------------------------------------------------------------------------------

    async def load(self) -> None:
        """Fetch both lists from their start, as far as they were shown (at least a page)."""
        self._lists_version += 1
        client = self.context.client
        matches = await self.fetch(partial(client.match_reviews, limit=self._reload_size(self.matches_model)))
        if matches is None:
            return
        reports = await self.fetch(
            partial(client.record_reports, limit=self._reload_size(self.reports_model))
        )
        if reports is None:
            return
        self.show_lists(matches, reports)

    def _reload_size(self, model: RowsModel[MatchReview] | RowsModel[RecordReport]) -> int:
        return min(SERVER_PAGE_MAX, max(self.page_size, model.rowCount()))

    def show_lists(self, matches: MatchReviewPage, reports: RecordReportPage) -> None:
        """Show both lists. Nothing is selected: a comparison opens only when the person chooses."""
        _register_matches(matches.items)
        _register_reports(reports.items)
        shown = self.comparison.review.id if self.comparison is not None else None
        self.matches_model.set_rows(matches.items)
        if shown is None or not self.matches_table.select_where(lambda m: m.id == shown):
            self._show_comparison(None)
        self._compare_timer.stop()  # keeping the selection is not a new choice
        self.matches_more, self.reports_more = matches.more, reports.more
        self.matches_state.setText(matches_text(len(matches.items), matches.more))
        self.reports_model.set_rows(reports.items)
        self.reports_state.setText(reports_text(len(reports.items), reports.more))
        self._report_chosen()
        self._show_more_buttons()

    def _show_more_buttons(self) -> None:
        """Each "Show more" button is there only while its list has more; when one goes, the focus
        it held moves to its list (never to a row: choosing a possible match opens it)."""
        for button, more, table in (
            (self.more_matches_button, self.matches_more, self.matches_table),
            (self.more_reports_button, self.reports_more, self.reports_table),
        ):
            had_focus = button.hasFocus()
            button.setVisible(more)
            button.setEnabled(more)
            if had_focus and not more:
                table.setFocus()

    # --- the next pages ----------------------------------------------------------------------------

    def show_more_matches(self) -> None:
        """Fetch the next page of possible matches, after the last one shown."""
        rows = self.matches_model.rows
        if not self.matches_more or not rows or not self.more_matches_button.isEnabled():
            return
        self.more_matches_button.setEnabled(False)
        self.start(self._more_matches(rows[-1].id, self._lists_version))

    async def _more_matches(self, after: int, version: int) -> None:
        before = self.matches_state.text()
        self.matches_state.setText(FETCHING_MATCHES)
        page = await self.fetch(partial(self.context.client.match_reviews, after=after, limit=self.page_size))
        if version != self._lists_version:
            return  # the lists were fetched again meanwhile: this page belongs to the old ones
        if page is None:
            self.matches_state.setText(before)
            self._show_more_buttons()
            return
        known = {item.id for item in self.matches_model.rows}
        added = [item for item in page.items if item.id not in known]
        _register_matches(added)
        self.matches_model.append_rows(added)
        self.matches_more = page.more
        count = self.matches_model.rowCount()
        self.matches_state.setText(f"{len(added)} more shown. {matches_text(count, page.more)}")
        self._show_more_buttons()

    def show_more_reports(self) -> None:
        """Fetch the next page of open reports, after the last one shown."""
        rows = self.reports_model.rows
        if not self.reports_more or not rows or not self.more_reports_button.isEnabled():
            return
        self.more_reports_button.setEnabled(False)
        self.start(self._more_reports(rows[-1].id, self._lists_version))

    async def _more_reports(self, after: int, version: int) -> None:
        before = self.reports_state.text()
        self.reports_state.setText(FETCHING_REPORTS)
        page = await self.fetch(
            partial(self.context.client.record_reports, after=after, limit=self.page_size)
        )
        if version != self._lists_version:
            return
        if page is None:
            self.reports_state.setText(before)
            self._show_more_buttons()
            return
        known = {report.id for report in self.reports_model.rows}
        added = [report for report in page.items if report.id not in known]
        _register_reports(added)
        self.reports_model.append_rows(added)
        self.reports_more = page.more
        count = self.reports_model.rowCount()
        self.reports_state.setText(f"{len(added)} more shown. {reports_text(count, page.more)}")
        self._show_more_buttons()

    def forget(self) -> None:
        self._lists_version += 1
        self.matches_more = self.reports_more = False
        self._show_more_buttons()
        self._compare_timer.stop()
        if self.confirm is not None:
            self.confirm.reject()
        self.confirm = None
        self.matches_model.clear()
        self.reports_model.clear()
        self.matches_state.clear()
        self.reports_state.clear()
        self._show_comparison(None)
        self._report_chosen()

    # --- the comparison --------------------------------------------------------------------------

    def _match_chosen(self) -> None:
        item = self.matches_table.current_item()
        if item is None:
            self._show_comparison(None)
            return
        if self.comparison is None or self.comparison.review.id != item.id:
            self._compare_timer.start()

    def compare(self) -> None:
        """Fetch and show the chosen possible match side by side (the server records the viewing)."""
        self._compare_timer.stop()
        item = self.matches_table.current_item()
        if item is None:
            return
        self.start(self._compare(item.id))

    async def _compare(self, review_id: int) -> None:
        self.comparison_state.setText("Fetching both records…")
        comparison = await self.fetch(partial(self.context.client.match_comparison, review_id))
        if comparison is None:
            self.comparison_state.clear()
            return
        chosen = self.matches_table.current_item()
        if chosen is None or chosen.id != review_id:
            return  # the person has moved on
        for pair in comparison.fields:
            register_sensitive(pair.incoming)
            register_sensitive(pair.directory)
        self._show_comparison(comparison)

    def _show_comparison(self, comparison: MatchComparison | None) -> None:
        self.comparison = comparison
        if comparison is None:
            self.comparison_model.clear()
            self.comparison_heading.set_heading("Both records side by side")
            self.comparison_state.setText(CHOOSE if self.matches_model.rows else "")
        else:
            review = comparison.review
            self.comparison_model.set_rows(comparison.fields)
            self.comparison_heading.set_heading(f"Possible match {review.id}: both records side by side")
            differ = [field_label(pair.field) for pair in comparison.fields if pair.agreement == "different"]
            shielded = (
                " The record on the directory is shielded."
                if review.candidate and review.candidate.shielded
                else ""
            )
            self.comparison_state.setText(
                (f"They differ in: {', '.join(differ)}." if differ else "Every field shown is the same.")
                + shielded
            )
        decidable = comparison is not None and self.context.acts
        self.same_button.setEnabled(
            decidable and comparison is not None and comparison.review.candidate is not None
        )
        self.different_button.setEnabled(decidable)

    # --- deciding ---------------------------------------------------------------------------------

    def same_child(self) -> None:
        """Ask, then decide that the incoming record is the child on the directory."""
        comparison = self.comparison
        if comparison is None or comparison.review.candidate is None:
            return
        candidate = comparison.review.candidate
        keeps = " It stays shielded." if candidate.shielded else ""
        self._ask(
            ConfirmDialog(
                "Same child",
                f"Is the incoming record the same child as {candidate.id}?",
                f"The record {candidate.id} is updated from the incoming record, and the source's "
                f"record is linked to it from now on.{keeps} This cannot be undone here.",
                "&Same child",
                self.context.mode,
                self,
            ),
            comparison.review.id,
            "same_child",
        )

    def different_children(self) -> None:
        """Ask, then decide that the incoming record is another child (a new record)."""
        comparison = self.comparison
        if comparison is None:
            return
        self._ask(
            ConfirmDialog(
                "Different children",
                "Is the incoming record a different child?",
                "A new record is made from the incoming record; the record on the directory is not "
                "changed. This cannot be undone here.",
                "&Different children",
                self.context.mode,
                self,
            ),
            comparison.review.id,
            "different_children",
        )

    def _ask(self, dialog: ConfirmDialog, review_id: int, decision: Decision) -> None:
        if self.confirm is not None:
            dialog.deleteLater()
            return
        self.confirm = open_modal(
            dialog, lambda _dialog: self.start(self._decide(review_id, decision)), self._confirm_closed
        )

    def _confirm_closed(self) -> None:
        self.confirm = None

    async def _decide(self, review_id: int, decision: Decision) -> None:
        self.same_button.setEnabled(False)
        self.different_button.setEnabled(False)
        self.message.setText("Recording your decision…")
        result = await self.fetch(partial(self.context.client.decide_match, review_id, decision))
        if result is None:
            # Refused (perhaps decided by a colleague first): the list as it now is, the reason kept.
            self._show_comparison(self.comparison)
            await self._reload_keeping_problem()
            return
        if decision == "same_child":
            text = f"Possible match {result.id}: same child. The record {result.child_id} has been updated."
        else:
            text = f"Possible match {result.id}: different children. New record {result.child_id} made."
        self._show_comparison(None)
        self.say(text)
        await self.load()

    async def _reload_keeping_problem(self) -> None:
        problems = list(self.summary.messages)
        await self.load()
        if problems and self.summary.messages != problems:
            self.summary.show_problems([Problem(text) for text in problems])

    # --- reports ---------------------------------------------------------------------------------

    def _report_chosen(self) -> None:
        chosen = self.reports_table.current_item() is not None and self.context.acts
        for button in (self.corrected_button, self.not_upheld_button):
            button.setEnabled(chosen)

    def resolve(self, resolution: Resolution) -> None:
        """Ask, then close the chosen report as corrected or not upheld."""
        report = self.reports_table.current_item()
        if report is None or self.confirm is not None:
            return
        words = "Corrected" if resolution == "corrected" else "Not upheld"
        detail = (
            "The record has been corrected at its source system."
            if resolution == "corrected"
            else "The record is right as it stands."
        )
        dialog = ConfirmDialog(
            words,
            f"Close report {report.id} as \u201c{words.lower()}\u201d?",
            f"{PROBLEMS.get(report.problem, report.problem)}: {report.child.id}. {detail}",
            "&" + words,
            self.context.mode,
            self,
        )
        self.confirm = open_modal(
            dialog, lambda _dialog: self.start(self._resolve(report.id, resolution)), self._confirm_closed
        )

    async def _resolve(self, report_id: int, resolution: Resolution) -> None:
        self.message.setText("Recording the outcome…")
        result = await self.fetch(partial(self.context.client.resolve_report, report_id, resolution))
        if result is None:
            return
        words = "corrected" if resolution == "corrected" else "not upheld"
        self.say(f"Report {result.id} closed: {words}.")
        await self.load()


def _register_matches(items: list[MatchReview]) -> None:
    """The names a list of possible matches shows are kept out of logs and error reports."""
    for item in items:
        for text in (item.incoming.given, item.incoming.family):
            register_sensitive(text)
        if item.candidate is not None:
            register_sensitive(item.candidate.given)
            register_sensitive(item.candidate.family)


def _register_reports(reports: list[RecordReport]) -> None:
    for report in reports:
        register_sensitive(report.child.given)
        register_sensitive(report.child.family)
