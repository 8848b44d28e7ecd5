"""`LoginPage`: sign in with username, password and one-time code; also the unlock form of the idle lock.

Every refusal is shown GOV.UK style: "There is a problem" with the server's message (what is missing
and whom to contact) and the client's advice for that refusal; throttling says how long to wait and
keeps the button disabled until then. In lock mode the username is fixed: unlocking is a new sign-in
by the same person, with their password and a new one-time code.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.errors import ApiError, LoginRefused, Throttled
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.error_summary import ErrorSummary, Problem
from cpclient.ui.heading import Heading
from cpclient.ui.login_guidance import guidance_for, wait_text
from cpclient.ui.status_message import StatusMessage

if TYPE_CHECKING:  # the API client is imported after the sign-in form is first shown
    from cpclient.api.client import ContactPointClient
    from cpclient.api.models import SignedIn

SIGN_IN_HEADING = "Sign in to ContactPoint"
LOCKED_HEADING = "This workstation is locked"
SIGN_IN_INTRO = "Enter your username, your password and the one-time code your authenticator shows now."
LOCKED_AFTER_IDLE = "ContactPoint locked because this computer was not used for a while. "
LOCKED_INTRO = (
    "Record data has been cleared from the screen and your session has ended. To continue, enter "
    "your password and a new one-time code, or sign out."
)


class LoginPage(QWidget):
    """The sign-in form.

    Args:
        api: the API client (None until `set_api`: the form stays disabled until then).
        calls: runs the sign-in off the Qt thread.
        workstation: this workstation's enrolment identifier, sent with every sign-in.

    Signals:
        signed_in(SignedIn): the server accepted the sign-in.
        sign_out_requested(): in lock mode, the person chose to sign out instead of unlocking.
    """

    signed_in = Signal(object)
    # A sign-in the server refused, with its stable code (after the page has shown why).
    refused = Signal(str)
    sign_out_requested = Signal()

    def __init__(
        self,
        api: ContactPointClient | None,
        calls: BackgroundCalls,
        workstation: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("loginPage")
        self._api = api
        self._calls = calls
        self._workstation = workstation
        self._locked_user: str | None = None
        self._ready = False
        self._busy = False
        self._retry_at = 0.0

        self.heading = Heading(SIGN_IN_HEADING, 1, self)
        self.intro = QLabel(SIGN_IN_INTRO, self)
        self.intro.setWordWrap(True)
        self.intro.setAccessibleName(SIGN_IN_INTRO)
        self.notice = StatusMessage(self)
        self.notice.setObjectName("loginNotice")
        font = self.notice.font()
        font.setBold(True)
        self.notice.setFont(font)
        self.notice.hide()
        self.summary = ErrorSummary(self)

        self.username = QLineEdit(self)
        self.username.setAccessibleName("Username")
        self.username.setMaxLength(100)
        self.username.setInputMethodHints(Qt.InputMethodHint.ImhNoAutoUppercase)
        self.password = QLineEdit(self)
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(1000)
        self.otp = QLineEdit(self)
        self.otp.setAccessibleName("One-time code")
        self.otp.setAccessibleDescription("The 6-digit code your authenticator shows now")
        self.otp.setMaxLength(12)
        self.otp.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        otp_hint = QLabel("The 6-digit code your authenticator shows now.", self)
        otp_hint.setWordWrap(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._username_label = QLabel("&Username", self)
        self._username_label.setBuddy(self.username)
        password_label = QLabel("&Password", self)
        password_label.setBuddy(self.password)
        otp_label = QLabel("One-time &code", self)
        otp_label.setBuddy(self.otp)
        form.addRow(self._username_label, self.username)
        form.addRow(password_label, self.password)
        form.addRow(otp_label, self.otp)
        form.addRow("", otp_hint)

        self.sign_in_button = QPushButton("&Sign in", self)
        self.sign_in_button.setAccessibleName("Sign in")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self.submit)
        self.sign_out_button = QPushButton("Sign &out", self)
        self.sign_out_button.setAccessibleName("Sign out")
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.sign_out_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)

        self.status = StatusMessage(self)
        self.status.setObjectName("loginStatus")

        column = QVBoxLayout()
        column.addWidget(self.heading)
        column.addWidget(self.intro)
        column.addWidget(self.notice)
        column.addWidget(self.summary)
        column.addLayout(form)
        column.addLayout(buttons)
        column.addWidget(self.status)
        self.extras = QVBoxLayout()
        column.addLayout(self.extras)
        column.addStretch(1)
        holder = QWidget(self)
        holder.setLayout(column)
        holder.setMaximumWidth(holder.fontMetrics().averageCharWidth() * 90)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(holder, 4)
        outer.addStretch(1)

        for field in (self.username, self.password, self.otp):
            field.returnPressed.connect(self.submit)
        self.setTabOrder(self.summary, self.username)
        self.setTabOrder(self.username, self.password)
        self.setTabOrder(self.password, self.otp)
        self.setTabOrder(self.otp, self.sign_in_button)
        self.setTabOrder(self.sign_in_button, self.sign_out_button)

        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)
        self._update_enabled()

    # --- state -----------------------------------------------------------------------------------

    def set_ready(self, ready: bool, status: str = "") -> None:
        """Allow signing in once the server is known to be the right kind (or stop allowing it)."""
        self._ready = ready
        self.status.setText(status)
        self._update_enabled()

    def set_api(self, api: ContactPointClient, workstation: str | None = None) -> None:
        """Give the form its API client, and the workstation identifier when it was not known yet
        (the window was shown before the client and the keyring were loaded)."""
        self._api = api
        if workstation is not None:
            self._workstation = workstation
        self._update_enabled()

    def show_notice(self, text: str) -> None:
        """Show an information line above the form (e.g. why the session ended); empty hides it."""
        self.notice.setVisible(bool(text))
        self.notice.setText(text)

    def lock_for(self, username: str, *, idle: bool = False) -> None:
        """Become the unlock form for `username` (`idle`: say it locked because nobody used it)."""
        self._locked_user = username
        self.heading.set_heading(LOCKED_HEADING)
        intro = (LOCKED_AFTER_IDLE if idle else "") + LOCKED_INTRO
        self.intro.setText(intro)
        self.intro.setAccessibleName(intro)
        self.username.setText(username)
        self.username.setReadOnly(True)
        self.sign_in_button.setText("&Unlock")
        self.sign_in_button.setAccessibleName("Unlock")
        self.sign_out_button.show()
        self.reset_form()
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)

    def unlock_mode_off(self) -> None:
        """Become the ordinary sign-in form again."""
        self._locked_user = None
        self.heading.set_heading(SIGN_IN_HEADING)
        self.intro.setText(SIGN_IN_INTRO)
        self.intro.setAccessibleName(SIGN_IN_INTRO)
        self.username.setReadOnly(False)
        self.username.clear()
        self.sign_in_button.setText("&Sign in")
        self.sign_in_button.setAccessibleName("Sign in")
        self.sign_out_button.hide()
        self.reset_form()

    @property
    def locked_user(self) -> str | None:
        """The username the lock belongs to, or None when this is the ordinary sign-in form."""
        return self._locked_user

    def reset_form(self) -> None:
        """Clear the secrets, the summary and the status."""
        self.password.clear()
        self.otp.clear()
        self.summary.clear()
        self.status.clear()

    def fill(self, username: str, password: str, otp: str) -> None:
        """Fill the form (training mode's demo accounts)."""
        if self._locked_user is None:
            self.username.setText(username)
        self.password.setText(password)
        self.otp.setText(otp)
        self.sign_in_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def focus_first_field(self) -> None:
        """Put the cursor where typing starts."""
        field = self.password if self._locked_user else self.username
        field.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- signing in ------------------------------------------------------------------------------

    def submit(self) -> None:
        """Check the form and, when complete, sign in."""
        if self._busy or self._api is None or not self.sign_in_button.isEnabled():
            return
        # "You have signed out." is about the last session, not this attempt: it goes.
        self.show_notice("")
        problems = self._missing()
        if problems:
            self.summary.show_problems(problems)
            return
        self._calls.start(self._sign_in(self.username.text().strip(), self.password.text(), self.otp.text()))

    def _missing(self) -> list[Problem]:
        problems: list[Problem] = []
        if not self.username.text().strip():
            problems.append(Problem("Enter your username", self.username))
        if not self.password.text():
            problems.append(Problem("Enter your password", self.password))
        code = self.otp.text().strip().replace(" ", "")
        if not code:
            problems.append(Problem("Enter the one-time code from your authenticator", self.otp))
        elif not code.isdigit():
            problems.append(Problem("The one-time code must be numbers only, like 123456", self.otp))
        return problems

    async def _sign_in(self, username: str, password: str, otp: str) -> None:
        api = self._api
        assert api is not None  # submit() checked
        self._set_busy(True)
        self.summary.clear()
        self.status.setText("Signing in…")
        try:
            session: SignedIn = await self._calls.run(
                partial(api.login, username, password, otp.replace(" ", ""), self._workstation)
            )
        except Throttled as error:
            self._show_throttled(error)
        except LoginRefused as error:
            self._show_refused(error)
        except ApiError as error:
            self.status.clear()
            self.summary.show_problems([Problem(error.message)])
        else:
            self.reset_form()
            self.show_notice("")
            self.signed_in.emit(session)
            return
        finally:
            self._set_busy(False)
            self.password.clear()
            self.otp.clear()

    def _show_refused(self, error: LoginRefused) -> None:
        self.status.clear()
        if error.code == "invalid_credentials":
            first = self.password if self._locked_user else self.username
            problems = [Problem(error.message, first), Problem(guidance_for(error.code))]
        else:
            problems = [Problem(error.message), Problem(guidance_for(error.code))]
        self.summary.show_problems(problems)
        self.refused.emit(error.code)

    def _show_throttled(self, error: Throttled) -> None:
        seconds = error.retry_after if error.retry_after is not None else 60
        self._retry_at = time.monotonic() + seconds
        message = f"Too many attempts to sign in. Wait {wait_text(seconds)}, then try again."
        self.summary.show_problems([Problem(message), Problem(guidance_for("too_many_attempts"))])
        self._countdown.start()
        self._tick()

    def _tick(self) -> None:
        remaining = int(self._retry_at - time.monotonic() + 0.999)
        if remaining <= 0:
            self._countdown.stop()
            self._retry_at = 0.0
            self.status.setText("You can try to sign in again now.")
        else:
            self.status.setText(f"You can try again in {wait_text(remaining)}.")
        self._update_enabled()

    @property
    def throttled(self) -> bool:
        """True while the server's wait after too many attempts has not passed."""
        return self._retry_at > time.monotonic()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_enabled()

    def _update_enabled(self) -> None:
        can_submit = self._api is not None and self._ready and not self._busy and not self.throttled
        self.sign_in_button.setEnabled(can_submit)
