"""`MainWindow`: sign-in, search and record pages, the session (lock, sign out, expiry) and training mode.

The session's life is decided here:
- signing in shows the search page and starts the idle monitor;
- signing out, locking and a server-side expiry all clear every model and widget holding record
  data (search form and results, record view, open dialogs) and the clipboard;
- the idle lock (or the Lock button) also ends the session on the server, so a locked workstation
  holds no usable token. Unlocking is a new sign-in by the same person with their password and a
  new one-time code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.errors import ApiError
from cpclient.security.idle import IdleMonitor
from cpclient.security.preferences import UserPreferences
from cpclient.security.redaction import clear_sensitive
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.confirm_dialog import ConfirmDialog
from cpclient.ui.error_summary import Problem
from cpclient.ui.layout import scrolling
from cpclient.ui.login_page import LoginPage
from cpclient.ui.modal import open_modal
from cpclient.ui.session_bar import SessionBar
from cpclient.ui.status_message import speak_status_bar
from cpclient.ui.training_banner import TrainingBanner
from cpclient.ui.training_help import DemoAccountsPanel, ScenariosPanel, TrainingKit

if TYPE_CHECKING:
    import asyncio

    # Imported when the window is completed (`complete`), not before it is first shown: the work
    # pages, the API client (requests, pydantic) and the lockdown are not needed to show sign-in.
    from cpclient.api.client import ContactPointClient
    from cpclient.api.models import Meta, Record, ShieldedRecord, SignedIn
    from cpclient.security.lockdown import ApplicationLockdown
    from cpclient.ui.involvement_actions import InvolvementActions
    from cpclient.ui.notice_watcher import NoticeWatcher
    from cpclient.ui.notices_page import NoticesPage
    from cpclient.ui.oversight.management_area import ManagementArea
    from cpclient.ui.record_opener import RecordOpener
    from cpclient.ui.record_reports import RecordReports
    from cpclient.ui.record_view import RecordView
    from cpclient.ui.search_page import SearchPage

log = logging.getLogger(__name__)

STARTING = "Starting ContactPoint…"
SIGNED_OUT = "You have signed out."
TRAINING_RESET = "The training data has been reset to its starting state. Sign in again."
WINDOW_NAME = "main_window"
DEFAULT_IDLE_SECONDS = 15 * 60
LOGOUT_WAIT_SECONDS = 5.0


class MainWindow(QMainWindow):
    """The client's one main window.

    The window is built in two steps so that it can be shown before the rest of the client is
    imported: the constructor builds the sign-in side (banner, session bar, sign-in form); `complete`
    adds the API client, the training helpers and the work pages (search, record, management). Given
    an `api`, the constructor completes the window at once; given None (the composition root's fast
    start), the window shows "Starting ContactPoint…" until `complete` is called.

    Args:
        api: the API client, or None to complete the window later.
        calls: runs API calls off the Qt thread.
        workstation: this workstation's enrolment identifier.
        mode: live or training.
        policy_idle_seconds: the managed policy's idle timeout, if it sets one.
        lockdown: the application lockdown (its refusals are shown in the status bar).
        training: training mode's demo accounts, scenarios and embedded server.
        preferences: where the window's size is remembered.

    Signals:
        closed(): the window was closed; the application should finish.
        ready(): the server was checked; signing in is possible.
        problem(str): the client cannot connect or start (the message shown on the sign-in page).
    """

    closed = Signal()
    ready = Signal()
    problem = Signal(str)

    def __init__(
        self,
        api: ContactPointClient | None,
        calls: BackgroundCalls,
        workstation: str,
        mode: ClientMode,
        *,
        policy_idle_seconds: int | None = None,
        lockdown: ApplicationLockdown | None = None,
        training: TrainingKit | None = None,
        preferences: UserPreferences | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(mode.app_title)
        self.setAccessibleName(mode.app_title)
        self.calls = calls
        self.mode = mode
        self.meta: Meta | None = None
        self.session: SignedIn | None = None
        self._policy_idle = policy_idle_seconds
        self._lockdown = lockdown
        self._training = training
        self._preferences = preferences
        self._pending_logouts: set[asyncio.Task[None]] = set()
        self._connecting = False
        self._completed = False
        self._reset_dialog: ConfirmDialog | None = None

        central = QWidget(self)
        self._central = central
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        self.banner: TrainingBanner | None = None
        if mode.training:
            self.banner = TrainingBanner(central, with_reset=bool(training and training.server))
            self.banner.reset_requested.connect(self.confirm_training_reset)
            column.addWidget(self.banner)
        self.session_bar = SessionBar(central)
        self.session_bar.hide()
        column.addWidget(self.session_bar)

        self.login = LoginPage(api, calls, workstation, central)
        self.retry_button = QPushButton("&Try again", self.login)
        self.retry_button.setAccessibleName("Try again")
        self.retry_button.setAccessibleDescription("Try connecting to ContactPoint again")
        self.retry_button.setAutoDefault(False)
        self.retry_button.clicked.connect(self.start)
        self.retry_button.hide()
        self.login.extras.addWidget(self.retry_button)
        # Busy while the client is starting, the training server warms up, or the server is checked.
        self.progress = QProgressBar(self.login)
        self.progress.setObjectName("startProgress")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Starting")
        self.progress.hide()
        self.login.extras.addWidget(self.progress)
        self.demo_accounts: DemoAccountsPanel | None = None
        # Scroll areas that take focus (so the keyboard can scroll them) are named for what they hold.
        self.login_scroll = QScrollArea(central)
        self.login_scroll.setAccessibleName("Sign-in page")
        self.login_scroll.setWidgetResizable(True)
        self.login_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.login_scroll.setWidget(self.login)

        self.work = QStackedWidget(central)
        self.pages = QStackedWidget(central)
        self.pages.addWidget(self.login_scroll)
        self.pages.addWidget(self.work)
        column.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.statusBar().setSizeGripEnabled(True)
        speak_status_bar(self.statusBar())
        self.idle = IdleMonitor(policy_idle_seconds or DEFAULT_IDLE_SECONDS, self)

        calls.session_ended.connect(self.session_ended)
        self.login.signed_in.connect(self._signed_in)
        self.login.sign_out_requested.connect(self._sign_out_from_lock)
        self.session_bar.lock_requested.connect(self.lock_now)
        self.session_bar.sign_out_requested.connect(self.sign_out)
        self.idle.idle.connect(self.lock_when_idle)

        self.fit_to_screen()
        if preferences is not None and preferences.restore_window(WINDOW_NAME, self):
            self.keep_inside_screen()  # the size saved may be from a larger screen
        if api is not None:
            self.complete(api)
        else:
            self._show_progress(STARTING)

    def complete(
        self,
        api: ContactPointClient,
        *,
        workstation: str | None = None,
        lockdown: ApplicationLockdown | None = None,
        training: TrainingKit | None = None,
    ) -> None:
        """Add the API client, the training helpers and the work pages (once).

        Args:
            api: the API client.
            workstation: the workstation identifier, when it was read after the window was built.
            lockdown: the application lockdown, when it was installed after the window was built.
            training: the complete training kit, when the one given to the constructor was not.
        """
        if self._completed:
            return
        from cpclient.api.notices import NoticesClient
        from cpclient.ui.involvement_actions import InvolvementActions
        from cpclient.ui.notice_watcher import NoticeWatcher
        from cpclient.ui.notices_page import NoticesPage
        from cpclient.ui.oversight.management_area import ManagementArea
        from cpclient.ui.record_opener import RecordOpener
        from cpclient.ui.record_reports import RecordReports
        from cpclient.ui.record_view import RecordView
        from cpclient.ui.search_page import SearchPage

        self._completed = True
        self.api = api
        self.login.set_api(api, workstation)
        if lockdown is not None:
            self._lockdown = lockdown
        if training is not None:
            self._training = training
        training = self._training
        calls, mode, central = self.calls, self.mode, self._central
        if training is not None:
            self.demo_accounts = DemoAccountsPanel(training, self.login)
            self.demo_accounts.account_chosen.connect(self._fill_demo_account)
            self.login.extras.addWidget(self.demo_accounts)
            if training.scenarios:
                self.login.extras.addWidget(
                    ScenariosPanel(training.scenarios, self.login, with_buttons=False)
                )

        self.search: SearchPage = SearchPage(api, calls, central)
        self.record_view: RecordView = RecordView(central)
        search_area: QWidget = scrolling(self.search, central)
        if training is not None and training.scenarios:
            splitter = QSplitter(Qt.Orientation.Horizontal, central)
            splitter.setChildrenCollapsible(False)
            splitter.addWidget(search_area)
            scenarios = ScenariosPanel(training.scenarios, splitter, with_buttons=True)
            scenarios.scenario_chosen.connect(lambda chosen: self.search.fill(chosen.criteria))
            scenario_scroll = QScrollArea(splitter)
            scenario_scroll.setAccessibleName("Training scenarios")
            scenario_scroll.setWidgetResizable(True)
            scenario_scroll.setWidget(scenarios)
            splitter.addWidget(scenario_scroll)
            scenario_scroll.setMinimumWidth(scenarios.fontMetrics().averageCharWidth() * 45)
            splitter.setStretchFactor(0, 2)
            splitter.setStretchFactor(1, 1)
            search_area = splitter
        self.work.addWidget(search_area)
        self.work.addWidget(self.record_view)
        self._search_area = search_area
        # Management and national team screens (a page in `work`, a button in the session bar).
        self.management: ManagementArea = ManagementArea(api, calls, mode, self.work, self.session_bar)
        # Involvement notices: the unread count in the session bar (every signed-in screen), the inbox.
        notices = NoticesClient(api)
        self.notices: NoticesPage = NoticesPage(notices, calls, self.work, self.session_bar)
        self.notice_watcher: NoticeWatcher = NoticeWatcher(notices, calls, self)

        self.opener: RecordOpener = RecordOpener(api, calls, mode, self)
        self.involvements: InvolvementActions = InvolvementActions(api, calls, mode, self.record_view)
        self.reports: RecordReports = RecordReports(api, calls, mode, self.record_view)

        self.search.open_requested.connect(self.opener.request_open)
        self.opener.opening.connect(self._record_opening)
        self.opener.opened.connect(self._record_opened)
        self.opener.failed.connect(self._record_failed)
        self.opener.overridden.connect(self._record_overridden)
        self.opener.override_failed.connect(self._override_failed)
        self.record_view.override_requested.connect(self.opener.request_override)
        self.record_view.back_requested.connect(self.show_search)
        self.record_view.status.connect(self.show_status)
        self.record_view.add_requested.connect(self.involvements.add)
        self.record_view.end_requested.connect(self.involvements.end)
        self.record_view.cleared.connect(self.involvements.cancel)
        self.involvements.working.connect(self.record_view.show_progress)
        self.involvements.failed.connect(self.record_view.show_problem)
        self.involvements.changed.connect(self.record_view.involvement_changed)
        self.record_view.report_requested.connect(self.reports.ask)
        self.record_view.cleared.connect(self.reports.cancel)
        self.reports.working.connect(self.record_view.show_progress)
        self.reports.failed.connect(self.record_view.show_problem)
        self.reports.sent.connect(self.record_view.report_sent)
        self.management.opening.connect(self.record_view.clear)
        self.management.back_requested.connect(self.show_search)
        self.management.status.connect(self.show_status)
        self.management.record_opened.connect(self._record_opened)
        self.notices.opening.connect(self.record_view.clear)
        self.notices.opening.connect(self.management.clear)
        self.notices.back_requested.connect(self.show_search)
        self.notices.status.connect(self.show_status)
        self.notices.read.connect(self.notice_watcher.poll_now)
        self.notice_watcher.changed.connect(self._notices_changed)
        self.notices.button.announced.connect(self.show_status)
        if self._lockdown is not None:
            self._lockdown.blocked.connect(self.show_status)

    def cannot_start(self, message: str) -> None:
        """Something stops the client starting (say, no keyring): say so; signing in stays off."""
        self.progress.hide()
        self.login.set_ready(False, "")
        self.login.summary.show_problems([Problem(message)])
        self.problem.emit(message)

    @property
    def completed(self) -> bool:
        """True once the work pages and the API client are in place (see `complete`)."""
        return self._completed

    def _show_progress(self, status: str) -> None:
        self.login.set_ready(False, status)
        self.progress.setAccessibleName(status)
        self.progress.show()

    def fit_to_screen(self) -> None:
        """Take the preferred size (150 characters by 48 lines), but never more than the screen has."""
        metrics = self.fontMetrics()
        self.resize(metrics.averageCharWidth() * 150, metrics.lineSpacing() * 48)
        self.keep_inside_screen()

    def keep_inside_screen(self) -> None:
        """Shrink and move the window, if need be, so that all of it is on its screen."""
        available = self.screen().availableGeometry()
        frame = self.frameGeometry()
        decoration = frame.size() - self.size()
        width = min(self.width(), available.width() - decoration.width())
        height = min(self.height(), available.height() - decoration.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        frame = self.frameGeometry()
        left = min(max(frame.left(), available.left()), available.right() + 1 - frame.width())
        top = min(max(frame.top(), available.top()), available.bottom() + 1 - frame.height())
        if (left, top) != (frame.left(), frame.top()):
            self.move(left, top)

    # --- connecting ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the training server if there is one, then check the server and allow signing in."""
        if self._completed and not self._connecting:
            self.calls.start(self._connect())

    async def _connect(self, notice: str = "", *, reset: bool = False) -> None:
        self._connecting = True
        self.retry_button.hide()
        self.login.summary.clear()
        server = self._training.server if self._training else None
        try:
            if server is not None:
                preparing = "Resetting" if reset else "Preparing"
                self._show_progress(f"{preparing} the fictitious training data…")
                try:
                    await self.calls.run(server.reset if reset else server.start)
                except ApiError:
                    raise
                except Exception as error:  # any failure to start is shown, not raised
                    log.error("training server did not start: %s", type(error).__name__)
                    self._connection_problem(
                        "The training server could not be started on this computer. Close cpclient and "
                        "start it again; if it keeps happening, contact your IT service desk."
                    )
                    return
            self._show_progress("Connecting to ContactPoint…")
            try:
                meta: Meta = await self.calls.run(partial(self.api.check_server, training=self.mode.training))
            except ApiError as error:
                self._connection_problem(error.message)
                return
            self.meta = meta
            self.opener.set_meta(meta)
            self.involvements.set_meta(meta)
            self.reports.set_meta(meta)
            self.progress.hide()
            self.login.set_ready(True, "")
            self.login.show_notice(notice)
            self.login.focus_first_field()
            self.ready.emit()
        finally:
            self._connecting = False

    def _connection_problem(self, message: str) -> None:
        self.progress.hide()
        self.login.set_ready(False, "")
        self.login.summary.show_problems([Problem(message)])
        self.retry_button.show()
        self.problem.emit(message)

    # --- the session -----------------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        """True while someone is signed in (not locked)."""
        return self.session is not None

    def _signed_in(self, session: SignedIn) -> None:
        if self.meta is None:
            return
        self.login.unlock_mode_off()
        if self.demo_accounts is not None:
            self.demo_accounts.set_locked(False)
        self.session = session
        self.session_bar.set_user(session.user)
        self.session_bar.show()
        self.record_view.set_session(session.user, self.meta)
        self.management.set_session(session.user, self.meta)
        self.notices.set_session(session.user.role, self.meta)
        if session.user.role == "practitioner":
            self.notice_watcher.start(self.meta.policy.notice_poll_seconds)
        self.pages.setCurrentWidget(self.work)
        self.show_search()
        self.search.focus_first_field()
        self.idle.set_timeout(self._idle_seconds(session))
        self.idle.start()
        self.show_status(f"Signed in as {session.user.display_name}.")

    def _idle_seconds(self, session: SignedIn) -> int:
        candidates = [session.idle_timeout_seconds]
        if self.meta is not None:
            candidates.append(self.meta.policy.idle_timeout_seconds)
        if self._policy_idle:
            candidates.append(self._policy_idle)
        usable = [value for value in candidates if value > 0]
        return min(usable) if usable else DEFAULT_IDLE_SECONDS

    def clear_record_data(self) -> None:
        """Forget every piece of record data the window holds, and the clipboard."""
        if not self._completed:
            return  # nothing was ever shown, nor could be
        self.opener.cancel()
        self.search.clear()
        self.record_view.clear()
        self.management.clear()
        self.notices.clear()
        clear_sensitive()
        if self._lockdown is not None:
            self._lockdown.clear_clipboard()

    def _end_session(self, *, tell_server: bool) -> None:
        self.idle.stop()
        self.clear_record_data()
        self.record_view.forget_session()
        self.management.forget_session()
        self.notice_watcher.stop()
        self.notices.forget_session()
        send = self.api.end_session()
        if tell_server:
            task = self.calls.start(self._tell_server(send))
            self._pending_logouts.add(task)
            task.add_done_callback(self._pending_logouts.discard)
        self.session = None
        self.session_bar.set_user(None)
        self.session_bar.hide()

    async def _tell_server(self, send: Callable[[], None]) -> None:
        try:
            await self.calls.run(send)
        except ApiError as error:
            log.info("the server was not told of the sign-out: %s", error)

    def lock(self, *, idle: bool = False) -> None:
        """Hide and forget record data, end the server session, and ask for the password again."""
        if self.session is None:
            return
        username = self.session.user.username
        self._end_session(tell_server=True)
        self.login.lock_for(username, idle=idle)
        if self.demo_accounts is not None:
            self.demo_accounts.set_locked(True)
        self.pages.setCurrentWidget(self.login_scroll)
        self.login.focus_first_field()
        self.show_status("ContactPoint is locked.")

    def lock_now(self) -> None:
        """The Lock button."""
        self.lock()

    def lock_when_idle(self) -> None:
        """The idle monitor's timeout."""
        self.lock(idle=True)

    @property
    def locked(self) -> bool:
        """True while the unlock form is showing."""
        return self.login.locked_user is not None

    def sign_out(self) -> None:
        """End the session and return to the sign-in page."""
        if self.session is None:
            return
        self._end_session(tell_server=True)
        self._show_login(SIGNED_OUT)

    def _sign_out_from_lock(self) -> None:
        self._show_login(SIGNED_OUT)

    def session_ended(self, message: str) -> None:
        """The server ended the session: clear everything and say why on the sign-in page."""
        if self.session is None and not self.locked:
            return
        self._end_session(tell_server=False)
        self._show_login(message)

    def _show_login(self, notice: str) -> None:
        self.login.unlock_mode_off()
        if self.demo_accounts is not None:
            self.demo_accounts.set_locked(False)
        self.pages.setCurrentWidget(self.login_scroll)
        self.login.show_notice(notice)  # once on screen, so that it is announced
        self.login.focus_first_field()

    # --- records ---------------------------------------------------------------------------------

    def _notices_changed(self, unread: int, more: bool) -> None:
        self.notices.button.set_count(unread, more=more)

    def show_search(self) -> None:
        """Show the search page (the record view and the inbox keep nothing once left)."""
        self.record_view.clear()
        self.notices.clear()
        self.work.setCurrentWidget(self._search_area)
        if self.search.model.rowCount() > 0:
            self.search.table.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.search.focus_first_field()

    def _record_opening(self, message: str) -> None:
        if self.work.currentWidget() is self.record_view:
            self.record_view.message.setText(message)  # an override, asked for from the record
        else:
            self.search.status.setText(message)

    def _record_opened(self, record: Record | ShieldedRecord) -> None:
        if self.session is None:
            return
        self.search.status.clear()
        self.record_view.show_record(record)
        self.work.setCurrentWidget(self.record_view)
        self.record_view.details.setFocus(Qt.FocusReason.OtherFocusReason)

    def _record_overridden(self, record: Record | ShieldedRecord) -> None:
        # The server has usually ended this session by now (the override suspends the account): the
        # record is shown all the same, and the next call returns the person to sign-in.
        if self.session is None:
            return
        self.record_view.show_record(record, overridden=True)
        self.work.setCurrentWidget(self.record_view)
        self.record_view.details.setFocus(Qt.FocusReason.OtherFocusReason)
        self.show_status("Shielding overridden. The management team has been alerted.")

    def _override_failed(self, message: str) -> None:
        if self.session is None:
            return
        self.record_view.show_problem(message)

    def _record_failed(self, message: str) -> None:
        if self.session is None:
            return
        self.search.status.clear()
        self.search.summary.show_problems([Problem(message)])

    def show_status(self, message: str) -> None:
        """Show `message` in the status bar for a while (an empty one clears it)."""
        if message:
            self.statusBar().showMessage(message, 8000)
        else:
            self.statusBar().clearMessage()

    # --- training --------------------------------------------------------------------------------

    def fill_demo_account(self, username: str) -> None:
        """Fill the sign-in form with a demo account (training mode; nothing happens otherwise)."""
        self._fill_demo_account(username)

    def _fill_demo_account(self, username: str) -> None:
        if self._training is not None:
            self.login.fill(username, self._training.password, self._training.code())

    def confirm_training_reset(self) -> None:
        """Ask, then restore the training data to its starting state."""
        if self._training is None or self._training.server is None or self._reset_dialog is not None:
            return
        dialog = ConfirmDialog(
            "Reset training data",
            "Reset the training data?",
            "Everyone using this training server is signed out, and every fictitious record, "
            "involvement and audit entry returns to its starting state.",
            "&Reset training data",
            self.mode,
            self,
        )
        self._reset_dialog = open_modal(
            dialog, lambda _dialog: self.calls.start(self.reset_training()), self._reset_closed
        )

    def _reset_closed(self) -> None:
        self._reset_dialog = None

    async def reset_training(self) -> None:
        """Sign out, rebuild the training database, and offer the sign-in page again."""
        if self._training is None or self._training.server is None:
            return
        self._end_session(tell_server=False)
        self._show_login("")
        await self._connect(TRAINING_RESET, reset=True)

    # --- closing ---------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Clear record data, sign out on the server (waiting a few seconds at most), stop the workers."""
        if self.session is not None:
            self._end_session(tell_server=True)
        self.clear_record_data()
        pending = [task for task in self._pending_logouts if not task.done()]
        if pending:
            import asyncio

            await asyncio.wait(pending, timeout=LOGOUT_WAIT_SECONDS)
        self.calls.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self._preferences is not None:
            self._preferences.save_window(WINDOW_NAME, self)
        self.idle.stop()
        self.clear_record_data()
        super().closeEvent(event)
        self.closed.emit()
