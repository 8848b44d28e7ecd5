"""`ShieldingPage`: shield a record on a statutory ground with a review date, remove shielding with a
reason, and the shielded records due for review. The national team sees the review list only."""

from __future__ import annotations

import datetime as dt
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.errors import ApiError
from cpclient.api.oversight_models import ChildList, ChildListItem, ShieldGround, ShieldRequest, ShieldState
from cpclient.security.lockdown import mark_record_data
from cpclient.security.redaction import register_sensitive
from cpclient.security.watermark import Watermark
from cpclient.ui.date_entry import FORMAT_HINT, DateNotUnderstood, format_date, parse_date
from cpclient.ui.error_summary import Problem
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.labels import SHIELD_GROUNDS, label
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.oversight.text_prompt import MAX_TEXT, MIN_TEXT, tidy
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage
from cpclient.ui.text_field import date_edit, line_edit

CMT_INTRO = (
    "Shield a record when a child, or an adult, is at increased risk. Shielding takes effect for every "
    "user at once: others see only the name, gender, date of birth, ContactPoint ID and your team's "
    "contact details."
)
NATIONAL_INTRO = "Shielded records in every authority whose review date falls within 30 days, to read."
GROUND_CODES: tuple[ShieldGround, ...] = (
    "significant_harm",
    "adoption_placement",
    "adult_at_risk",
    "serious_crime",
)
# Refusals about the record itself belong to the ContactPoint ID field.
RECORD_CODES = frozenset({"child_not_found", "outside_your_authority", "not_shielded"})


def review_columns(national: bool) -> list[Column[ChildListItem]]:
    """The columns of the review list."""
    columns: list[Column[ChildListItem]] = [
        Column("ContactPoint ID", lambda c: c.id),
        Column("Name", lambda c: c.name),
        Column(
            "Date of birth", lambda c: format_date(c.date_of_birth), lambda c: c.date_of_birth.isoformat()
        ),
    ]
    if national:
        columns.append(Column("Local authority", lambda c: c.local_authority))
    columns += [
        Column("Ground", lambda c: label(SHIELD_GROUNDS, c.shield_ground)),
        Column(
            "Review by",
            lambda c: format_date(c.review_date) if c.review_date else "",
            lambda c: c.review_date.isoformat() if c.review_date else "",
        ),
    ]
    return columns


def reason_field(parent: QWidget) -> QPlainTextEdit:
    """A short multi-line reason field."""
    field = QPlainTextEdit(parent)
    field.setAccessibleDescription(f"At least {MIN_TEXT} characters")
    field.setTabChangesFocus(True)
    field.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
    field.setMaximumHeight(field.fontMetrics().lineSpacing() * 4)
    return field


