"""`InvolvementActions`: a practitioner adds or ends their own involvement with the child on screen.

The record view only draws the record and asks (`add_requested`, `end_requested`); this object shows
the `InvolvementDialog` or the confirmation, sends the call off the Qt thread and reports what came of
it through its signals, which the main window passes back to the record view.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import ApiError
from cpclient.api.models import Involvement, InvolvementDraft, Record, ShieldedRecord, full_name
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.confirm_dialog import ConfirmDialog
from cpclient.ui.date_entry import format_long_date
from cpclient.ui.involvement_dialog import InvolvementDialog
from cpclient.ui.modal import DialogActions, open_modal


class InvolvementActions(DialogActions):
    """Adds and ends the signed-in practitioner's own involvements.

    Args:
        api: the API client.
        calls: runs the calls off the Qt thread.
        mode: live or training.
        window: the window the dialogs belong to.

    Signals:
        working(str): a call is under way; the argument says which.
        failed(str): the call failed; the argument is the message to show.
        changed(str, object, str): the record `cp_id` now has this `Involvement` (added or ended);
            the last argument says so in words.
    """

    working = Signal(str)
    failed = Signal(str)
    changed = Signal(str, object, str)

    def __init__(
        self, api: ContactPointClient, calls: BackgroundCalls, mode: ClientMode, window: QWidget
    ) -> None:
        super().__init__(api, calls, mode, window)
        self.dialog: InvolvementDialog | None = None
        self.confirm: ConfirmDialog | None = None

    def add(self, record: Record | ShieldedRecord) -> None:
        """Ask for the details of the practitioner's involvement with `record`'s child, then record it."""
        if self._meta is None or self.dialog is not None:
            return
        cp_id = record.id
        dialog = InvolvementDialog(
            self._meta.service_types,
            self._meta.involvement_guidance,
            full_name(record),
            self._mode,
            self._window,
        )
        self.dialog = open_modal(dialog, lambda given: self._send_draft(cp_id, given), self._dialog_closed)

    def _dialog_closed(self) -> None:
        self.dialog = None

    def _send_draft(self, cp_id: str, dialog: InvolvementDialog) -> None:
        draft = dialog.draft()
        if draft is not None:
            self._calls.start(self._add(cp_id, draft))

    async def _add(self, cp_id: str, draft: InvolvementDraft) -> None:
        self.working.emit("Recording your involvement…")
        try:
            added: Involvement = await self._calls.run(partial(self._api.add_involvement, cp_id, draft))
        except ApiError as error:
            self.failed.emit(error.message)
            return
        self.changed.emit(cp_id, added, f"Your involvement ({added.service_label}) has been recorded.")

    def end(self, record: Record | ShieldedRecord, involvement: Involvement) -> None:
        """Ask for confirmation, then end one of the practitioner's own involvements with `record`'s child."""
        if self.confirm is not None:
            return
        cp_id = record.id
        confirm = ConfirmDialog(
            "End my involvement",
            f"End your involvement ({involvement.service_label}) with this child today?",
            "It stays on the record, with today's date as its end, so others can see who was involved.",
            "&End involvement",
            self._mode,
            self._window,
        )
        self.confirm = open_modal(
            confirm,
            lambda _confirm: self._calls.start(self._end(cp_id, involvement.id)),
            self._confirm_closed,
        )

    def _confirm_closed(self) -> None:
        self.confirm = None

    async def _end(self, cp_id: str, involvement_id: int) -> None:
        self.working.emit("Ending your involvement…")
        try:
            ended: Involvement = await self._calls.run(partial(self._api.end_involvement, involvement_id))
        except ApiError as error:
            self.failed.emit(error.message)
            return
        when = format_long_date(ended.ended_on or dt.date.today())
        self.changed.emit(cp_id, ended, f"Your involvement ({ended.service_label}) ended on {when}.")

    def cancel(self) -> None:
        """Close any open dialog without acting on it (the record was cleared)."""
        for dialog in (self.dialog, self.confirm):
            if dialog is not None:
                dialog.reject()
        self.dialog = None
        self.confirm = None
