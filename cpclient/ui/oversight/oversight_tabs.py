"""`OversightTabs`: the management screens a role holds, as tabs — the management team's eight, the
national team's eleven. A practitioner gets none (`pages_for` returns nothing)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from cpclient.ui.layout import scrolling
from cpclient.ui.oversight.alerts_page import AlertsPage
from cpclient.ui.oversight.archive_page import ArchivePage
from cpclient.ui.oversight.audit_review_page import AuditReviewPage
from cpclient.ui.oversight.cme_page import CmePage
from cpclient.ui.oversight.data_matching_page import DataMatchingPage
from cpclient.ui.oversight.figures_page import FiguresPage
from cpclient.ui.oversight.incidents_page import IncidentsPage
from cpclient.ui.oversight.lockdown_page import LockdownPage
from cpclient.ui.oversight.notice_follow_up_page import NoticeFollowUpPage
from cpclient.ui.oversight.organisations_page import OrganisationsPage
from cpclient.ui.oversight.page import OversightContext, OversightPage
from cpclient.ui.oversight.shielding_page import ShieldingPage
from cpclient.ui.oversight.users_page import UsersPage

PageFactory = Callable[[OversightContext, QWidget], OversightPage]
OVERSEER_ROLES = frozenset({"cmt", "national"})

CMT_PAGES: tuple[tuple[str, PageFactory], ...] = (
    ("Users", UsersPage),
    ("Audit trail", AuditReviewPage),
    ("Alerts", AlertsPage),
    ("Incidents", IncidentsPage),
    ("Shielding", ShieldingPage),
    ("Children missing education", CmePage),
    ("Notice follow-up", NoticeFollowUpPage),
    ("Data matching", DataMatchingPage),
)
NATIONAL_PAGES: tuple[tuple[str, PageFactory], ...] = (
    ("Lockdown", LockdownPage),
    ("Organisations", OrganisationsPage),
    ("Incident register", IncidentsPage),
    ("Alerts", AlertsPage),
    ("Users", UsersPage),
    ("Audit trail", AuditReviewPage),
    ("Shield reviews", ShieldingPage),
    ("Children missing education", CmePage),
    ("Yearly figures", FiguresPage),
    ("Notice follow-up", NoticeFollowUpPage),
    ("Archived records", ArchivePage),
)


def pages_for(role: str) -> tuple[tuple[str, PageFactory], ...]:
    """The screens `role` holds, in tab order (none for a practitioner)."""
    if role == "cmt":
        return CMT_PAGES
    if role == "national":
        return NATIONAL_PAGES
    return ()


class OversightTabs(QTabWidget):
    """One tab per screen the signed-in role holds.

    Signals:
        status(str): a page's message for the status bar.
        record_opened(object): a page opened a record (the national team's archived records).
    """

    status = Signal(str)
    record_opened = Signal(object)

    def __init__(self, context: OversightContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("oversightTabs")
        self.setAccessibleName("Management screens")
        self.setDocumentMode(True)
        self.pages: dict[str, OversightPage] = {}
        self._tabs: dict[str, QWidget] = {}
        for title, factory in pages_for(context.user.role):
            page = factory(context, self)
            page.status.connect(self.status)
            if isinstance(page, ArchivePage):
                page.record_opened.connect(self.record_opened)
            # Each page scrolls, so a long form or list never makes the window grow.
            tab = scrolling(page, self)
            self.addTab(tab, title)
            self.setTabToolTip(self.count() - 1, page.intro.text())
            self.pages[title] = page
            self._tabs[title] = tab

    def page(self, title: str) -> OversightPage:
        """The page under tab `title`."""
        return self.pages[title]

    def show_page(self, title: str) -> OversightPage:
        """Bring tab `title` to the front and return its page."""
        self.setCurrentWidget(self._tabs[title])
        return self.pages[title]

    def clear_pages(self) -> None:
        """Forget every row every page holds, cancel their calls and close their dialogs."""
        for page in self.pages.values():
            page.clear()
