"""`RecordOpener`: the only way to open a record — the reason dialog first, then `POST .../views`.

Every request to open a result (double-click, Enter, the "Open record" button) arrives at
`request_open`, which only shows the `ReasonDialog`. The API's `open_record` is called in exactly one
place, `_fetch`, and only with the `StatedReason` taken from a dialog the person accepted
(`_fetch_after`). Cancel, Escape or closing the dialog opens nothing.

Overriding a shielded record's shielding (for the few users who may) arrives at `request_override`:
the `ShieldOverrideDialog` warning must be acknowledged, then a reason given in the `ReasonDialog`;
the API's `override_shield` is called only in `_fetch`, with that reason. Cancelling either
dialog overrides nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Signal, SignalInstance
from PySide6.QtWidgets import QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import ApiError
from cpclient.api.models import Meta, Record, SearchResult, ShieldedRecord, StatedReason, full_name
from cpclient.security.lockdown import mark_record_data
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.modal import DialogActions, open_modal
from cpclient.ui.reason_dialog import ReasonDialog
from cpclient.ui.shield_override_dialog import ShieldOverrideDialog

OPENING = "Opening the record…"
OVERRIDING = "Overriding the shielding…"


class RecordOpener(DialogActions):
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
        super().__init__(api, calls, mode, window)
        self.dialog: ReasonDialog | None = None
        self.warning: ShieldOverrideDialog | None = None
        self._task: asyncio.Task[None] | None = None

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
        cp_id = result.id
        self.dialog = open_modal(
            self._reason_dialog(self._meta, result.name),
            lambda given: self._fetch_after(
                given, self._api.open_record, cp_id, OPENING, self.opened, self.failed
            ),
            self._dialog_closed,
        )

    def _reason_dialog(
        self,
        meta: Meta,
        name: str,
        *,
        question: str = "",
        confirm_text: str = "&Open record",
        enter_confirms: bool = True,
    ) -> ReasonDialog:
        dialog = ReasonDialog(
            meta.reasons,
            meta.policy.reason_text_min_length,
            name,
            self._mode,
            self._window,
            question=question,
            confirm_text=confirm_text,
            enter_confirms=enter_confirms,
        )
        # The child's name in the question is record data (the explanation field stays editable).
        mark_record_data(dialog.heading)
        return dialog

    def _dialog_closed(self) -> None:
        self.dialog = None
        self._window.activateWindow()

    def _fetch_after(
        self,
        dialog: ReasonDialog,
        call: Callable[[str, StatedReason], Record | ShieldedRecord],
        cp_id: str,
        message: str,
        arrived: SignalInstance,
        refused: SignalInstance,
    ) -> None:
        reason = dialog.stated_reason()
        if reason is not None:
            self._task = self._calls.start(
                self._fetch(partial(call, cp_id, reason), message, arrived, refused)
            )

    async def _fetch(
        self,
        call: Callable[[], Record | ShieldedRecord],
        message: str,
        arrived: SignalInstance,
        refused: SignalInstance,
    ) -> None:
        self.opening.emit(message)
        try:
            record: Record | ShieldedRecord = await self._calls.run(call)
        except ApiError as error:
            refused.emit(error.message)
            return
        arrived.emit(record)

    # --- overriding shielding ----------------------------------------------------------------------

    def request_override(self, record: ShieldedRecord) -> None:
        """Warn what overriding `record`'s shielding does; if acknowledged, ask for the reason."""
        if self._meta is None or self.busy:
            return
        cp_id, name = record.id, full_name(record)
        warning = ShieldOverrideDialog(name, self._mode, self._window)
        mark_record_data(warning.heading)
        self.warning = open_modal(
            warning, lambda _warning: self._ask_override_reason(cp_id, name), self._warning_closed
        )

    def _warning_closed(self) -> None:
        self.warning = None
        self._window.activateWindow()

    def _ask_override_reason(self, cp_id: str, name: str) -> None:
        if self._meta is None:
            return
        # A new reason for this access: the override is audited as a view of its own.
        dialog = self._reason_dialog(
            self._meta,
            name,
            question=f"Why do you need to override the shielding of {name}'s record?",
            confirm_text="&Override shielding",
            enter_confirms=False,
        )
        self.dialog = open_modal(
            dialog,
            lambda given: self._fetch_after(
                given, self._api.override_shield, cp_id, OVERRIDING, self.overridden, self.override_failed
            ),
            self._dialog_closed,
        )

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
