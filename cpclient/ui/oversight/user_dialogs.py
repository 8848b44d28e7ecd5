"""`AddUserDialog` (a new account's details) and `AccreditationDialog` (a user's recorded checks)."""

from __future__ import annotations

import datetime as dt
import re

from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from cpclient.api.oversight_models import Accreditation, NewUser, NewUserRole, Organisation, UserAccount
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.date_entry import FORMAT_HINT, DateNotUnderstood, format_date, parse_date
from cpclient.ui.error_summary import Problem
from cpclient.ui.oversight.form_dialog import FormDialog
from cpclient.ui.text_field import date_edit, line_edit

USERNAME = re.compile(r"^[a-z0-9._-]{3,60}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
ROLES: tuple[tuple[str, NewUserRole], ...] = (
    ("Practitioner", "practitioner"),
    ("Management team", "cmt"),
)
ORGANISATION_HINT = (
    "The organisations of your authority. A user of an organisation that is not accredited cannot "
    "sign in until the national team accredits it."
)
CHOOSE_ORGANISATION = "Choose an organisation"
POSTCODE_HINT = (
    "Optional. Used only to notice if this user opens the records of children living at their own address."
)


def organisation_text(organisation: Organisation) -> str:
    """An organisation's name as the choice list shows it."""
    return organisation.name + ("" if organisation.accredited else " (not accredited)")


class AddUserDialog(FormDialog):
    """The details of a new account in the management team's authority (not yet accredited).

    Args:
        organisations: the authority's organisations (`GET /organisations`), to choose from by name.
        mode: live or training.
    """

    def __init__(
        self, organisations: list[Organisation], mode: ClientMode, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "Add a user",
            "Add a user",
            "The account cannot be used until its criminal records check, training, security "
            "procedures and end-user agreement are recorded. Its first password and authenticator "
            "secret are shown once, next.",
            "&Add user",
            mode,
            parent,
        )
        self.username = line_edit(self, 60, "for example j.smith")
        self.given_name = line_edit(self, 200)
        self.family_name = line_edit(self, 200)
        self.role = QComboBox(self)
        for text, _code in ROLES:
            self.role.addItem(text)
        self.job_title = line_edit(self, 200)
        self.telephone = line_edit(self, 40)
        self.email = line_edit(self, 200)
        # Nothing is chosen for the person: the first entry only asks them to choose.
        self.organisation = QComboBox(self)
        self.organisation.addItem(CHOOSE_ORGANISATION, None)
        for organisation in organisations:
            self.organisation.addItem(organisation_text(organisation), organisation.id)
        self.manager_name = line_edit(self, 200)
        self.manager_email = line_edit(self, 200)
        self.home_postcode = line_edit(self, 10)
        self.add_row("&Username", self.username, "username", "Lower-case letters, digits, . _ or -")
        self.add_row("&Given name", self.given_name, "given_name")
        self.add_row("&Family name", self.family_name, "family_name")
        self.add_row("&Role", self.role, "role")
        self.add_row("&Job title", self.job_title, "job_title")
        self.add_row("&Telephone", self.telephone, "telephone")
        self.add_row("&E-mail", self.email, "email")
        self.add_row("&Organisation", self.organisation, "organisation_id", ORGANISATION_HINT)
        self.add_row("&Manager's name", self.manager_name, "manager_name")
        self.add_row(
            "Manager's e-ma&il",
            self.manager_email,
            "manager_email",
            "The manager is told by e-mail if an incident about this user is opened.",
        )
        self.add_row("Home &postcode", self.home_postcode, "home_postcode", POSTCODE_HINT)
        self.focus_first(self.username)

    def organisation_id(self) -> int | None:
        """The id of the organisation chosen, or None."""
        chosen = self.organisation.currentData()
        return chosen if isinstance(chosen, int) else None

    def new_user(self) -> NewUser:
        """The account to add (call after `problems()` found none)."""
        return NewUser(
            username=self.username.text(),
            given_name=self.given_name.text(),
            family_name=self.family_name.text(),
            role=ROLES[self.role.currentIndex()][1],
            job_title=self.job_title.text(),
            telephone=self.telephone.text(),
            email=self.email.text(),
            organisation_id=self.organisation_id() or 0,
            manager_name=self.manager_name.text(),
            manager_email=self.manager_email.text(),
            home_postcode=self.home_postcode.text(),
        )

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not USERNAME.match(self.username.text().strip().lower()):
            found.append(
                Problem(
                    "Enter a username of 3 to 60 letters, digits, dots, dashes or underscores", self.username
                )
            )
        for field, what in (
            (self.given_name, "given name"),
            (self.family_name, "family name"),
            (self.job_title, "job title"),
        ):
            if not field.text().strip():
                found.append(Problem(f"Enter the {what}", field))
        if not EMAIL.match(self.email.text().strip()):
            found.append(Problem("Enter the user's e-mail address, like name@example.org", self.email))
        if self.organisation_id() is None:
            found.append(Problem("Choose the user's organisation", self.organisation))
        if not self.manager_name.text().strip():
            found.append(Problem("Enter the manager's name", self.manager_name))
        if not EMAIL.match(self.manager_email.text().strip()):
            found.append(
                Problem("Enter the manager's e-mail address, like name@example.org", self.manager_email)
            )
        return found


class AccreditationDialog(FormDialog):
    """The checks recorded for one user; an account works only when all of them are in place."""

    def __init__(
        self,
        user: UserAccount,
        mode: ClientMode,
        parent: QWidget | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        super().__init__(
            "Record accreditation",
            f"Record accreditation for {user.display_name}",
            "Record what has been checked. The account works only when the criminal records check is "
            "less than 3 years old and every box is ticked.",
            "&Save accreditation",
            mode,
            parent,
        )
        self._today = today or dt.date.today()
        self.crb_checked_on = date_edit(self)
        if user.crb_checked_on is not None:
            self.crb_checked_on.setText(format_date(user.crb_checked_on))
        self.crb_checked_on.setAccessibleDescription(f"Write the date as {FORMAT_HINT}; empty if none")
        self.training = QCheckBox("Mandatory ContactPoint &training completed", self)
        self.training.setChecked(user.training_completed)
        self.procedures = QCheckBox("Security operating &procedures received", self)
        self.procedures.setChecked(user.procedures_received)
        self.agreement = QCheckBox("End-user &agreement signed", self)
        self.agreement.setChecked(user.agreement_signed)
        self.add_row(
            "Enhanced &criminal records check date",
            self.crb_checked_on,
            "crb_checked_on",
            f"{FORMAT_HINT}. Leave empty if no check is recorded.",
        )
        for box, name in (
            (self.training, "training_completed"),
            (self.procedures, "procedures_received"),
            (self.agreement, "agreement_signed"),
        ):
            box.setAccessibleName(box.text().replace("&", ""))
            self.form.addRow("", box)
            self.fields[name] = box
        self.focus_first(self.crb_checked_on)

    def _check_date(self) -> dt.date | None:
        return parse_date(self.crb_checked_on.text())

    def accreditation(self) -> Accreditation:
        """The checks to record (call after `problems()` found none)."""
        return Accreditation(
            crb_checked_on=self._check_date(),
            training_completed=self.training.isChecked(),
            procedures_received=self.procedures.isChecked(),
            agreement_signed=self.agreement.isChecked(),
        )

    def problems(self) -> list[Problem]:
        try:
            checked = self._check_date()
        except DateNotUnderstood:
            return [Problem("Enter the check date as a real date, like 31/03/2009", self.crb_checked_on)]
        if checked is not None and checked > self._today:
            return [Problem("The check date cannot be in the future", self.crb_checked_on)]
        return []
