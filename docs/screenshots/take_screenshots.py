"""Takes the README's screenshots from real windows in training mode (run under Xvfb).

    xvfb-run -a -s "-screen 0 1400x1000x24" .venv/bin/python docs/screenshots/take_screenshots.py
    xvfb-run -a -s "-screen 0 1024x768x24" .venv/bin/python docs/screenshots/take_screenshots.py --laptop
    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python docs/screenshots/take_screenshots.py --laptop
    (add --data-matching for only the data matching screens)

It starts the embedded training server, opens the client's main window as `cpclient --training`
does, walks the practitioner's path with the demo accounts, and grabs the screen (X server pixels,
not widget renders) after each step: login, search results, reason dialog, a record, a shielded
record (as demo.practitioner) and the idle lock.

With `--laptop`, the window fills the whole (small) screen, as on a council laptop, and the shots go
to `docs/screenshots/<width>x<height>/`: the same steps, plus the cases that once did not fit (a
sign-in refusal, a search the server finds too broad, the involvement dialog with a problem, the
shielding page's empty form) and a management and a national screen.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QWidget

from cpclient.api.client import ContactPointClient
from cpclient.api.models import SearchCriteria
from cpclient.api.transport import Transport
from cpclient.security.lockdown import install_application_lockdown
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_accounts, demo_code
from cpclient.training.embedded_server import EmbeddedTrainingServer
from cpclient.training.scenarios import training_scenarios
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.main_window import MainWindow
from cpclient.ui.oversight.data_matching_page import DataMatchingPage
from cpclient.ui.oversight.page import OversightPage
from cpclient.ui.oversight.shielding_page import ShieldingPage
from cpclient.ui.training_help import TrainingKit

HERE = Path(__file__).resolve().parent
OUT = HERE


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
    """Save the X server's pixels of `window` as <name>.png in the output folder."""
    screen = window.screen()
    frame = window.frameGeometry()
    pixmap = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    path = OUT / f"{name}.png"
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


async def sign_out_and_in(window: MainWindow, username: str) -> None:
    window.sign_out()
    await settle()
    await sign_in(window, username)


async def show_tab(window: MainWindow, title: str) -> OversightPage:
    """Open the management screens on tab `title` once its list has arrived."""
    window.management.open()
    tabs = window.management.tabs
    assert tabs is not None
    page = tabs.show_page(title)
    await until(lambda: not page.busy)
    await settle()
    return page


async def walk_laptop(window: MainWindow) -> None:
    """The practitioner's path and the screens that once did not fit, on the whole small screen."""
    window.show()
    window.setGeometry(window.screen().availableGeometry())
    window.start()
    await until(window.login.sign_in_button.isEnabled, timeout=120)
    await settle()
    grab(window, "login")
    window.login.fill("demo.practitioner", "not-the-password", "000000")
    window.login.submit()
    await until(lambda: bool(window.login.summary.messages))
    await settle()
    grab(window, "login_refused")

    await sign_in(window, "demo.practitioner")
    window.search.fill(SearchCriteria(family="Smith"))
    window.search.submit()
    await until(lambda: bool(window.search.summary.messages))
    await settle()
    grab(window, "search_too_broad")
    await search(window, "common_name")
    await settle()
    grab(window, "search_results")

    await search(window, "ordinary")
    await open_first(window, 1, shot="reason_dialog")
    await settle()
    grab(window, "record")
    assert window.record_view.add_button is not None
    window.record_view.add_button.click()
    await until(lambda: window.involvements.dialog is not None and window.involvements.dialog.isVisible())
    dialog = window.involvements.dialog
    assert dialog is not None
    dialog.service.setCurrentIndex(0)
    dialog.started_on.setText("31/02/2009")
    dialog.ok_button.click()
    await settle()
    grab(dialog, "involvement_dialog")
    dialog.reject()

    window.show_search()
    await search(window, "shielded")
    await open_first(window, 2)
    await settle()
    grab(window, "shielded_record")

    await sign_out_and_in(window, "demo.cmt")
    await show_tab(window, "Users")
    grab(window, "management_users")
    shielding = await show_tab(window, "Shielding")
    assert isinstance(shielding, ShieldingPage)
    shielding.shield()  # the empty form: every problem at once
    await settle()
    grab(window, "management_shielding")

    await data_matching_shots(window)

    await sign_out_and_in(window, "demo.national")
    await show_tab(window, "Lockdown")
    grab(window, "national_lockdown")

    window.lock_when_idle()
    await settle()
    grab(window, "idle_lock")


async def data_matching_shots(window: MainWindow) -> None:
    """The management team's Data matching tab, a possible match chosen (signed in as demo.cmt)."""
    page = await show_tab(window, "Data matching")
    assert isinstance(page, DataMatchingPage)
    page.matches_table.selectRow(0)
    await until(lambda: page.comparison is not None and not page.busy)
    await settle()
    grab(window, "management_data_matching")


async def walk_data_matching(window: MainWindow) -> None:
    """Only the data matching screens: "This is not right" on a record, then the management team's tab."""
    window.show()
    window.setGeometry(window.screen().availableGeometry())
    window.start()
    await until(window.login.sign_in_button.isEnabled, timeout=120)
    await sign_in(window, "demo.practitioner")
    await search(window, "ordinary")
    await open_first(window, 1)
    window.record_view.report_button.click()
    await until(lambda: window.reports.dialog is not None and window.reports.dialog.isVisible())
    dialog = window.reports.dialog
    assert dialog is not None
    dialog.buttons[3].click()
    await settle()
    grab(dialog, "record_report_dialog")
    dialog.reject()
    await sign_out_and_in(window, "demo.cmt")
    await data_matching_shots(window)


async def main(laptop: bool, only_data_matching: bool = False) -> None:
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
        if only_data_matching:
            await walk_data_matching(window)
        else:
            await (walk_laptop(window) if laptop else walk(window))
    finally:
        await window.shutdown()
        window.close()
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laptop", action="store_true", help="fill the screen; shots go to <size>/")
    parser.add_argument(
        "--data-matching", action="store_true", help="with --laptop: only the data matching screens"
    )
    options = parser.parse_args()
    application = QApplication(sys.argv[:1])
    if options.laptop:
        size = application.primaryScreen().size()
        OUT = HERE / f"{size.width()}x{size.height()}"
        OUT.mkdir(exist_ok=True)
    qasync.run(main(options.laptop, options.laptop and options.data_matching))
