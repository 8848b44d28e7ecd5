"""`UsersPage`: the authority's accounts — add, record accreditation, suspend, reinstate, open an incident —
and the criminal records checks expiring within 60 days. The national team sees every authority's, read only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import partial

from PySide6.QtWidgets import QPushButton, QWidget

from cpclient.api.models import ROLE_LABELS
from cpclient.api.oversight_models import Enrolment, UserAccount
from cpclient.ui.date_entry import format_date
from cpclient.ui.error_summary import Problem
from cpclient.ui.heading import Heading
from cpclient.ui.modal import open_modal
from cpclient.ui.oversight.enrolment_dialog import EnrolmentDialog
from cpclient.ui.oversight.labels import PROBLEM_LABELS, label
from cpclient.ui.oversight.notification import incident_opened_text
from cpclient.ui.oversight.page import LOADING, OversightContext, OversightPage
from cpclient.ui.oversight.text_prompt import TextPromptDialog, incident_prompt
from cpclient.ui.oversight.user_dialogs import AccreditationDialog, AddUserDialog
from cpclient.ui.rows_table import Column, RowsModel, RowsTable
from cpclient.ui.status_message import StatusMessage

CMT_INTRO = (
    "Your authority's accounts. An account works only while nothing is listed under \"What stops "
    'them". Suspending an account ends its sessions at once.'
)
NATIONAL_INTRO = (
    "Every authority's accounts, to read. Each authority's management team adds, accredits and "
    "suspends its own users."
)
NO_EXPIRING = "No criminal records checks expire within 60 days."
AUTHORISED = "Can use ContactPoint"
EXPIRING_TITLE = "Criminal records checks expiring within 60 days"
NO_ORGANISATIONS = (
    "Your authority has no organisations to add a user to. Contact the national ContactPoint team "
    "to register and accredit one."
)


def problems_text(user: UserAccount) -> str:
    """What stops the user working today, in words."""
    return "; ".join(label(PROBLEM_LABELS, code) for code in user.problems) or AUTHORISED


def check_text(user: UserAccount, today: dt.date | None = None) -> str:
    """When the user's criminal records check runs out (or ran out)."""
    expires = user.crb_expires_on
    if expires is None:
        return "None recorded"
    verb = "Expired" if expires <= (today or dt.date.today()) else "Expires"
    return f"{verb} {format_date(expires)}"


def expiring_text(count: int) -> str:
    """How many checks run out within 60 days."""
    if count == 0:
        return NO_EXPIRING
    if count == 1:
        return "1 check expires within 60 days or has expired."
    return f"{count} checks expire within 60 days or have expired."


def user_columns(national: bool) -> list[Column[UserAccount]]:
    """The columns of the users table."""
    columns: list[Column[UserAccount]] = [
        Column("Name", lambda u: u.display_name),
        Column("Username", lambda u: u.username),
        Column("Role", lambda u: ROLE_LABELS.get(u.role, u.role)),
        Column("Job title", lambda u: u.job_title),
        Column("Organisation", lambda u: u.organisation),
    ]
    if national:
        columns.append(Column("Local authority", lambda u: u.local_authority or "National"))
    columns += [
        Column(
            "Criminal records check",
            check_text,
            lambda u: u.crb_expires_on.isoformat() if u.crb_expires_on else "",
        ),
        Column("What stops them", problems_text),
    ]
    return columns


