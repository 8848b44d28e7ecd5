"""`OversightPage`: what every management screen shares — heading, error summary, loading, forms, clearing.

A page loads its list each time it is shown (and on Refresh, and after an action); API calls run through
`BackgroundCalls`, so the Qt thread never waits. A refusal is shown in the page's "There is a problem"
summary with the server's own words. `clear()` cancels the page's calls, closes its dialog and
forgets every row it holds (logout, lock, session expiry).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cpclient.api.errors import ApiError
from cpclient.api.models import Meta, User
from cpclient.api.oversight_client import OversightClient
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.layout import left_aligned
from cpclient.ui.modal import open_modal
from cpclient.ui.oversight.form_dialog import FormDialog
from cpclient.ui.status_message import StatusMessage

T = TypeVar("T")
LOADING = "Loading…"


@dataclass(frozen=True)
class OversightContext:
    """What every page needs: the calls, the signed-in user and the server's lists.

    Args:
        client: the oversight calls.
        calls: runs them off the Qt thread.
        mode: live or training.
        user: the signed-in management or national team member.
        meta: the server's reasons and policy.
    """

    client: OversightClient
    calls: BackgroundCalls
    mode: ClientMode
    user: User
    meta: Meta

    @property
    def acts(self) -> bool:
        """True for a management team, which acts on its authority; the national team reads."""
        return self.user.role == "cmt"

    @property
    def national(self) -> bool:
        """True for the national team."""
        return self.user.role == "national"


class OversightPage(QWidget):
    """The frame of a management screen; subclasses fill `body` and implement `load` and `forget`.

    Args:
        title: the page's heading.
        intro: one or two sentences on what the page is for.
        context: the calls and the signed-in user.

    Signals:
        status(str): a message for the status bar.
    """

    status = Signal(str)
    load_on_show = True

    def __init__(
        self, title: str, intro: str, context: OversightContext, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.setAccessibleName(title)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dialog: FormDialog | None = None
        self.loaded = False
        self.heading = Heading(title, 2, self)
        self.intro = QLabel(intro, self)
        self.intro.setWordWrap(True)
        self.intro.setAccessibleName(intro)
        self.summary = ErrorSummary(self)
        self.message = StatusMessage(self)
        self.body = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.intro)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addLayout(self.body, 1)

    # --- building --------------------------------------------------------------------------------

    def button(self, text: str, slot: Callable[[], None], description: str = "") -> QPushButton:
        """A push button (never the default, so Enter in a table does not press it)."""
        button = QPushButton(text, self)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        if description:
            button.setAccessibleDescription(description)
            button.setToolTip(description)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    def button_row(self, *buttons: QPushButton) -> QHBoxLayout:
        """The buttons in a row, left-aligned."""
        return left_aligned(*buttons)

    # --- loading ---------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        # Each time: what another tab did (an incident opened from an alert) shows here at once.
        if self.load_on_show and not self.busy:
            self.refresh()

    def refresh(self) -> None:
        """Fetch the page's lists again."""
        self.loaded = True
        self.start(self._load_with_status())

    async def _load_with_status(self) -> None:
        self.summary.clear()
        self.message.setText(LOADING)
        # No `finally`: a cancelled load (sign-out, lock) may find the page already destroyed, so
        # only a load that finished touches its widgets.
        await self.load()
        if self.message.text() == LOADING:
            self.message.clear()

    async def load(self) -> None:
        """Fetch and show the page's lists (subclasses)."""

    def forget(self) -> None:
        """Forget every row the page shows (subclasses)."""

    def start(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coroutine` on the Qt event loop; `clear()` cancels it."""
        task = self.context.calls.start(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def busy(self) -> bool:
        """True while a call started by this page is unfinished."""
        return any(not task.done() for task in self._tasks)

    async def fetch(self, call: Callable[[], T]) -> T | None:
        """The result of the blocking `call`, or None after showing why it failed."""
        try:
            return await self.context.calls.run(call)
        except ApiError as error:
            self.show_error(error)
            return None

    def show_error(self, error: ApiError, field: QWidget | None = None) -> None:
        """Show a refusal or failure in the page's error summary."""
        if self.message.text() == LOADING:
            self.message.clear()
        self.summary.show_problems([Problem(error.message, field)])

    def say(self, text: str) -> None:
        """Tell the person what just happened (on the page and in the status bar)."""
        self.message.setText(text)
        self.status.emit(text)

    # --- forms -----------------------------------------------------------------------------------

    def open_form(
        self, dialog: FormDialog, prepare: Callable[[], Callable[[], T]], done: Callable[[T], None]
    ) -> None:
        """Show `dialog` and, each time it is complete, send it.

        Args:
            dialog: the form.
            prepare: reads the form (while it is certainly open) and returns the blocking API call.
            done: shows the call's result on the page; the dialog then closes. A refusal
                (`ApiError`) is shown in the dialog instead, which stays open.
        """
        if self.dialog is not None:
            dialog.deleteLater()
            return
        self.dialog = dialog
        dialog.submitted.connect(lambda: self._form_submitted(dialog, prepare, done))
        open_modal(dialog, closed=lambda: self._form_closed(dialog))

    def _form_submitted(
        self, dialog: FormDialog, prepare: Callable[[], Callable[[], T]], done: Callable[[T], None]
    ) -> None:
        if dialog.busy:
            return
        call = prepare()
        dialog.set_busy(True)  # at once, so a second press cannot send the form twice
        self.start(self._send_form(dialog, call, done))

    async def _send_form(self, dialog: FormDialog, call: Callable[[], T], done: Callable[[T], None]) -> None:
        try:
            result = await self.context.calls.run(call)
        except ApiError as error:
            # Closed while the call ran (the dialog is gone): the page shows the refusal instead.
            if self.dialog is dialog:
                dialog.refused(error)
            else:
                self.show_error(error)
            return
        done(result)
        if self.dialog is dialog:
            dialog.set_busy(False)
            dialog.accept()

    def _form_closed(self, dialog: FormDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        self.activateWindow()

    # --- clearing --------------------------------------------------------------------------------

    def clear(self) -> None:
        """Cancel calls, close the dialog and forget every row (logout, lock, expiry)."""
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = None
        self.forget()
        self.summary.clear()
        self.message.clear()
        self.loaded = False

    def focus_start(self) -> None:
        """Put keyboard focus on the page's first control."""
        self.setFocus(Qt.FocusReason.OtherFocusReason)
