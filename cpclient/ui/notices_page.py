"""`NoticesPage`: the inbox of involvement notices, and `NoticesButton`, its unread count on every screen.

A practitioner is told, without asking, when another service starts or stops working with a child
they work with. The button sits in the session bar, so the count shows on every signed-in screen
(training ones too); a rise in the count is announced to screen readers. Opening the page fetches
the notices (the server audits each before sending it); each can be answered "contacted", "not
needed" or "not yet", and the person chooses how notices reach them within the policy. Leaving the
page, signing out or locking forgets every notice it held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar, cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.errors import ApiError
from cpclient.api.models import Meta
from cpclient.api.notices import (
    DELIVERY_LABELS,
    FOLLOW_UP_LABELS,
    Delivery,
    FollowUp,
    FollowUpAnswer,
    Notice,
    NoticesClient,
    NoticeSettings,
)
from cpclient.security.redaction import register_sensitive
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.date_entry import format_date, format_long_date
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.layout import scrolling
from cpclient.ui.record_view import Section
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage

T = TypeVar("T")

TITLE = "Notices"
INTRO = (
    "You are told here when another service starts or stops working with a child you work with, so "
    "you can contact each other. Each notice shows what opening the child's record would show you, "
    "and opening this page is recorded in the audit trail."
)
LOADING = "Loading notices…"
NONE_YET = "You have no notices."
LEAD_NOTE = "Notices about a child you lead on always come at once, whatever you choose here."
WITHHELD = (
    "This child's record is shielded, so the other service's details are withheld. Contact the "
    "management team, who will put you in touch."
)


def button_text(unread: int, more: bool) -> str:
    """The button's visible label (with its Alt+I mnemonic)."""
    if unread == 0:
        return "Not&ices"
    return f"Not&ices ({unread}{'+' if more else ''} unread)"


class NoticesButton(QPushButton):
    """The unread count, in the session bar; its accessible name is its visible label.

    Signals:
        announced(str): a new notice arrived; the sentence screen readers are given.
    """

    announced = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticesButton")
        self.setAutoDefault(False)
        self.setToolTip("Who else is working with the children you work with")
        self.unread = 0
        self.set_count(0, more=False)

    def set_count(self, unread: int, *, more: bool) -> None:
        """Show `unread`; announce it when it has gone up."""
        rose = unread > self.unread
        self.unread = unread
        text = button_text(unread, more)
        self.setText(text)
        self.setAccessibleName(text.replace("&", ""))
        if rose:
            sentence = (
                f"You have {unread}{' or more' if more else ''} unread notice{'s' if unread != 1 else ''}."
            )
            self.setAccessibleDescription(sentence)
            QAccessible.updateAccessibility(QAccessibleEvent(self, QAccessible.Event.NameChanged))
            QAccessible.updateAccessibility(QAccessibleEvent(self, QAccessible.Event.Alert))
            self.announced.emit(sentence)
        elif unread == 0:
            self.setAccessibleDescription("")


def _notice_columns() -> list[Column[Notice]]:
    return [
        Column("New", lambda n: "New" if n.unread else ""),
        Column("Received", lambda n: format_date(n.created_at.astimezone().date()), lambda n: n.created_at),
        Column("Child", lambda n: n.child.name),
        Column(
            "Date of birth", lambda n: format_date(n.child.date_of_birth), lambda n: n.child.date_of_birth
        ),
        Column("What happened", lambda n: n.headline),
        Column("Follow-up", lambda n: FOLLOW_UP_LABELS[n.follow_up] if n.follow_up else "Not answered"),
    ]