class UsersPage(OversightPage):
    """The users table, its actions (management team only) and the expiring checks."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Users", NATIONAL_INTRO if context.national else CMT_INTRO, context, parent)
        self.model: RowsModel[UserAccount] = RowsModel(user_columns(context.national), self)
        self.table = RowsTable(self.model, "Users", self)
        self.table.current_changed.connect(self._update_buttons)
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the list again")
        self.body.addWidget(self.table, 3)
        self.enrolment_dialog: EnrolmentDialog | None = None
        self._choosing: asyncio.Task[None] | None = None
        self.add_button: QPushButton | None = None
        self.accredit_button: QPushButton | None = None
        self.suspend_button: QPushButton | None = None
        self.reinstate_button: QPushButton | None = None
        self.incident_button: QPushButton | None = None
        if context.acts:
            self.add_button = self.button("&Add user…", self.add_user)
            self.accredit_button = self.button(
                "Record a&ccreditation…", self.record_accreditation, "Record the selected user's checks"
            )
            self.suspend_button = self.button(
                "&Suspend…", self.suspend, "Suspend the selected user: their sessions end at once"
            )
            self.reinstate_button = self.button("Re&instate…", self.reinstate, "Reinstate the selected user")
            self.incident_button = self.button(
                "Open i&ncident…",
                self.open_incident,
                "Suspend the selected user, tell their manager and start an investigation",
            )
            self.body.addLayout(
                self.button_row(
                    self.add_button,
                    self.accredit_button,
                    self.suspend_button,
                    self.reinstate_button,
                    self.incident_button,
                    self.refresh_button,
                )
            )
        else:
            self.body.addLayout(self.button_row(self.refresh_button))
        self.body.addWidget(Heading(EXPIRING_TITLE, 3, self))
        self.expiring_note = StatusMessage(self)
        self.body.addWidget(self.expiring_note)
        self.expiring_model: RowsModel[UserAccount] = RowsModel(
            [
                Column("Name", lambda u: u.display_name),
                Column("Username", lambda u: u.username),
                Column("Organisation", lambda u: u.organisation),
                Column(
                    "Criminal records check",
                    check_text,
                    lambda u: u.crb_expires_on.isoformat() if u.crb_expires_on else "",
                ),
            ],
            self,
        )
        self.expiring = RowsTable(
            self.expiring_model, "Criminal records checks expiring within 60 days", self
        )
        self.body.addWidget(self.expiring, 1)
        self._update_buttons()

    # --- lists -----------------------------------------------------------------------------------

    async def load(self) -> None:
        client = self.context.client
        found = await self.fetch(client.users)
        if found is None:
            return
        expiring = await self.fetch(client.expiring_checks)
        self.show_users(found, expiring or [])

    def show_users(self, users: list[UserAccount], expiring: list[UserAccount]) -> None:
        """Show the lists, keeping the selected user selected."""
        chosen = self.table.current_item()
        self.model.set_rows(users)
        if chosen is None or not self.table.select_where(lambda u: u.id == chosen.id):
            self.table.select_first()
        self.expiring_model.set_rows(expiring)
        self.expiring_note.setText(expiring_text(len(expiring)))
        self._update_buttons()

    def forget(self) -> None:
        if self.enrolment_dialog is not None:
            self.enrolment_dialog.reject()
        self.model.clear()
        self.expiring_model.clear()
        self.expiring_note.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        user = self.table.current_item()
        me = user is not None and user.username == self.context.user.username
        for button, enabled in (
            (self.accredit_button, user is not None),
            (self.suspend_button, user is not None and not user.suspended and not me),
            (self.reinstate_button, user is not None and user.suspended),
            (self.incident_button, user is not None and not me),
        ):
            if button is not None:
                button.setEnabled(enabled)

    def _reload_after(self, text: str) -> None:
        self.say(text)
        self.start(self.load())

    # --- actions ---------------------------------------------------------------------------------

    def add_user(self) -> None:
        """Fetch the authority's organisations, ask for a new account's details (choosing one of
        them), add it, then show its one-time secrets."""
        if self.dialog is not None or (self._choosing is not None and not self._choosing.done()):
            return
        self._choosing = self.start(self._ask_for_new_user())

    async def _ask_for_new_user(self) -> None:
        self.summary.clear()
        self.message.setText(LOADING)
        client = self.context.client
        organisations = await self.fetch(client.organisations)
        if organisations is None:
            return
        self.message.clear()
        if not organisations:
            self.summary.show_problems([Problem(NO_ORGANISATIONS)])
            return
        dialog = AddUserDialog(organisations, self.context.mode, self)
        self.open_form(dialog, lambda: partial(client.add_user, dialog.new_user()), self._added)

    def _added(self, enrolment: Enrolment) -> None:
        # Shown once, straight from the answer; nothing of it is kept by the page.
        self.show_enrolment(enrolment)
        self._reload_after(f"{enrolment.user.display_name}'s account has been added.")

    def show_enrolment(self, enrolment: Enrolment) -> None:
        """Show the new account's secrets once."""
        shown = EnrolmentDialog(enrolment, self.context.mode, self)
        self.enrolment_dialog = open_modal(shown, closed=lambda: self._enrolment_closed(shown))

    def _enrolment_closed(self, shown: EnrolmentDialog) -> None:
        if self.enrolment_dialog is shown:
            self.enrolment_dialog = None

    def record_accreditation(self) -> None:
        """Record the selected user's checks."""
        user = self.table.current_item()
        if user is None:
            return
        dialog = AccreditationDialog(user, self.context.mode, self)
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.record_accreditation, user.id, dialog.accreditation()),
            self._accredited,
        )

    def _accredited(self, updated: UserAccount) -> None:
        state = (
            "can now use ContactPoint" if not updated.problems else f"still cannot: {problems_text(updated)}"
        )
        self._reload_after(f"Accreditation recorded for {updated.display_name}: {state}.")

    def suspend(self) -> None:
        """Suspend the selected user, with a reason."""
        user = self.table.current_item()
        if user is None:
            return
        dialog = TextPromptDialog(
            "Suspend a user",
            f"Suspend {user.display_name}?",
            "Their sessions end at once and they cannot sign in until the account is reinstated. "
            "The reason is recorded in the audit trail.",
            "&Suspend account",
            self.context.mode,
            self,
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.suspend, user.id, dialog.value()),
            lambda done: self._reload_after(f"{done.display_name} is suspended. Their sessions have ended."),
        )

    def reinstate(self) -> None:
        """Reinstate the selected (suspended) user, with a reason."""
        user = self.table.current_item()
        if user is None:
            return
        dialog = TextPromptDialog(
            "Reinstate a user",
            f"Reinstate {user.display_name}?",
            "They can sign in again once nothing else stops them. The reason is recorded in the audit trail.",
            "&Reinstate account",
            self.context.mode,
            self,
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.reinstate, user.id, dialog.value()),
            lambda done: self._reload_after(f"{done.display_name} has been reinstated."),
        )

    def open_incident(self) -> None:
        """Open an incident about the selected user (without an alert)."""
        user = self.table.current_item()
        if user is None:
            return
        dialog = incident_prompt(user.display_name, self.context.mode, self)
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.open_incident, user.id, dialog.value()),
            lambda incident: self._reload_after(incident_opened_text(incident)),
        )
