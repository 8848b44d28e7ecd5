"""`ArchivePage`: the national team opens an archived record (rule 9) by its ContactPoint ID, for an
investigation, with an explanation; the server audits the access before it sends the record.

Archived records are in no search. The record opens in the ordinary record view, marked as archived.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from cpclient.api.models import Record, ShieldedRecord, StatedReason
from cpclient.ui.error_summary import Problem
from cpclient.ui.layout import set_tab_order
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.text_field import line_edit

INTRO = (
    "Records leave search at the 18th birthday (25th with consent) and are archived for 6 years. "
    "Open an archived record only for an investigation: give its ContactPoint ID and explain why. "
    "Opening it is recorded in the audit trail."
)
OPENING = "Opening the archived record…"


class ArchivePage(OversightPage):
    """The form that opens an archived record.

    Signals:
        record_opened(object): the record (`Record` or `ShieldedRecord`) arrived.
    """

    load_on_show = False
    record_opened = Signal(object)

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Archived records", INTRO, context, parent)
        self.cp_id = line_edit(self, 20, name="ContactPoint ID", on_enter=self.submit)
        self.explanation = line_edit(
            self, 500, name="Why you need this record for the investigation", on_enter=self.submit
        )
        grid = QGridLayout()
        for row, (text, field) in enumerate(
            (
                ("Contact&Point ID", self.cp_id),
                ("&Why you need this record for the investigation", self.explanation),
            )
        ):
            caption = QLabel(text, self)
            caption.setBuddy(field)
            caption.setWordWrap(True)
            grid.addWidget(caption, row, 0)
            grid.addWidget(field, row, 1)
        grid.setColumnStretch(1, 1)
        self.body.addLayout(grid)
        self.open_button = self.button(
            "&Open archived record", self.submit, "Opens the record for an investigation; this is recorded"
        )
        self.body.addLayout(self.button_row(self.open_button))
        self.body.addStretch(1)
        set_tab_order([self.cp_id, self.explanation, self.open_button])

    def problems(self) -> list[Problem]:
        """What stops the form being sent."""
        found: list[Problem] = []
        if not self.cp_id.text().strip():
            found.append(Problem("Enter the ContactPoint ID of the archived record", self.cp_id))
        least = self.context.meta.policy.reason_text_min_length
        if len(" ".join(self.explanation.text().split())) < least:
            found.append(
                Problem(
                    f"Explain why you need this record for the investigation (at least {least} characters)",
                    self.explanation,
                )
            )
        return found

    def submit(self) -> None:
        """Check the form, then open the record (off the Qt thread)."""
        reason = self.context.meta.archive_reason
        if self.busy or reason is None:
            return
        problems = self.problems()
        if problems:
            self.summary.show_problems(problems)
            return
        self.summary.clear()
        stated = StatedReason(reason.code, " ".join(self.explanation.text().split()))
        self.start(self._open(self.cp_id.text().strip(), stated))

    async def _open(self, cp_id: str, reason: StatedReason) -> None:
        self.open_button.setEnabled(False)
        self.message.setText(OPENING)
        # No `finally`: a cancelled call (sign-out, lock) may find the page gone; `forget` re-enables.
        record: Record | ShieldedRecord | None = await self.fetch(
            lambda: self.context.client.open_archived_record(cp_id, reason)
        )
        self.open_button.setEnabled(True)
        if self.message.text() == OPENING:
            self.message.clear()
        if record is None:
            return
        self.forget()
        self.record_opened.emit(record)

    def forget(self) -> None:
        self.cp_id.clear()
        self.explanation.clear()
        self.open_button.setEnabled(True)
