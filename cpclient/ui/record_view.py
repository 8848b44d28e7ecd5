"""`RecordView`: one child's record on screen.

A full record shows the child, carers, education setting, GP, services involved (with the lead
professional and assessment flags) and the management team. A shielded record shows the
`ShieldedContactBanner` at the top and in place of every withheld section, and the viewer's own
involvements (so they can end them). A user who may override shielding is offered "Override
shielding…" on a shielded record; the full record that follows carries the `ShieldOverrideNotice`.
Record data lives only in the widgets built by `show_record`; `clear()` destroys them and forgets the
record. The view is marked as record data (no copy, drag or context menu) and carries the watermark.
Adding or ending the practitioner's own involvement is only asked for here (`add_requested`,
`end_requested`); `InvolvementActions` does it, and `involvement_changed` shows the outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.models import (
    GENDER_LABELS,
    Address,
    Carer,
    Contact,
    Involvement,
    Meta,
    Record,
    Setting,
    ShieldedRecord,
    User,
    full_name,
)
from cpclient.security.lockdown import mark_record_data
from cpclient.security.redaction import register_sensitive
from cpclient.security.watermark import Watermark
from cpclient.ui.date_entry import format_long_date
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.shielded_banner import ShieldedAccessNotice, ShieldedContactBanner, ShieldOverrideNotice
from cpclient.ui.status_message import StatusMessage

NOT_RECORDED = "Not recorded"
OWN_INVOLVEMENTS_TITLE = "Your involvement with this child"
OWN_INVOLVEMENTS_NOTE = (
    "Only your own involvement is shown: the other services working with this child are withheld "
    "because the record is shielded."
)
NO_OWN_INVOLVEMENT = "You have not recorded an involvement with this child."


def yes_no(value: bool) -> str:
    """Yes or No."""
    return "Yes" if value else "No"


def value_label(text: str, parent: QWidget, name: str) -> QLabel:
    """A read-only value whose accessible name says what it is."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setAccessibleName(f"{name}: {text}")
    return label


class Section(QFrame):
    """A titled part of the record (a heading, then label/value rows)."""

    def __init__(self, title: str, parent: QWidget, level: int = 2) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(title)
        self.outer = QVBoxLayout(self)
        self.heading = Heading(title, level, self)
        self.outer.addWidget(self.heading)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.outer.addLayout(self.form)

    def row(self, name: str, text: str) -> QLabel:
        """Add a row `name: text`."""
        value = value_label(text, self, name)
        caption = QLabel(name, self)
        caption.setAccessibleName(name)
        self.form.addRow(caption, value)
        return value

    def widget(self, widget: QWidget) -> None:
        """Add a widget across the section."""
        self.outer.addWidget(widget)


def archived_notice(archived_on: dt.date, parent: QWidget) -> QLabel:
    """Says the record is archived (rule 9): out of search, opened for an investigation, recorded."""
    text = (
        f"Archived record: archived on {format_long_date(archived_on)}. It is in no search; you opened "
        "it for an investigation, and this access is recorded in the audit trail."
    )
    notice = QLabel(text, parent)
    notice.setObjectName("archivedNotice")
    notice.setWordWrap(True)
    notice.setAccessibleName(text)
    font = notice.font()
    font.setBold(True)
    notice.setFont(font)
    return notice


