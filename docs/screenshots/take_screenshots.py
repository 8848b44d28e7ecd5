"""Takes the README's screenshots from real windows in training mode (run under Xvfb).

    xvfb-run -a -s "-screen 0 1400x1000x24" .venv/bin/python docs/screenshots/take_screenshots.py

It starts the embedded training server, opens the client's main window as `cpclient --training`
does, walks the practitioner's path with the demo accounts, and grabs the screen (X server pixels,
not widget renders) after each step: login, search results, reason dialog, a record, a shielded
record (as demo.practitioner) and the idle lock.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.transport import Transport
from cpclient.security.lockdown import install_application_lockdown
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_accounts, demo_code
from cpclient.training.embedded_server import EmbeddedTrainingServer
from cpclient.training.scenarios import training_scenarios
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.main_window import MainWindow
from cpclient.ui.training_help import TrainingKit

HERE = Path(__file__).resolve().parent


async def until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait (letting Qt run) until `condition()` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the screen did not reach the expected state")
        await asyncio.sleep(0.05)


async def settle() -> None:
    """Let painting finish."""
    # Only asyncio.sleep: processing Qt events by hand inside a coroutine would re-enter other tasks.
    await asyncio.sleep(0.5)


def grab(window: QWidget, name: str) -> None:
    """Save the X server's pixels of `window` as docs/screenshots/<name>.png."""
    screen = window.screen()
    frame = window.frameGeometry()
    pixmap = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    path = HERE / f"{name}.png"
    pixmap.save(str(path))
    print(f"saved {path.relative_to(HERE.parent.parent)} ({pixmap.width()}x{pixmap.height()})")


async def sign_in(window: MainWindow, username: str) -> None:
    window.login.fill(username, DEMO_PASSWORD, demo_code())
    window.login.submit()
    await until(lambda: window.signed_in)


async def search(window: MainWindow, scenario: str) -> None:
    chosen = next(item for item in training_scenarios() if item.name == scenario)
    window.search.fill(chosen.criteria)
    window.search.submit()
    await until(lambda: not window.search.searching and window.search.model.rowCount() > 0)


async def open_first(window: MainWindow, reason: int, *, shot: str | None = None) -> None:
    window.search.table.selectRow(0)
    window.search.open_button.click()
    await until(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    dialog = window.opener.dialog
    assert dialog is not None
    dialog.buttons[reason].click()
    if shot:
        await settle()
        grab(dialog, shot)
    dialog.ok_button.click()
    await until(lambda: window.record_view.record is not None)


async def walk(window: MainWindow) -> None:
    window.show()
    window.move(20, 20)
    window.resize(1320, 940)
    window.start()
    await until(window.login.sign_in_button.isEnabled, timeout=120)
    await settle()
    grab(window, "login")

    await sign_in(window, "demo.practitioner")
    await search(window, "common_name")
    await settle()
    grab(window, "search_results")

    await search(window, "ordinary")
    await open_first(window, 1, shot="reason_dialog")
    await settle()
    grab(window, "record")

    window.show_search()
    await search(window, "shielded")
    await open_first(window, 2)
    await settle()
    grab(window, "shielded_record")

    window.lock_when_idle()  # what the idle monitor does after the policy's timeout
    await settle()
    grab(window, "idle_lock")


async def main() -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    server = EmbeddedTrainingServer()
    lockdown = install_application_lockdown(app)
    kit = TrainingKit(
        accounts=demo_accounts(),
        password=DEMO_PASSWORD,
        code=demo_code,
        scenarios=training_scenarios(),
        server=server,
    )
    window = MainWindow(
        ContactPointClient(Transport(server.url)),
        BackgroundCalls(),
        "WS-0000000000000001",
        ClientMode(training=True),
        lockdown=lockdown,
        training=kit,
    )
    try:
        await walk(window)
    finally:
        await window.shutdown()
        window.close()
        server.close()


if __name__ == "__main__":
    application = QApplication(sys.argv[:1])
    qasync.run(main())
