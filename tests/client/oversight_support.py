"""Driving the management screens in tests: open a tab, answer a form, act as another user, put the
shared training server back as it was (suspensions, lockdown, accreditation)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from cpclient.api.client import ContactPointClient
from cpclient.api.transport import Transport
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from cpclient.ui.main_window import MainWindow
from cpclient.ui.oversight.page import OversightPage
from cpclient.ui.oversight.text_prompt import TextPromptDialog
from tests.client.conftest import WORKSTATION, ServerHandle

# Accounts whose organisation the tests may withdraw; it is accredited again afterwards.
ACCREDITED = ("demo.practitioner", "demo.cmt", "demo.othercouncil")
# Accounts the tests may suspend (demo.emergency by overriding shielding); each is reinstated afterwards.
SUSPENDABLE = (
    "demo.socialworker",
    "demo.healthvisitor",
    "demo.schoolnurse",
    "demo.emergency",
    "test.newstarter",
)


def open_tab(qtbot: Any, window: MainWindow, title: str) -> OversightPage:
    """Open the management area on tab `title` and wait until its list has arrived."""
    window.management.button.click()
    tabs = window.management.tabs
    assert tabs is not None
    page = tabs.show_page(title)
    if page.load_on_show:
        qtbot.waitUntil(lambda: page.loaded and not page.busy, timeout=10_000)
    assert page.summary.messages == [], page.summary.messages
    return page


def wait_idle(qtbot: Any, page: OversightPage) -> None:
    """Wait until every call the page started has finished."""
    qtbot.waitUntil(lambda: not page.busy, timeout=10_000)


def dialog_of(qtbot: Any, page: OversightPage) -> Any:
    """The page's form dialog, once it is showing."""
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible())
    return page.dialog


def answer_prompt(qtbot: Any, page: OversightPage, text: str, *, acknowledge: bool = False) -> None:
    """Write `text` into the page's reason dialog, confirm, and wait until the server accepted it."""
    dialog = dialog_of(qtbot, page)
    assert isinstance(dialog, TextPromptDialog)
    dialog.text.setPlainText(text)
    if acknowledge:
        assert dialog.acknowledge is not None
        dialog.acknowledge.setChecked(True)
    dialog.confirm_button.click()
    qtbot.waitUntil(lambda: page.dialog is None, timeout=10_000)
    wait_idle(qtbot, page)


def signed_in_api(server: ServerHandle, username: str) -> ContactPointClient:
    """An API client signed in as `username` (to act as another person, off screen)."""
    api = ContactPointClient(Transport(server.url, read_timeout=10.0, total_timeout=20.0))
    api.login(username, DEMO_PASSWORD, demo_code(), WORKSTATION)
    return api


def restore_world(server: ServerHandle) -> None:
    """Undo what the oversight tests change on the shared server."""
    with server.engine.begin() as db:
        db.execute(text("UPDATE system_settings SET value = 'off' WHERE key = 'lockdown'"))
        for username in SUSPENDABLE:
            db.execute(
                text("UPDATE users SET suspended = 0, suspended_reason = '' WHERE username = :u"),
                {"u": username},
            )
        accredited = ", ".join(f"'{username}'" for username in ACCREDITED)
        db.execute(
            text(
                "UPDATE organisations SET accredited = 1 WHERE id IN "
                f"(SELECT organisation_id FROM users WHERE username IN ({accredited}))"
            )
        )
    server.allow_new_sign_in()
