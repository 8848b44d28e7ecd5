"""Fast start: the sign-in window is built and shown before the heavy parts of the client load."""

from __future__ import annotations

import os
import subprocess
import sys

from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.main_window import STARTING, MainWindow

# Not needed to show the sign-in window; each costs more than a bare window's whole start.
DEFERRED = (
    "requests",
    "pydantic",
    "sqlalchemy",
    "keyring",
    "cpserver.api",
    "cpserver.store",
    "cpserver.seed.run",
    "uvicorn",
    "qasync",
    "pyotp",
    "asyncio",
)


def test_the_sign_in_window_needs_none_of_the_heavy_modules():
    probe = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from cpclient import app as cpclient_app\n"
        "from cpclient.ui.background import BackgroundCalls\n"
        "from cpclient.ui.client_mode import ClientMode\n"
        "from cpclient.ui.main_window import MainWindow\n"
        "from cpclient.training.embedded_server import EmbeddedTrainingServer\n"
        "from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code\n"
        "from cpclient.ui.training_help import TrainingKit\n"
        "server = EmbeddedTrainingServer()\n"
        "kit = TrainingKit(accounts=[], password=DEMO_PASSWORD, code=demo_code, server=server)\n"
        "window = MainWindow(None, BackgroundCalls(), '', ClientMode(training=True), training=kit)\n"
        "window.show()\n"
        f"print('loaded:' + ','.join(name for name in {DEFERRED!r} if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert "loaded:\n" in done.stdout


def test_until_completed_the_window_says_it_is_starting_and_cannot_sign_in(qtbot):
    window = MainWindow(None, BackgroundCalls(), "", ClientMode())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert not window.completed
    assert window.login.status.text() == STARTING
    assert window.progress.isVisible() and window.progress.maximum() == 0  # busy, not a fixed bar
    assert not window.login.sign_in_button.isEnabled()
    window.login.username.setText("demo.practitioner")
    window.login.submit()  # nothing happens: there is no API client yet
    assert window.login.summary.problems == []
    window.start()  # nothing to connect with yet
    window.close()
    window.calls.shutdown()