class RecordView(QWidget):
    """Shows one record at a time.

    Signals:
        back_requested(): the person wants to go back to the search results.
        status(str): a message for the status bar.
        override_requested(object): the person asked to override this `ShieldedRecord`'s shielding.
        add_requested(object): the person asked to add their involvement with this record's child.
        end_requested(object, object): the person asked to end their `Involvement` (second argument)
            with this record's child.
        cleared(): the record was forgotten (any question about it should close unanswered).
        report_requested(object): the person wants to say this record is not right.
    """

    back_requested = Signal()
    status = Signal(str)
    override_requested = Signal(object)
    add_requested = Signal(object)
    end_requested = Signal(object, object)
    cleared = Signal()
    report_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordView")
        self.setAccessibleName("Child's record")
        self._meta: Meta | None = None
        self._user: User | None = None
        self.record: Record | ShieldedRecord | None = None
        # True while the record shown was opened by overriding its shielding.
        self.overridden = False
        self.add_button: QPushButton | None = None
        self.override_button: QPushButton | None = None

        self.back_button = QPushButton("&Back to results", self)
        self.back_button.setAccessibleName("Back to results")
        self.back_button.clicked.connect(self.back_requested)
        self.back_button.setToolTip("Back to the search results (Escape)")
        self.heading = Heading("", 1, self)
        self.report_button = QPushButton("This is &not right…", self)
        self.report_button.setAccessibleName("This is not right")
        self.report_button.setToolTip("Tell the management team that something on this record is wrong")
        self.report_button.setAccessibleDescription(self.report_button.toolTip())
        self.report_button.setAutoDefault(False)
        self.report_button.clicked.connect(self.report_problem)
        self.report_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.heading, 1)
        top.addWidget(self.report_button)
        self.summary = ErrorSummary(self)
        self.message = StatusMessage(self)

        self.details = QScrollArea(self)
        self.details.setWidgetResizable(True)
        self.details.setFrameShape(QFrame.Shape.NoFrame)
        self.details.setAccessibleName("Record details")
        self.details.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.content: QWidget | None = None

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(self.details, 1)
        mark_record_data(self)
        self.watermark = Watermark(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        # Escape anywhere in the record (that nothing inside used) goes back to the results. A key
        # event, not a shortcut: a dialog open over the record keeps its own Escape.
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            self.back_requested.emit()
            return
        super().keyPressEvent(event)

    # --- showing ---------------------------------------------------------------------------------

    def set_session(self, user: User, meta: Meta) -> None:
        """The signed-in user (for the watermark and what they may do) and the server's lists."""
        self._user = user
        self._meta = meta
        self.watermark.set_user(user.display_name)

    def show_record(self, record: Record | ShieldedRecord, *, overridden: bool = False) -> None:
        """Show `record` (replacing any other); `overridden` when it was opened by an override."""
        self._drop_content()
        self.record = record
        self.overridden = overridden and isinstance(record, Record)
        for text in record_names(record):
            register_sensitive(text)
        self.summary.clear()
        self.message.clear()
        name = full_name(record)
        self.heading.set_heading(
            name
            + (" — archived record" if record.archived_on is not None else "")
            + (" — shielded record" if record.shielded else "")
        )
        content = QWidget()
        content.setObjectName("recordContent")
        column = QVBoxLayout(content)
        if record.archived_on is not None:
            column.addWidget(archived_notice(record.archived_on, content))
        if isinstance(record, ShieldedRecord):
            self._build_shielded(record, content, column)
        else:
            self._build_full(record, content, column)
        column.addStretch(1)
        self.details.setWidget(content)
        self.content = content
        self.report_button.setVisible(self._may_report())
        mark_record_data(content)
        self.watermark.raise_()
        self.details.verticalScrollBar().setValue(0)

    def clear(self) -> None:
        """Destroy every widget holding record data and forget the record (logout, lock, expiry)."""
        self.cleared.emit()
        self._drop_content()
        self.record = None
        self.overridden = False
        self.heading.set_heading("")
        self.summary.clear()
        self.message.clear()

    def forget_session(self) -> None:
        """Clear the record and the signed-in user."""
        self.clear()
        self._user = None
        self.watermark.set_user("")

    def _drop_content(self) -> None:
        self.report_button.hide()
        old = self.details.takeWidget()
        if old is not None:
            old.hide()
            old.deleteLater()
        self.content = None
        self.add_button = None
        self.override_button = None

    # --- full record -----------------------------------------------------------------------------

    def _build_full(self, record: Record, parent: QWidget, column: QVBoxLayout) -> None:
        if self.overridden:
            column.addWidget(ShieldOverrideNotice(parent))
        elif record.shielded_access:
            column.addWidget(ShieldedAccessNotice(parent))
        child = Section("Child", parent)
        self._identity_rows(child, record)
        child.row("Former names", ", ".join(record.former_names) if record.former_names else "None recorded")
        child.row(self._address_caption(record), self._address_text(record))
        child.row("Telephone", record.telephone or NOT_RECORDED)
        if record.left_england:
            child.row("Left England", "Yes: this child is recorded as having left England")
        child.row("Local authority", record.local_authority)
        column.addWidget(child)

        services = Section("Services working with this child", parent)
        if not record.involvements:
            services.widget(value_label("No services are recorded.", services, "Services"))
        self._fill_involvements(services, record.involvements)
        column.addWidget(services)
        carers = Section("Parents and carers", parent)
        if not record.carers:
            carers.widget(value_label("No parents or carers recorded.", carers, "Parents and carers"))
        for number, carer in enumerate(record.carers, start=1):
            carers.widget(self._carer_box(carer, number, carers))
        column.addWidget(carers)

        column.addWidget(self._setting_section("Education setting", record.education, parent, school=True))
        column.addWidget(self._setting_section("GP practice", record.gp, parent, school=False))

        column.addWidget(self._contact_section(record.management_contact, record.local_authority, parent))

    def _identity_rows(self, section: Section, record: Record | ShieldedRecord) -> None:
        section.row("Name", full_name(record))
        section.row("ContactPoint ID", record.id)
        section.row("Date of birth", format_long_date(record.date_of_birth))
        section.row("Gender", GENDER_LABELS[record.gender])

    @staticmethod
    def _address_caption(record: Record) -> str:
        return "Last known address" if record.address_status == "last_known" else "Address"

    @staticmethod
    def _address_text(record: Record) -> str:
        if record.address_status == "none" or record.address is None:
            return "No known address"
        return address_text(record.address)

    def _carer_box(self, carer: Carer, number: int, parent: QWidget) -> Section:
        box = Section(f"{carer.relationship}: {carer.name}", parent, level=3)
        box.setAccessibleName(f"Parent or carer {number}")
        box.row("Name", carer.name)
        box.row("Relationship", carer.relationship)
        box.row("Parental responsibility", yes_no(carer.parental_responsibility))
        box.row("Address", address_text(carer.address) if carer.address else NOT_RECORDED)
        box.row("Telephone", carer.telephone or NOT_RECORDED)
        return box

    def _setting_section(
        self, title: str, setting: Setting | None, parent: QWidget, *, school: bool
    ) -> Section:
        section = Section(title, parent)
        if setting is None:
            what = "No education setting is recorded." if school else "No GP practice is recorded."
            section.widget(value_label(what, section, title))
            return section
        section.row("Name", setting.name)
        section.row("Address", ", ".join(part for part in (setting.address, setting.postcode) if part))
        section.row("Telephone", setting.telephone or NOT_RECORDED)
        if school:
            section.row(
                "Started", format_long_date(setting.start_date) if setting.start_date else NOT_RECORDED
            )
        return section

    def _involvement_box(self, involvement: Involvement, parent: QWidget) -> Section:
        flags: list[str] = []
        if involvement.lead_professional:
            flags.append("Lead professional")
        if involvement.ended_on is not None:
            flags.append("Ended")
        title = involvement.service_label + (f" ({', '.join(flags)})" if flags else "")
        box = Section(title, parent, level=3)
        box.setObjectName(f"involvement-{involvement.id}")
        box.row("Service", involvement.service_label)
        box.row("Practitioner", involvement.practitioner_name)
        box.row("Role", involvement.role)
        box.row("Organisation", involvement.organisation)
        box.row("Telephone", involvement.telephone or NOT_RECORDED)
        box.row("E-mail", involvement.email or NOT_RECORDED)
        box.row("Involved since", format_long_date(involvement.started_on))
        if involvement.ended_on is not None:
            box.row("Ended", format_long_date(involvement.ended_on))
        box.row("Lead professional", yes_no(involvement.lead_professional))
        box.row("Assessment (CAF) completed", yes_no(involvement.assessment_completed))
        if involvement.sensitive:
            box.widget(
                value_label(
                    "Sensitive service: shown only to the practitioner who recorded it and the "
                    "management team.",
                    box,
                    "Note",
                )
            )
        if involvement.mine and involvement.ended_on is None:
            end = QPushButton("&End my involvement…", box)
            end.setAccessibleName(f"End my involvement: {involvement.service_label}")
            end.clicked.connect(partial(self.end_involvement, involvement))
            holder = QHBoxLayout()
            holder.addWidget(end)
            holder.addStretch(1)
            box.outer.addLayout(holder)
        return box

    def _contact_section(self, contact: Contact, local_authority: str, parent: QWidget) -> Section:
        section = Section("ContactPoint management team", parent)
        section.row("Team", contact.name)
        section.row("Local authority", local_authority)
        section.row("Telephone", contact.telephone)
        section.row("E-mail", contact.email)
        return section

    # --- shielded record -------------------------------------------------------------------------

    def _build_shielded(self, record: ShieldedRecord, parent: QWidget, column: QVBoxLayout) -> None:
        contact, authority = record.management_contact, record.local_authority
        withheld = list(record.withheld)
        column.addWidget(ShieldedContactBanner(contact, authority, None, parent))
        if self._may_override_shield():
            override = QPushButton("&Override shielding…", parent)
            override.setObjectName("overrideShieldButton")
            override.setAccessibleName("Override shielding")
            override.setAccessibleDescription(
                "Shows a warning first: overriding starts an investigation and suspends your account"
            )
            override.setAutoDefault(False)
            override.clicked.connect(self.request_override)
            holder = QHBoxLayout()
            holder.addWidget(override)
            holder.addStretch(1)
            column.addLayout(holder)
            self.override_button = override
        child = Section("Child", parent)
        self._identity_rows(child, record)
        for code in ("address", "telephone"):
            if code in withheld:
                child.widget(ShieldedContactBanner(contact, authority, code, child))
        child.row("Local authority", authority)
        column.addWidget(child)

        carers = Section("Parents and carers", parent)
        if not record.carers:
            carers.widget(value_label("No parents or carers recorded.", carers, "Parents and carers"))
        for carer in record.carers:
            carers.row(carer.relationship, carer.name)
        if "carer_contacts" in withheld:
            carers.widget(ShieldedContactBanner(contact, authority, "carer_contacts", carers))
        column.addWidget(carers)

        titles = {
            "education": "Education setting",
            "gp": "GP practice",
            "involvements": "Services working with this child",
        }
        shown_in_place = ("address", "telephone", "carer_contacts")
        for code in withheld:
            if code in shown_in_place:
                continue
            part = Section(titles.get(code, "Other details"), parent)
            part.widget(ShieldedContactBanner(contact, authority, code, part))
            column.addWidget(part)
        self.add_button = None
        if record.own_involvements or self._may_add_involvement():
            column.addWidget(self._own_involvements_section(record, parent))
        column.addWidget(self._contact_section(contact, authority, parent))

    def _own_involvements_section(self, record: ShieldedRecord, parent: QWidget) -> Section:
        """The viewer's own involvements (their own details only), to end them, and "Add my involvement"."""
        section = Section(OWN_INVOLVEMENTS_TITLE, parent)
        section.widget(value_label(OWN_INVOLVEMENTS_NOTE, section, "Note"))
        if not record.own_involvements:
            section.widget(value_label(NO_OWN_INVOLVEMENT, section, OWN_INVOLVEMENTS_TITLE))
        self._fill_involvements(section, record.own_involvements)
        return section

    def _fill_involvements(self, section: Section, involvements: Sequence[Involvement]) -> None:
        """Current involvements first, then ended ones, and "Add my involvement" where allowed."""
        current = [item for item in involvements if item.ended_on is None]
        ended = [item for item in involvements if item.ended_on is not None]
        for involvement in current + ended:
            section.widget(self._involvement_box(involvement, section))
        self.add_button = None
        if self._may_add_involvement():
            add = QPushButton("&Add my involvement…", section)
            add.setAccessibleName("Add my involvement")
            add.clicked.connect(self.add_involvement)
            holder = QHBoxLayout()
            holder.addWidget(add)
            holder.addStretch(1)
            section.outer.addLayout(holder)
            self.add_button = add

    # --- overriding shielding ----------------------------------------------------------------------

    def request_override(self) -> None:
        """Ask (through `override_requested`) to override the shown shielded record's shielding."""
        if isinstance(self.record, ShieldedRecord) and self._may_override_shield():
            self.override_requested.emit(self.record)

    def _may_override_shield(self) -> bool:
        return self._user is not None and self._user.may_override_shield

    # --- "this is not right" --------------------------------------------------------------------

    def _may_report(self) -> bool:
        return (
            self._user is not None
            and self._user.role == "practitioner"
            and self._meta is not None
            and bool(self._meta.record_problems)
        )

    def report_problem(self) -> None:
        """Ask (through `report_requested`) to report that the record shown is not right."""
        if self.record is not None and self._may_report():
            self.report_requested.emit(self.record)

    def report_sent(self, cp_id: str, text: str) -> None:
        """Say that the report about record `cp_id` was received, if it is still the one shown."""
        if self.record is None or self.record.id != cp_id:
            return
        self.summary.clear()
        self.message.setText(text)
        self.status.emit(text)

    # --- own involvements ------------------------------------------------------------------------

    def _may_add_involvement(self) -> bool:
        return self._user is not None and self._user.role == "practitioner" and self._meta is not None

    def add_involvement(self) -> None:
        """Ask (through `add_requested`) to add the practitioner's involvement with this child."""
        if self.record is not None and self._may_add_involvement():
            self.add_requested.emit(self.record)

    def end_involvement(self, involvement: Involvement) -> None:
        """Ask (through `end_requested`) to end one of the practitioner's own involvements."""
        if self.record is not None:
            self.end_requested.emit(self.record, involvement)

    def involvement_changed(self, cp_id: str, involvement: Involvement, text: str) -> None:
        """Show `involvement` (added or ended) on record `cp_id`, if it is still the one shown."""
        record = self.record
        if record is None or record.id != cp_id:
            return
        if isinstance(record, Record):
            involvements = with_involvement(record.involvements, involvement)
            self.show_record(
                record.model_copy(update={"involvements": involvements}), overridden=self.overridden
            )
        else:
            own = with_involvement(record.own_involvements, involvement)
            self.show_record(record.model_copy(update={"own_involvements": own}))
        self.message.setText(text)
        self.status.emit(text)

    def show_progress(self, text: str) -> None:
        """Say what is under way (an involvement being recorded or ended, an override)."""
        self.message.setText(text)

    def show_problem(self, message: str) -> None:
        """Show a failure about the record shown (an override refused) in the error summary."""
        self.message.clear()
        self.summary.show_problems([Problem(message)])

    def texts(self) -> list[str]:
        """Every text shown in the record area (labels and accessible names), for checks and tests."""
        found: list[str] = []
        if self.content is not None:
            for widget in [self.content, *self.content.findChildren(QWidget)]:
                if isinstance(widget, QLabel | QPushButton):
                    found.append(widget.text())
                found.append(widget.accessibleName())
                found.append(widget.accessibleDescription())
        return [text for text in found if text]


def with_involvement(involvements: Sequence[Involvement], changed: Involvement) -> list[Involvement]:
    """`involvements` with `changed` in place of the one with its id, or added at the end."""
    if any(item.id == changed.id for item in involvements):
        return [changed if item.id == changed.id else item for item in involvements]
    return [*involvements, changed]


def address_text(address: Address) -> str:
    """An address on one line."""
    return ", ".join(address.lines())


def record_names(record: Record | ShieldedRecord) -> list[str]:
    """The names in a record (the child's, former, carers'), so log redaction can remove them."""
    names = [record.given, record.family, *record.middle_names.split()]
    if isinstance(record, Record):
        names.extend(record.former_names)
    for carer in record.carers:
        names.extend(carer.name.split())
    return [name for name in names if name.strip()]