class NoticesPage(QWidget):
    """The inbox: a table of notices, the chosen one in full, its follow-up, and the delivery setting.

    Args:
        client: the notice calls.
        calls: runs them off the Qt thread.
        work: the main window's work area; this page is added to it.
        session_bar: the strip with Lock and Sign out; the Notices button is added to it.

    Signals:
        opening(): the page is about to be shown (the record view should forget its record).
        back_requested(): the person wants the search page again.
        read(): notices were shown (the unread count should be asked for again).
        status(str): a message for the status bar.
    """

    opening = Signal()
    back_requested = Signal()
    read = Signal()
    status = Signal(str)

    def __init__(
        self, client: NoticesClient, calls: BackgroundCalls, work: QStackedWidget, session_bar: QWidget
    ) -> None:
        super().__init__(work)
        self.setObjectName("noticesPage")
        self.setAccessibleName(TITLE)
        self._client = client
        self._calls = calls
        self._work = work
        self._tasks: set[asyncio.Task[Any]] = set()
        self.settings: NoticeSettings | None = None

        self.back_button = QPushButton("&Back to search", self)
        self.back_button.setAccessibleName("Back to search")
        self.back_button.setAutoDefault(False)
        self.back_button.clicked.connect(self.leave)
        self.heading = Heading(TITLE, 1, self)
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.heading, 1)
        self.intro = QLabel(INTRO, self)
        self.intro.setWordWrap(True)
        self.intro.setAccessibleName(INTRO)
        self.summary = ErrorSummary(self)
        self.message = StatusMessage(self)

        self.model: RowsModel[Notice] = RowsModel(_notice_columns(), self)
        self.table = RowsTable(self.model, "Notices", self)
        self.table.current_changed.connect(self._show_chosen)
        self.refresh_button = QPushButton("&Refresh", self)
        self.refresh_button.setAccessibleName("Refresh")
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh)

        self.detail = QWidget(self)
        self.detail.setAccessibleName("Chosen notice")
        self._detail_layout = QVBoxLayout(self.detail)
        self._detail_layout.setContentsMargins(0, 0, 0, 0)
        self.detail_section: Section | None = None

        self.follow_up_box = QGroupBox("Have you followed this up?", self)
        self.follow_up_box.setAccessibleName("Have you followed this up?")
        self.answers = QButtonGroup(self)
        answers_row = QHBoxLayout(self.follow_up_box)
        self.answer_buttons: dict[str, QRadioButton] = {}
        for value, text in (
            ("contacted", "&Contacted"),
            ("not_needed", "N&ot needed"),
            ("not_yet", "Not &yet"),
        ):
            radio = QRadioButton(text, self.follow_up_box)
            radio.setAccessibleName(text.replace("&", ""))
            self.answers.addButton(radio)
            self.answer_buttons[value] = radio
            answers_row.addWidget(radio)
        self.save_answer_button = QPushButton("Sa&ve answer", self.follow_up_box)
        self.save_answer_button.setAccessibleName("Save answer")
        self.save_answer_button.setAutoDefault(False)
        self.save_answer_button.clicked.connect(self.save_answer)
        answers_row.addWidget(self.save_answer_button)
        answers_row.addStretch(1)
        self.follow_up_due = QLabel(self.follow_up_box)
        self.follow_up_due.setWordWrap(True)
        answers_row.addWidget(self.follow_up_due)

        self.settings_box = QGroupBox("How notices reach you", self)
        self.settings_box.setAccessibleName("How notices reach you")
        settings_row = QHBoxLayout(self.settings_box)
        delivery_label = QLabel("&Notices come", self.settings_box)
        delivery_label.setAccessibleName("Notices come")
        self.delivery = QComboBox(self.settings_box)
        self.delivery.setAccessibleName("Notices come")
        delivery_label.setBuddy(self.delivery)
        self.save_setting_button = QPushButton("Save &setting", self.settings_box)
        self.save_setting_button.setAccessibleName("Save setting")
        self.save_setting_button.setAutoDefault(False)
        self.save_setting_button.clicked.connect(self.save_setting)
        self.lead_note = QLabel(LEAD_NOTE, self.settings_box)
        self.lead_note.setWordWrap(True)
        self.lead_note.setAccessibleName(LEAD_NOTE)
        settings_row.addWidget(delivery_label)
        settings_row.addWidget(self.delivery)
        settings_row.addWidget(self.save_setting_button)
        settings_row.addWidget(self.lead_note, 1)

        # The page scrolls when the window is smaller than it (a laptop screen): nothing is squeezed.
        content = QWidget(self)
        column = QVBoxLayout(content)
        column.addLayout(top)
        column.addWidget(self.intro)
        column.addWidget(self.summary)
        column.addWidget(self.message)
        column.addWidget(self.table, 2)
        column.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.detail, 1)
        column.addWidget(self.follow_up_box)
        column.addWidget(self.settings_box)
        self.table.setMinimumHeight(self.fontMetrics().lineSpacing() * 10)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scrolling(content, self))
        work.addWidget(self)

        self.button = NoticesButton(session_bar)
        self.button.clicked.connect(self.open)
        self.button.hide()
        bar_layout = session_bar.layout()
        if isinstance(bar_layout, QBoxLayout):
            bar_layout.insertWidget(1, self.button)  # after "signed in as", before Lock and Sign out
        self._show_chosen()

    # --- the session -----------------------------------------------------------------------------

    def set_session(self, role: str, meta: Meta) -> None:
        """Offer the inbox to a practitioner (the only role that receives notices)."""
        self.forget_session()
        if role != "practitioner":
            return
        self.delivery.clear()
        for value in meta.policy.notice_deliveries:
            if value in DELIVERY_LABELS:
                self.delivery.addItem(DELIVERY_LABELS[value], value)
        self.button.show()

    def forget_session(self) -> None:
        """Forget everything and hide the button (sign-out, lock, expiry)."""
        self.clear()
        self.button.hide()
        self.button.set_count(0, more=False)

    # --- opening and leaving ---------------------------------------------------------------------

    def open(self) -> None:
        """Show the page and fetch the notices."""
        if self.button.isHidden():
            return
        self.opening.emit()
        self._work.setCurrentWidget(self)
        self.refresh()
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh(self) -> None:
        """Fetch the notices and the setting again."""
        self._start(self._load())

    async def _load(self) -> None:
        self.summary.clear()
        self.message.setText(LOADING)
        notices = await self._fetch(self._client.open_inbox)
        if notices is None:
            return
        for notice in notices:
            register_sensitive(notice.child.given)
            register_sensitive(notice.child.family)
        self.model.set_rows(notices)
        fresh = sum(1 for notice in notices if notice.unread)
        self.message.setText(
            NONE_YET
            if not notices
            else f"{len(notices)} notice{'s' if len(notices) != 1 else ''}, {fresh} new."
        )
        self.table.select_first()
        self.read.emit()
        settings = await self._fetch(self._client.settings)
        if settings is not None:
            self.settings = settings
            self._choose_delivery(settings.delivery)

    def leave(self) -> None:
        """Forget the notices and go back to search."""
        self.clear()
        self.back_requested.emit()

    def clear(self) -> None:
        """Cancel calls and forget every notice shown (leaving, sign-out, lock)."""
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self.model.clear()
        self.summary.clear()
        self.message.clear()
        self.settings = None
        self._show_chosen()

    # --- the chosen notice -----------------------------------------------------------------------

    @property
    def chosen(self) -> Notice | None:
        """The notice selected in the table."""
        return self.table.current_item()

    def _show_chosen(self) -> None:
        if self.detail_section is not None:
            self._detail_layout.removeWidget(self.detail_section)
            self.detail_section.deleteLater()
            self.detail_section = None
        notice = self.chosen
        self.follow_up_box.setEnabled(notice is not None)
        self.answers.setExclusive(False)
        for radio in self.answer_buttons.values():
            radio.setChecked(False)
        self.answers.setExclusive(True)
        self.follow_up_due.clear()
        if notice is None:
            return
        section = Section(notice.headline, self.detail, level=2)
        section.row("Child", notice.child.name)
        section.row("Date of birth", format_long_date(notice.child.date_of_birth))
        section.row("ContactPoint ID", notice.child.id)
        involvement = notice.involvement
        if involvement is not None:
            section.row("Service", involvement.service_label)
            section.row("Practitioner", involvement.practitioner_name)
            section.row("Role", involvement.role)
            section.row("Organisation", involvement.organisation)
            section.row("Telephone", involvement.telephone)
            section.row("Email", involvement.email)
            section.row("Lead professional", "Yes" if involvement.lead_professional else "No")
            if involvement.ended_on is not None:
                section.row("Ended on", format_long_date(involvement.ended_on))
        elif notice.broker is not None:
            note = QLabel(WITHHELD, section)
            note.setWordWrap(True)
            note.setAccessibleName(WITHHELD)
            section.widget(note)
            section.row("Management team", notice.broker.name)
            section.row("Telephone", notice.broker.telephone)
            section.row("Email", notice.broker.email)
        if notice.lead:
            section.row("You lead on this child", "Yes")
        self._detail_layout.addWidget(section)
        self.detail_section = section
        if notice.follow_up is not None:
            self.answer_buttons[notice.follow_up].setChecked(True)
        due = f"Follow up by {format_long_date(notice.follow_up_due.astimezone().date())}."
        self.follow_up_due.setText(due)
        self.follow_up_due.setAccessibleName(due)

    def save_answer(self) -> None:
        """Send the chosen answer for the chosen notice."""
        notice = self.chosen
        answer = next((value for value, radio in self.answer_buttons.items() if radio.isChecked()), None)
        if notice is None:
            return
        if answer is None:
            self.summary.show_problems(
                [Problem("Choose contacted, not needed or not yet.", self.answer_buttons["contacted"])]
            )
            return
        self._start(self._save_answer(notice, cast(FollowUp, answer)))

    async def _save_answer(self, notice: Notice, answer: FollowUp) -> None:
        self.summary.clear()
        saved: FollowUpAnswer | None = await self._fetch(lambda: self._client.answer(notice.id, answer))
        if saved is None:
            return
        rows = [
            item.model_copy(update={"follow_up": saved.follow_up}) if item.id == notice.id else item
            for item in self.model.rows
        ]
        self.model.set_rows(rows)
        self.table.select_where(lambda item: item.id == notice.id)
        self._say(f"Answer saved: {FOLLOW_UP_LABELS[saved.follow_up].lower()}.")

    # --- the setting -----------------------------------------------------------------------------

    def _choose_delivery(self, delivery: str) -> None:
        index = self.delivery.findData(delivery)
        if index >= 0:
            self.delivery.setCurrentIndex(index)

    def save_setting(self) -> None:
        """Send the chosen delivery setting."""
        value = self.delivery.currentData()
        if isinstance(value, str):
            self._start(self._save_setting(cast(Delivery, value)))

    async def _save_setting(self, delivery: Delivery) -> None:
        self.summary.clear()
        settings = await self._fetch(lambda: self._client.set_delivery(delivery))
        if settings is None:
            return
        self.settings = settings
        self._choose_delivery(settings.delivery)
        self._say(f"Setting saved: notices come {DELIVERY_LABELS[settings.delivery].lower()}.")

    # --- plumbing --------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.status.emit(text)

    def _start(self, coroutine: Any) -> None:
        task = self._calls.start(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, call: Callable[[], T]) -> T | None:
        try:
            return await self._calls.run(call)
        except ApiError as error:
            if self.message.text() == LOADING:
                self.message.clear()
            self.summary.show_problems([Problem(error.message)])
            return None

    @property
    def busy(self) -> bool:
        """True while a call started here is unfinished."""
        return any(not task.done() for task in self._tasks)
