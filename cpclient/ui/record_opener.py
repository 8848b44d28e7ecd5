"""`RecordOpener`: the only way to open a record — the reason dialog first, then `POST .../views`.

Every request to open a result (double-click, Enter, the "Open record" button) arrives at
`request_open`, which only shows the `ReasonDialog`. The API's `open_record` is called in exactly one
place, `_open`, and only with the `StatedReason` taken from a dialog the person accepted. Cancel,
Escape or closing the dialog opens nothing.

Overriding a shielded record's shielding (for the few users who may) arrives at `request_override`:
the `ShieldOverrideDialog` warning must be acknowledged, then a reason given in the `ReasonDialog`;
the API's `override_shield` is called only in `_override`, with that reason. Cancelling either
dialog overrides nothing.
"""

from __future__ import annotations

import asyncio
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import ApiError
from cpclient.api.models import Meta, Record, SearchResult, ShieldedRecord, StatedReason, full_name
from cpclient.security.lockdown import mark_record_data
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.reason_dialog import ReasonDialog
from cpclient.ui.shield_override_dialog import ShieldOverrideDialog

OVERRIDING = "Overriding the shielding…"


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
        overridden(object): a shielded record's details arrived after an override.
        override_failed(str): the override was refused or failed; the argument is the message.
    """

    opening = Signal(str)
    opened = Signal(object)
    failed = Signal(str)
    overridden = Signal(object)
    override_failed = Signal(str)

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
        self.warning: ShieldOverrideDialog | None = None
        self._task: asyncio.Task[None] | None = None

    def set_meta(self, meta: Meta | None) -> None:
        """The server's reasons and minimum explanation length."""
        self._meta = meta

    @property
    def busy(self) -> bool:
        """True while the reason dialog or the override warning is open or a record is being fetched."""
        return (
            self.dialog is not None
            or self.warning is not None
            or (self._task is not None and not self._task.done())
        )

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

    # --- overriding shielding ----------------------------------------------------------------------

    def request_override(self, record: ShieldedRecord) -> None:
        """Warn what overriding `record`'s shielding does; if acknowledged, ask for the reason."""
        if self._meta is None or self.busy:
            return
        name = full_name(record)
        warning = ShieldOverrideDialog(name, self._mode, self._window)
        mark_record_data(warning.heading)
        self.warning = warning
        warning.finished.connect(partial(self._override_acknowledged, warning, record.id, name))
        warning.open()

    def _override_acknowledged(
        self, warning: ShieldOverrideDialog, child_id: str, name: str, result: int
    ) -> None:
        self.warning = None
        warning.deleteLater()
        if result != ShieldOverrideDialog.DialogCode.Accepted or self._meta is None:
            self._window.activateWindow()
            return
        # A new reason for this access: the override is audited as a view of its own.
        dialog = ReasonDialog(
            self._meta.reasons,
            self._meta.policy.reason_text_min_length,
            name,
            self._mode,
            self._window,
            question=f"Why do you need to override the shielding of {name}'s record?",
            confirm_text="&Override shielding",
            enter_confirms=False,
        )
        mark_record_data(dialog.heading)
        self.dialog = dialog
        dialog.finished.connect(partial(self._override_reason_given, dialog, child_id))
        dialog.open()

    def _override_reason_given(self, dialog: ReasonDialog, child_id: str, result: int) -> None:
        self.dialog = None
        reason = dialog.stated_reason() if result == ReasonDialog.DialogCode.Accepted else None
        dialog.deleteLater()
        self._window.activateWindow()
        if reason is not None:
            self._task = self._calls.start(self._override(child_id, reason))

    async def _override(self, child_id: str, reason: StatedReason) -> None:
        self.opening.emit(OVERRIDING)
        try:
            record: Record | ShieldedRecord = await self._calls.run(
                partial(self._api.override_shield, child_id, reason)
            )
        except ApiError as error:
            self.override_failed.emit(error.message)
            return
        self.overridden.emit(record)

    def cancel(self) -> None:
        """Close the dialogs and discard any record still being fetched (logout, lock)."""
        if self.warning is not None:
            self.warning.reject()
        self.warning = None
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
