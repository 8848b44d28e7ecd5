"""`RecordReports`: "this is not right" — a user reports a problem with the record on screen.

The record view asks (`report_requested`); this object shows the `RecordReportDialog`, sends the
report off the Qt thread and says what came of it through its signals.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import ApiError
from cpclient.api.models import Record, ShieldedRecord, full_name
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.modal import DialogActions, open_modal
from cpclient.ui.record_report_dialog import RecordReportDialog

SENT = (
    "Thank you: your report ({problem}) has gone to the management team, who will check it with the source."
)


class RecordReports(DialogActions):
    """Asks what is wrong with a record and sends the report.

    Signals:
        working(str): the report is being sent.
        failed(str): it was refused or could not be sent; the message to show.
        sent(str, str): the report about record `cp_id` (first argument) was received; the second
            argument says so in words.
    """

    working = Signal(str)
    failed = Signal(str)
    sent = Signal(str, str)

    def __init__(
        self, api: ContactPointClient, calls: BackgroundCalls, mode: ClientMode, window: QWidget
    ) -> None:
        super().__init__(api, calls, mode, window)
        self.dialog: RecordReportDialog | None = None

    def ask(self, record: Record | ShieldedRecord) -> None:
        """Ask what is not right with `record`, then send the report."""
        if self._meta is None or not self._meta.record_problems or self.dialog is not None:
            return
        cp_id = record.id
        dialog = RecordReportDialog(self._meta.record_problems, full_name(record), self._mode, self._window)
        self.dialog = open_modal(dialog, lambda given: self._send(cp_id, given), self._closed)

    def _closed(self) -> None:
        self.dialog = None

    def _send(self, cp_id: str, dialog: RecordReportDialog) -> None:
        problem = dialog.chosen()
        if problem is not None:
            self._calls.start(self._report(cp_id, problem.code, problem.label))

    async def _report(self, cp_id: str, code: str, label: str) -> None:
        self.working.emit("Sending your report…")
        try:
            await self._calls.run(partial(self._api.report_record, cp_id, code))
        except ApiError as error:
            self.failed.emit(error.message)
            return
        self.sent.emit(cp_id, SENT.format(problem=label[:1].lower() + label[1:]))

    def cancel(self) -> None:
        """Close the dialog without sending (the record was cleared)."""
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = None
