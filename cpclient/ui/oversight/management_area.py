"""`ManagementArea`: the management screens beside search, opened from a "Management" button in the
session bar, for management and national team members only.

The main window hands it the work area and the session bar; it adds itself and its button to them. The
tabs are built for the role at sign-in and destroyed at sign-out or lock, so nothing of one person's
session is left for the next. Going back to search forgets what the screens showed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.models import Meta, User
from cpclient.api.oversight_client import OversightClient
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.heading import Heading
from cpclient.ui.oversight.oversight_tabs import OVERSEER_ROLES, OversightTabs
from cpclient.ui.oversight.page import OversightContext

BUTTON_TEXT = "&Management"


class ManagementArea(QWidget):
    """The management screens' page in the work area.

    Args:
        api: the API client (the oversight calls use its session).
        calls: runs calls off the Qt thread.
        mode: live or training.
        work: the main window's work area (search and record); this page is added to it.
        session_bar: the strip with Lock and Sign out; the "Management" button is added to it.

    Signals:
        opening(): the area is about to be shown (the record view should forget its record).
        back_requested(): the person wants the search page again.
        status(str): a message for the status bar.
        record_opened(object): a screen opened a record (an archived one), for the record view.
    """

    opening = Signal()
    back_requested = Signal()
    status = Signal(str)
    record_opened = Signal(object)

    def __init__(
        self,
        api: ContactPointClient,
        calls: BackgroundCalls,
        mode: ClientMode,
        work: QStackedWidget,
        session_bar: QWidget,
    ) -> None:
        super().__init__(work)
        self.setObjectName("managementArea")
        self.setAccessibleName("Management")
        self._client = OversightClient(api)
        self._calls = calls
        self._mode = mode
        self._work = work
        self.tabs: OversightTabs | None = None
        self.heading = Heading("", 1, self)
        self.back_button = QPushButton("&Back to search", self)
        self.back_button.setAccessibleName("Back to search")
        self.back_button.setAutoDefault(False)
        self.back_button.clicked.connect(self.leave)
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.heading, 1)
        self._column = QVBoxLayout(self)
        self._column.addLayout(top)
        work.addWidget(self)

        self.button = QPushButton(BUTTON_TEXT, session_bar)
        self.button.setObjectName("managementButton")
        self.button.setAccessibleName("Management screens")
        self.button.setToolTip("Users, audit trail, alerts, incidents, shielding and reports")
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self.open)
        self.button.hide()
        bar_layout = session_bar.layout()
        if isinstance(bar_layout, QBoxLayout):
            # Beside Lock and Sign out (after the "signed in as" text).
            bar_layout.insertWidget(1, self.button)

    @property
    def available(self) -> bool:
        """True while the signed-in person holds management screens."""
        return self.tabs is not None

    def set_session(self, user: User, meta: Meta) -> None:
        """Build the screens `user`'s role holds (none for a practitioner)."""
        self.forget_session()
        if user.role not in OVERSEER_ROLES:
            return
        context = OversightContext(self._client, self._calls, self._mode, user, meta)
        self.tabs = OversightTabs(context, self)
        self.tabs.status.connect(self.status)
        self.tabs.record_opened.connect(self.record_opened)
        # A message about what was done on one tab does not belong under another.
        self.tabs.currentChanged.connect(lambda _index: self.status.emit(""))
        self._column.addWidget(self.tabs, 1)
        where = f" — {user.local_authority}" if user.local_authority else ""
        self.heading.set_heading(("National team" if user.role == "national" else "Management") + where)
        self.button.show()

    def open(self) -> None:
        """Show the management screens."""
        if self.tabs is None:
            return
        self.opening.emit()
        self._work.setCurrentWidget(self)
        self.tabs.setFocus(Qt.FocusReason.OtherFocusReason)

    def leave(self) -> None:
        """Forget what the screens show and go back to search."""
        self.clear()
        self.back_requested.emit()

    def clear(self) -> None:
        """Forget every row the screens hold (logout, lock, leaving)."""
        if self.tabs is not None:
            self.tabs.clear_pages()

    def forget_session(self) -> None:
        """Destroy the screens and hide the button (sign-out, lock, expiry)."""
        self.button.hide()
        if self.tabs is not None:
            self.tabs.clear_pages()
            self._column.removeWidget(self.tabs)
            self.tabs.hide()
            self.tabs.deleteLater()
            self.tabs = None
        self.heading.set_heading("")