class ShieldingPage(OversightPage):
    """The shield and unshield forms (management team) and the review list."""

    def __init__(
        self, context: OversightContext, parent: QWidget | None = None, *, today: dt.date | None = None
    ) -> None:
        title = "Shielding" if context.acts else "Shielded records due for review"
        super().__init__(title, CMT_INTRO if context.acts else NATIONAL_INTRO, context, parent)
        self._today = today
        self.shield_cp_id: QLineEdit | None = None
        self.shield_review: QLineEdit | None = None
        self.unshield_cp_id: QLineEdit | None = None
        self.shield_reason: QPlainTextEdit | None = None
        self.unshield_reason: QPlainTextEdit | None = None
        self.grounds: list[QRadioButton] = []
        self.ground_group = QButtonGroup(self)
        if context.acts:
            forms = QHBoxLayout()
            forms.addWidget(self._shield_form(), 3)
            forms.addWidget(self._unshield_form(), 2)
            self.body.addLayout(forms)
        self.body.addWidget(Heading("Shielded records due for review within 30 days", 3, self))
        self.review_state = StatusMessage(self)
        self.body.addWidget(self.review_state)
        self.model: RowsModel[ChildListItem] = RowsModel(review_columns(context.national), self)
        self.table = RowsTable(self.model, "Shielded records due for review", self)
        self.body.addWidget(self.table, 1)
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the review list again")
        self.use_button: QPushButton | None = None
        if context.acts:
            self.use_button = self.button(
                "Remove shielding from the &selected record…",
                self.use_selected,
                "Put the selected record's ContactPoint ID into the form for removing shielding",
            )
            self.table.current_changed.connect(self._update_use)
            self.body.addLayout(self.button_row(self.use_button, self.refresh_button))
            self._update_use()
        else:
            self.body.addLayout(self.button_row(self.refresh_button))
        mark_record_data(self.table)
        self.watermark = Watermark(self.table, context.user.display_name)

    def _update_use(self) -> None:
        if self.use_button is not None:
            self.use_button.setEnabled(self.table.current_item() is not None)

    # --- forms -----------------------------------------------------------------------------------

    def _section(self, title: str) -> tuple[QFrame, QFormLayout]:
        frame = QFrame(self)
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame.setAccessibleName(title)
        column = QVBoxLayout(frame)
        column.addWidget(Heading(title, 3, frame))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        column.addLayout(form)
        return frame, form

    def _left(self, button: QPushButton) -> QWidget:
        holder = QWidget(button.parentWidget())
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        button.setParent(holder)
        row.addWidget(button)
        row.addStretch(1)
        return holder

    def _row(self, form: QFormLayout, text: str, field: QWidget) -> None:
        """A labelled field; its accessible name is its label's words (the label is beside it)."""
        caption = QLabel(text, field.parentWidget())
        caption.setBuddy(field)
        field.setAccessibleName(text.replace("&", ""))
        form.addRow(caption, field)

    def _shield_form(self) -> QFrame:
        frame, form = self._section("Shield a record")
        self.shield_cp_id = line_edit(frame, 20)
        self.shield_cp_id.setAccessibleDescription("The record to shield")
        self._row(form, "Contact&Point ID", self.shield_cp_id)
        grounds = QWidget(frame)
        grounds.setAccessibleName("Ground for shielding")
        column = QVBoxLayout(grounds)
        column.setContentsMargins(0, 0, 0, 0)
        for number, code in enumerate(GROUND_CODES):
            choice = QRadioButton(SHIELD_GROUNDS[code], grounds)
            choice.setAccessibleName(SHIELD_GROUNDS[code])
            self.ground_group.addButton(choice, number)
            self.grounds.append(choice)
            column.addWidget(choice)
        form.addRow(QLabel("Ground", frame), grounds)
        self.shield_review = date_edit(frame)
        self.shield_review.setAccessibleDescription(f"Write the date as {FORMAT_HINT}; a future date")
        self._row(form, "Re&view date", self.shield_review)
        self.shield_reason = reason_field(frame)
        self._row(form, "Reason for shie&lding", self.shield_reason)
        self.shield_button = self.button("Shield &record", self.shield, "Shield this record for every user")
        form.addRow("", self._left(self.shield_button))
        return frame

    def _unshield_form(self) -> QFrame:
        frame, form = self._section("Remove shielding")
        self.unshield_cp_id = line_edit(frame, 20)
        self.unshield_cp_id.setAccessibleDescription("The record to remove shielding from")
        self._row(form, "ContactPoint &ID", self.unshield_cp_id)
        self.unshield_reason = reason_field(frame)
        self._row(form, "Reason for removin&g it", self.unshield_reason)
        self.unshield_reason.setAccessibleDescription(
            f"Why this record's shielding is being removed. At least {MIN_TEXT} characters"
        )
        self.unshield_button = self.button("Remove shiel&ding", self.unshield)
        form.addRow("", self._left(self.unshield_button))
        column = frame.layout()
        if isinstance(column, QVBoxLayout):
            column.addStretch(1)
        return frame

    def chosen_ground(self) -> ShieldGround | None:
        """The ground chosen, or None."""
        number = self.ground_group.checkedId()
        return GROUND_CODES[number] if 0 <= number < len(GROUND_CODES) else None

    def shield_request(self) -> tuple[ShieldRequest | None, list[Problem]]:
        """The shielding asked for in the form, or the problems that stop it being sent."""
        assert self.shield_cp_id is not None and self.shield_review is not None
        assert self.shield_reason is not None
        problems: list[Problem] = []
        if not self.shield_cp_id.text().strip():
            problems.append(Problem("Enter the ContactPoint ID of the record to shield", self.shield_cp_id))
        ground = self.chosen_ground()
        if ground is None:
            problems.append(Problem("Choose the ground for shielding", self.grounds[0]))
        review: dt.date | None = None
        try:
            review = parse_date(self.shield_review.text())
        except DateNotUnderstood:
            problems.append(
                Problem("Enter the review date as a real date, like 31/03/2010", self.shield_review)
            )
        else:
            if review is None:
                problems.append(Problem("Enter the review date", self.shield_review))
            elif review <= (self._today or dt.date.today()):
                problems.append(Problem("The review date must be in the future", self.shield_review))
        reason = tidy(self.shield_reason.toPlainText())
        if not MIN_TEXT <= len(reason) <= MAX_TEXT:
            problems.append(
                Problem(
                    f"Enter the reason for shielding: {MIN_TEXT} to {MAX_TEXT} characters", self.shield_reason
                )
            )
        if problems or ground is None or review is None:
            return None, problems
        return ShieldRequest(ground=ground, review_date=review, reason=reason), []

    def shield(self) -> None:
        """Check the form, then shield the record."""
        if self.busy or self.shield_cp_id is None:
            return
        request, problems = self.shield_request()
        if request is None:
            self.summary.show_problems(problems)
            return
        self.start(self._shield(self.shield_cp_id.text().strip(), request))

    async def _shield(self, cp_id: str, request: ShieldRequest) -> None:
        assert self.shield_cp_id is not None and self.shield_review is not None
        assert self.shield_reason is not None
        self.summary.clear()
        fields: dict[str, QWidget] = {
            "ground": self.grounds[0],
            "review_date": self.shield_review,
            "reason": self.shield_reason,
        }
        try:
            state: ShieldState = await self.context.calls.run(
                partial(self.context.client.shield, cp_id, request)
            )
        except ApiError as error:
            self._refused(error, self.shield_cp_id, fields)
            return
        self.shield_cp_id.clear()
        self.shield_review.clear()
        self.shield_reason.clear()
        self.ground_group.setExclusive(False)
        for choice in self.grounds:
            choice.setChecked(False)
        self.ground_group.setExclusive(True)
        review = format_date(state.review_date) if state.review_date else ""
        self.say(
            f"Record {state.id} is shielded ({label(SHIELD_GROUNDS, state.ground).lower()}); "
            f"review by {review}. It applies to every user at once."
        )
        await self.load()

    def unshield(self) -> None:
        """Check the form, then remove the record's shielding."""
        if self.busy or self.unshield_cp_id is None or self.unshield_reason is None:
            return
        problems: list[Problem] = []
        cp_id = self.unshield_cp_id.text().strip()
        reason = tidy(self.unshield_reason.toPlainText())
        if not cp_id:
            problems.append(
                Problem("Enter the ContactPoint ID of the record to unshield", self.unshield_cp_id)
            )
        if not MIN_TEXT <= len(reason) <= MAX_TEXT:
            problems.append(
                Problem(
                    f"Enter the reason for removing shielding: {MIN_TEXT} to {MAX_TEXT} characters",
                    self.unshield_reason,
                )
            )
        if problems:
            self.summary.show_problems(problems)
            return
        self.start(self._unshield(cp_id, reason))

    async def _unshield(self, cp_id: str, reason: str) -> None:
        assert self.unshield_cp_id is not None and self.unshield_reason is not None
        self.summary.clear()
        try:
            state: ShieldState = await self.context.calls.run(
                partial(self.context.client.unshield, cp_id, reason)
            )
        except ApiError as error:
            self._refused(error, self.unshield_cp_id, {"reason": self.unshield_reason})
            return
        self.unshield_cp_id.clear()
        self.unshield_reason.clear()
        self.say(f"Record {state.id} is no longer shielded.")
        await self.load()

    def _refused(self, error: ApiError, id_field: QWidget, fields: dict[str, QWidget]) -> None:
        field = id_field if error.code in RECORD_CODES else fields.get(error.field or "")
        self.show_error(error, field)

    def use_selected(self) -> None:
        """Put the selected review's ContactPoint ID into the unshield form."""
        child = self.table.current_item()
        if child is None or self.unshield_cp_id is None or self.unshield_reason is None:
            return
        self.unshield_cp_id.setText(child.id)
        self.unshield_reason.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- the review list -------------------------------------------------------------------------

    async def load(self) -> None:
        found: ChildList | None = await self.fetch(self.context.client.shield_reviews)
        if found is None:
            return
        for child in found.children:
            register_sensitive(child.given)
            register_sensitive(child.family)
        self.model.set_rows(found.children)
        self._update_use()
        count = len(found.children)
        self.review_state.setText(
            "No shielded records are due for review within 30 days."
            if count == 0
            else f"{count} record{'s' if count > 1 else ''} due for review."
        )

    def forget(self) -> None:
        self.model.clear()
        self.review_state.clear()
        for field in (self.shield_cp_id, self.shield_review, self.unshield_cp_id):
            if field is not None:
                field.clear()
        for text in (self.shield_reason, self.unshield_reason):
            if text is not None:
                text.clear()
