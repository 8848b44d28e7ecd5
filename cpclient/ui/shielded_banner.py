"""`ShieldedContactBanner` (contact details withheld: contact the management team), `ShieldedAccessNotice`
and `ShieldOverrideNotice`.

The banner stands in place of every withheld section of a shielded record, so nothing withheld ever
looks like an empty or missing field. The access notice tells a management team member that their view
of a shielded record's details is audited; the override notice tells someone who overrode the shielding
that this access is under investigation.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from cpclient.api.models import Contact
from cpclient.ui.styles import apply_style

SHIELDED_TITLE = "Shielded record"
SECTION_LABELS: dict[str, str] = {
    "address": "Address",
    "telephone": "Telephone",
    "carer_contacts": "Contact details of parents and carers",
    "education": "Education setting",
    "gp": "GP practice",
    "involvements": "Services working with this child",
}
ACCESS_NOTICE_TITLE = "You are seeing a shielded record's details"
ACCESS_NOTICE_TEXT = (
    "This child's record is shielded. Your access, with your reason, is recorded in the audit trail "
    "and may be reviewed. Use these details only to broker contact; do not pass them on."
)

OVERRIDE_NOTICE_TITLE = "Shielding overridden — this access is under investigation"
OVERRIDE_NOTICE_TEXT = (
    "You overrode this record's shielding. The management team has been alerted and an investigation "
    "has started. Your account is suspended until it ends, so ContactPoint will sign you out when you "
    "next use it. Use these details only for the emergency that needed them; do not pass them on."
)


def section_label(code: str) -> str:
    """The words for a withheld section code."""
    return SECTION_LABELS.get(code, code.replace("_", " ").capitalize())


def contact_text(contact: Contact) -> str:
    """A management team's name, telephone and e-mail in one sentence."""
    return f"{contact.name}, telephone {contact.telephone}, e-mail {contact.email}"


class ShieldedContactBanner(QFrame):
    """Says the record is shielded, what is withheld, and how to reach the management team.

    Args:
        contact: the management team of the child's local authority.
        local_authority: its name.
        section: the withheld section this banner stands in for, or None for the record-wide banner.
    """

    def __init__(
        self,
        contact: Contact,
        local_authority: str,
        section: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("shieldedContactBanner")
        self.section = section
        layout = QVBoxLayout(self)
        if section is None:
            title = SHIELDED_TITLE
            body = (
                "This child's record is shielded to protect them. Their address and the contact "
                "details of their parents, carers and the people working with them are withheld. "
                f"To get in touch with anyone working with this child, contact the {local_authority} "
                f"ContactPoint management team: {contact_text(contact)}. They can pass on your "
                "details or arrange contact."
            )
        else:
            title = f"{section_label(section)}: withheld (shielded record)"
            body = f"Contact the management team to get in touch: {contact_text(contact)}."
        self.title = QLabel(title, self)
        font = self.title.font()
        font.setBold(True)
        if section is None:
            font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.title.setAccessibleName(title)
        self.body = QLabel(body, self)
        self.body.setWordWrap(True)
        self.body.setAccessibleName(body)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.setAccessibleName(title)
        self.setAccessibleDescription(body)
        apply_style(self, "shielded_banner")


class ShieldedAccessNotice(QFrame):
    """For a management team member seeing a shielded record's details: this access is audited."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shieldedAccessNotice")
        layout = QVBoxLayout(self)
        title = QLabel(ACCESS_NOTICE_TITLE, self)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        title.setWordWrap(True)
        title.setAccessibleName(ACCESS_NOTICE_TITLE)
        body = QLabel(ACCESS_NOTICE_TEXT, self)
        body.setWordWrap(True)
        body.setAccessibleName(ACCESS_NOTICE_TEXT)
        layout.addWidget(title)
        layout.addWidget(body)
        self.setAccessibleName(ACCESS_NOTICE_TITLE)
        self.setAccessibleDescription(ACCESS_NOTICE_TEXT)
        apply_style(self, "shielded_banner")


class ShieldOverrideNotice(QFrame):
    """For someone who overrode a record's shielding: the access is under investigation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shieldOverrideNotice")
        layout = QVBoxLayout(self)
        self.title = QLabel(OVERRIDE_NOTICE_TITLE, self)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.title.setAccessibleName(OVERRIDE_NOTICE_TITLE)
        self.body = QLabel(OVERRIDE_NOTICE_TEXT, self)
        self.body.setWordWrap(True)
        self.body.setAccessibleName(OVERRIDE_NOTICE_TEXT)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.setAccessibleName(OVERRIDE_NOTICE_TITLE)
        self.setAccessibleDescription(OVERRIDE_NOTICE_TEXT)
        apply_style(self, "shielded_banner")
