"""`RecordOpener`: the only way to open a record — the reason dialog first, then `POST .../views`.

Every request to open a result (double-click, Enter, the "Open record" button) arrives at
`request_open`, which only shows the `ReasonDialog`. The API's `open_record` is called in exactly one
place, `_open`, and only with the `StatedReason` taken from a dialog the person accepted. Cancel,
Escape or closing the dialog opens nothing.
"""

from __future__ import annotations

import asyncio
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import ApiError
from cpclient.api.models import Meta, Record, SearchResult, ShieldedRecord, StatedReason
from cpclient.security.lockdown import mark_record_data
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.reason_dialog import ReasonDialog


class RecordOpener(QObject):
    """Opens records, always through the reason dialog.

    Args:
        api: the API client.
        calls: runs the call off the Qt thread.
        mode: live or training.
        window: the window the dialog belongs to.

    Signals:
        opening(str): the record is being fetched; the argument is a status message.
        opened(object): the record (`Record` or `ShieldedRecord`) arrived.
        failed(str): it could not be opened; the argument is the message to show.
    """

    opening = Signal(str)
    opened = Signal(object)
    failed = Signal(str)

    def __init__(
        self, api: ContactPointClient, calls: BackgroundCalls, mode: ClientMode, window: QWidget
    ) -> None:
        super().__init__(window)
        self._api = api
        self._calls = calls
        self._mode = mode
        self._window = window
        self._meta: Meta | None = None
        self.dialog: ReasonDialog | None = None
        self._task: asyncio.Task[None] | None = None

    def set_meta(self, meta: Meta | None) -> None:
        """The server's reasons and minimum explanation length."""
        self._meta = meta

    @property
    def busy(self) -> bool:
        """True while the reason dialog is open or a record is being fetched."""
        return self.dialog is not None or (self._task is not None and not self._task.done())

    def request_open(self, result: SearchResult) -> None:
        """Ask for the reason for opening `result`'s record (nothing is fetched yet)."""
        if self._meta is None or self.busy:
            return
        dialog = ReasonDialog(
            self._meta.reasons,
            self._meta.policy.reason_text_min_length,
            result.name,
            self._mode,
            self._window,
        )
        # The child's name in the question is record data (the explanation field stays editable).
        mark_record_data(dialog.heading)
        self.dialog = dialog
        dialog.finished.connect(partial(self._reason_given, dialog, result.id))
        dialog.open()

    def _reason_given(self, dialog: ReasonDialog, child_id: str, result: int) -> None:
        self.dialog = None
        reason = dialog.stated_reason() if result == ReasonDialog.DialogCode.Accepted else None
        dialog.deleteLater()
        self._window.activateWindow()
        if reason is not None:
            self._task = self._calls.start(self._open(child_id, reason))

    async def _open(self, child_id: str, reason: StatedReason) -> None:
        self.opening.emit("Opening the record…")
        try:
            record: Record | ShieldedRecord = await self._calls.run(
                partial(self._api.open_record, child_id, reason)
            )
        except ApiError as error:
            self.failed.emit(error.message)
            return
        self.opened.emit(record)

    def cancel(self) -> None:
        """Close the reason dialog and discard any record still being fetched (logout, lock)."""
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
