"""`cpclient --smoke-test`: the installation check a service desk (and CI) runs on a packaged client.

It shows the sign-in window, waits for the server check, signs in with the demo practitioner account
and reports each step on standard output, then closes the window. The exit status is 0 when it
signed in, 1 otherwise.

It adds nothing a person could not do: it runs in training mode only (which the managed policy must
allow on a live installation), signs in only to a server that says it is a training server (the
client's usual check), with the published demo account, exactly as choosing that account on the
sign-in page does. Its report names the window and the account, never any record data.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from PySide6.QtCore import QEvent, QObject, QTimer

if TYPE_CHECKING:
    from cpclient.ui.main_window import MainWindow

SMOKE_ACCOUNT = "demo.practitioner"
SMOKE_TIMEOUT_SECONDS = 180
# A one-time code works once: a second check within the same 30 seconds (two installations checked
# one after the other) is refused, and signs in with the next code.
TOTP_STEP_SECONDS = 30
RETRIES = 3


class SmokeTest(QObject):
    """Drives one main window through sign-in and closes it.

    Args:
        window: the main window (training mode).
        out: where the report goes (standard output).
        timeout_seconds: how long the whole check may take.

    Attributes:
        passed: True once signed in.
    """

    def __init__(
        self, window: MainWindow, out: TextIO | None = None, timeout_seconds: float = SMOKE_TIMEOUT_SECONDS
    ) -> None:
        super().__init__(window)
        self._window = window
        self._out = out or sys.stdout
        self.passed = False
        self._finished = False
        window.ready.connect(self.sign_in)
        window.problem.connect(self._fail)
        window.login.signed_in.connect(self._signed_in)
        window.login.refused.connect(self._refused)
        self._retries = 0
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(lambda: self._fail("no sign-in within the time allowed"))
        self._deadline.start(int(timeout_seconds * 1000))
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Report the window once it is shown; never swallows an event."""
        if watched is self._window and event.type() == QEvent.Type.Show:
            self._window.removeEventFilter(self)
            QTimer.singleShot(0, self._shown)
        return False

    def _say(self, line: str) -> None:
        self._out.write(f"smoke test: {line}\n")
        self._out.flush()

    def _shown(self) -> None:
        window = self._window
        size = window.size()
        self._say(
            f"window shown: {window.windowTitle()!r} visible={window.isVisible()} "
            f"size={size.width()}x{size.height()} platform={_platform_name()}"
        )

    def sign_in(self) -> None:
        """Sign in with the demo practitioner account (when the server check says training)."""
        if self._finished:
            return
        self._say("server checked: a training server")
        self._window.fill_demo_account(SMOKE_ACCOUNT)
        self._window.login.submit()

    def _refused(self, code: str) -> None:
        if self._finished:
            return
        if code != "invalid_credentials" or self._retries >= RETRIES:
            self._fail(f"sign-in refused ({code})")
            return
        self._retries += 1
        wait = TOTP_STEP_SECONDS - time.time() % TOTP_STEP_SECONDS + 1
        self._say(f"sign-in refused: the one-time code was used already; the next one in {wait:.0f} s")
        QTimer.singleShot(int(wait * 1000), self.sign_in)

    def _signed_in(self) -> None:
        if self._finished:
            return
        self.passed = True
        self._say(f"signed in as {SMOKE_ACCOUNT}")
        self._finish()

    def _fail(self, message: str) -> None:
        if self._finished:
            return
        self._say(f"FAILED: {message}")
        self._finish()

    def _finish(self) -> None:
        self._finished = True
        self._deadline.stop()
        # After the sign-in's own handlers have run; closing signs out on the server.
        QTimer.singleShot(0, self._window.close)


def _platform_name() -> str:
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.platformName()
