"""`LockdownPage`: the national team stops access for everyone else, and restores it with two people.

Locking down asks for a reason and a ticked acknowledgement. Restoring takes a request by one member
of the national team and a confirmation by another: the confirm button is disabled, with the reason
shown, while the waiting request is the signed-in person's own.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget

from cpclient.api.oversight_models import LockdownState
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.labels import format_time
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.oversight.text_prompt import TextPromptDialog
from cpclient.ui.status_message import StatusMessage

INTRO = (
    "If ContactPoint is believed to be under threat, stop access for every user except the national "
    "team. Restoring access takes two members of the national team: one asks, another confirms."
)
OPEN = "ContactPoint is open: users can sign in."
OWN_REQUEST = (
    "You asked for this restore. Another member of the national team must confirm it: the same person "
    "cannot do both."
)
NO_REQUEST = "No one has asked to restore access yet."


def state_text(state: LockdownState) -> str:
    """The lockdown state in words."""
    if not state.locked:
        return OPEN
    since = format_time(state.since)
    who = f" by {state.locked_by}" if state.locked_by else ""
    reason = f" Reason: {state.reason}" if state.reason else ""
    return f"ContactPoint is locked down (since {since}{who}). Only the national team can use it.{reason}"


def request_text(state: LockdownState) -> str:
    """The waiting restore request in words: who asked, and why."""
    why = f" Their reason: {state.restore_request_reason}" if state.restore_request_reason else ""
    return (
        f"{state.restore_requested_by} has asked to restore access; another member of the national "
        f"team must confirm.{why}"
    )


class LockdownPage(OversightPage):
    """The lockdown state and its three actions."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Lockdown", INTRO, context, parent)
        self.state: LockdownState | None = None
        box = QFrame(self)
        box.setFrameShape(QFrame.Shape.StyledPanel)
        box.setAccessibleName("Lockdown state")
        column = QVBoxLayout(box)
        self.state_heading = Heading("", 3, box)
        self.state_label = StatusMessage(box)
        self.request_label = StatusMessage(box)
        column.addWidget(self.state_heading)
        column.addWidget(self.state_label)
        column.addWidget(self.request_label)
        self.body.addWidget(box)
        self.lock_button = self.button(
            "&Lock down ContactPoint…", self.lock_down, "Stop access for every user except the national team"
        )
        self.request_button = self.button(
            "Ask to &restore access…", self.request_restore, "The first of two people restoring access"
        )
        self.confirm_button = self.button(
            "&Confirm restore…", self.confirm_restore, "The second person confirms: access is restored"
        )
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the state again")
        self.body.addLayout(
            self.button_row(self.lock_button, self.request_button, self.confirm_button, self.refresh_button)
        )
        self.confirm_note = StatusMessage(self)
        self.body.addWidget(self.confirm_note)
        self.body.addStretch(1)
        self.show_state(None)

    async def load(self) -> None:
        state = await self.fetch(self.context.client.lockdown)
        if state is not None:
            self.show_state(state)

    def own_request(self, state: LockdownState | None) -> bool:
        """True when the waiting restore request is the signed-in person's own.

        Decided by username: two members of the national team may share a display name.
        """
        return (
            state is not None
            and state.restore_request_id is not None
            and state.restore_requested_by_username == self.context.user.username
        )

    def show_state(self, state: LockdownState | None) -> None:
        """Show `state` and offer only what can be done in it."""
        self.state = state
        locked = state is not None and state.locked
        pending = state is not None and state.restore_request_id is not None
        own = self.own_request(state)
        if state is None:
            self.state_heading.set_heading("")
            self.state_label.clear()
        else:
            self.state_heading.set_heading("Locked down" if locked else "Open")
            self.state_label.setText(state_text(state))
        if locked and state is not None:
            self.request_label.setText(request_text(state) if pending else NO_REQUEST)
        else:
            self.request_label.clear()
        self.lock_button.setEnabled(state is not None and not locked)
        self.request_button.setEnabled(locked and not pending)
        self.confirm_button.setEnabled(pending and not own)
        self.confirm_note.setText(OWN_REQUEST if own else "")
        self.confirm_button.setAccessibleDescription(OWN_REQUEST if own else "Confirm the waiting restore")
        self.confirm_button.setToolTip(OWN_REQUEST if own else "")

    def forget(self) -> None:
        self.show_state(None)

    def lock_down(self) -> None:
        """Ask for a reason and an acknowledgement, then lock down."""
        dialog = TextPromptDialog(
            "Lock down ContactPoint",
            "Lock down ContactPoint for every user?",
            "Use this only when ContactPoint is believed to be under threat. The reason is recorded "
            "and shown to the national team.",
            "&Lock down now",
            self.context.mode,
            self,
            warning=(
                "Every user except the national team is signed out at once and cannot sign in until "
                "two members of the national team restore access."
            ),
            acknowledgement="I understand that every other &user is stopped at once",
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.lock_down, dialog.value()),
            lambda state: self._changed(
                state, "ContactPoint is locked down. Every other user's session has ended."
            ),
        )

    def _changed(self, state: LockdownState, text: str) -> None:
        self.show_state(state)
        self.say(text)

    def request_restore(self) -> None:
        """Ask to restore access (the first of two people)."""
        dialog = TextPromptDialog(
            "Ask to restore access",
            "Ask to restore access?",
            "Another member of the national team must confirm before anyone can sign in again.",
            "&Ask to restore",
            self.context.mode,
            self,
            hint="Why it is safe to restore access.",
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.request_restore, dialog.value()),
            lambda state: self._changed(
                state, "Restore requested. Another member of the national team must confirm it."
            ),
        )

    def confirm_restore(self) -> None:
        """Confirm another person's restore request: access is restored."""
        state = self.state
        if state is None or state.restore_request_id is None or self.own_request(state):
            return
        request_id = state.restore_request_id
        dialog = TextPromptDialog(
            "Confirm restore",
            "Restore access to ContactPoint?",
            f"{request_text(state)} Confirm only if you have checked yourself that it is safe.",
            "&Restore access",
            self.context.mode,
            self,
            warning="Every user can sign in again as soon as you confirm.",
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.confirm_restore, request_id, dialog.value()),
            lambda state: self._changed(state, "Access is restored. Users can sign in again."),
        )
