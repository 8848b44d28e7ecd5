"""`OrganisationsPage`: the national team accredits organisations or withdraws accreditation (which stops
every user of the organisation at once)."""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QWidget

from cpclient.api.oversight_models import Organisation
from cpclient.ui.date_entry import format_date
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.oversight.text_prompt import TextPromptDialog
from cpclient.ui.rows_table import Column, RowsModel, RowsTable

INTRO = (
    "Organisations whose staff may use ContactPoint. Only users of an accredited organisation can sign "
    "in; withdrawing accreditation stops all of its users at once."
)

ORGANISATION_COLUMNS: list[Column[Organisation]] = [
    Column("Organisation", lambda o: o.name),
    Column("Local authority", lambda o: o.local_authority or "National"),
    Column("Accredited", lambda o: "Yes" if o.accredited else "No", lambda o: int(o.accredited)),
    Column(
        "Accredited on",
        lambda o: format_date(o.accredited_on) if o.accredited_on else "",
        lambda o: o.accredited_on.isoformat() if o.accredited_on else "",
    ),
    Column("Users", lambda o: str(o.users), lambda o: o.users),
]


def users_text(organisation: Organisation) -> str:
    """How many users the organisation has, in words."""
    return "1 user" if organisation.users == 1 else f"{organisation.users} users"


class OrganisationsPage(OversightPage):
    """The organisations and their accreditation."""

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__("Organisations", INTRO, context, parent)
        self.model: RowsModel[Organisation] = RowsModel(ORGANISATION_COLUMNS, self)
        self.table = RowsTable(self.model, "Organisations", self)
        self.table.current_changed.connect(self._update_buttons)
        self.accredit_button = self.button("&Accredit…", self.accredit, "Accredit the selected organisation")
        self.withdraw_button = self.button(
            "&Withdraw accreditation…",
            self.withdraw,
            "Withdraw the selected organisation's accreditation: its users are stopped at once",
        )
        self.refresh_button = self.button("Refres&h", self.refresh, "Fetch the list again")
        self.body.addWidget(self.table, 1)
        self.body.addLayout(self.button_row(self.accredit_button, self.withdraw_button, self.refresh_button))
        self._update_buttons()

    async def load(self) -> None:
        organisations = await self.fetch(self.context.client.organisations)
        if organisations is not None:
            self.show_organisations(organisations)

    def show_organisations(self, organisations: list[Organisation], select: int | None = None) -> None:
        """Show the list, keeping (or choosing) the selected organisation."""
        chosen = self.table.current_item()
        wanted = select if select is not None else (chosen.id if chosen else None)
        self.model.set_rows(organisations)
        if wanted is None or not self.table.select_where(lambda o: o.id == wanted):
            self.table.select_first()
        self._update_buttons()

    def forget(self) -> None:
        self.model.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.table.current_item()
        self.accredit_button.setEnabled(chosen is not None and not chosen.accredited)
        self.withdraw_button.setEnabled(chosen is not None and chosen.accredited)

    def _replace(self, updated: Organisation, text: str) -> None:
        rows = [updated if each.id == updated.id else each for each in self.model.rows]
        self.show_organisations(rows, select=updated.id)
        self.say(text)

    def accredit(self) -> None:
        """Accredit the selected organisation, with a reason."""
        chosen = self.table.current_item()
        if chosen is None:
            return
        dialog = TextPromptDialog(
            "Accredit an organisation",
            f"Accredit {chosen.name}?",
            "Its users can sign in once their own accreditation is recorded.",
            "&Accredit organisation",
            self.context.mode,
            self,
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.accredit_organisation, chosen.id, dialog.value()),
            lambda updated: self._replace(updated, f"{updated.name} is accredited."),
        )

    def withdraw(self) -> None:
        """Withdraw the selected organisation's accreditation, after a clear warning."""
        chosen = self.table.current_item()
        if chosen is None:
            return
        dialog = TextPromptDialog(
            "Withdraw accreditation",
            f"Withdraw the accreditation of {chosen.name}?",
            "The reason is recorded in the audit trail.",
            "&Withdraw accreditation",
            self.context.mode,
            self,
            warning=(
                f"All {users_text(chosen)} of {chosen.name} are stopped at once: their sessions end "
                "with their next action and they cannot sign in until it is accredited again."
            ),
            acknowledgement="I understand that its &users are stopped at once",
        )
        client = self.context.client
        self.open_form(
            dialog,
            lambda: partial(client.withdraw_organisation, chosen.id, dialog.value()),
            lambda updated: self._replace(
                updated, f"{updated.name} is no longer accredited. Its users are stopped."
            ),
        )
