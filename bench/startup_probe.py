"""One cold start, ended the moment a window is on screen: the probe `bench/startup.py` times.

    python bench/startup_probe.py bare            a bare PySide6 window (the yardstick)
    python bench/startup_probe.py live URL        cpclient against a live server address
    python bench/startup_probe.py training        cpclient --training (embedded training server)
    python bench/startup_probe.py training-ready  the same, ended when the sign-in form is enabled

"Shown" is the first paint of the window (Qt has drawn it into its backing store, so it is on
screen). "Ready" is the sign-in button enabled: in training mode, the embedded server has been seeded,
started and checked. The probe prints the seconds since this process started, measured in-process
from the kernel's record of the process start, then ends the process at once (os._exit) so
interpreter teardown is not timed.

The probe does what `cpclient` itself does (create the QApplication, call `cpclient.app.main`), with
an event filter added to see the first paint. In live mode it names an in-memory keyring (this
machine has none; `bench/memory_keyring.py`, loaded only when the client asks for the keyring) and
a server address that is not listening: the window is shown before any connection is tried.
"""

from __future__ import annotations

import os
import sys
import time


def seconds_since_process_start() -> float:
    """Seconds since the kernel started this process (Linux: /proc; elsewhere, since the probe began)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat_file:
            fields = stat_file.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/uptime", encoding="ascii") as uptime_file:
            uptime = float(uptime_file.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _PROBE_START


_PROBE_START = time.monotonic()


def finish(what: str) -> None:
    """Print the elapsed time and end the process without teardown."""
    sys.stdout.write(f"{what} {seconds_since_process_start():.4f}\n")
    sys.stdout.flush()
    os._exit(0)


def main() -> None:
    kind = sys.argv[1]
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint and kind != "training-ready":
                window = getattr(watched, "window", None)
                if callable(window) and window() is not None and window().isVisible():
                    finish("shown")
            return False

    app = QApplication([sys.argv[0]])
    first_paint = FirstPaint()
    app.installEventFilter(first_paint)

    if kind == "bare":
        window = QMainWindow()
        window.setWindowTitle("bare")
        window.setCentralWidget(QLabel("Sign in", window))
        window.show()
        app.exec()
        return

    if kind == "live":
        # This machine has no keyring: the client finds the in-memory one named by
        # PYTHON_KEYRING_BACKEND (set here, read by keyring when the client first uses it).
        os.environ["PYTHON_KEYRING_BACKEND"] = "memory_keyring.MemoryKeyring"
        args = ["--server", sys.argv[2]]
    else:
        args = ["--training"]

    if kind == "training-ready":

        def check_ready() -> None:
            for widget in app.topLevelWidgets():
                login = getattr(widget, "login", None)
                button = getattr(login, "sign_in_button", None)
                if button is not None and button.isEnabled():
                    finish("ready")

        poll = QTimer()
        poll.timeout.connect(check_ready)
        poll.start(5)

    from cpclient import app as cpclient_app

    cpclient_app.main(args)
    sys.exit("the client closed before its window was shown")


if __name__ == "__main__":
    main()
