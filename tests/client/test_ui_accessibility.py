"""What a screen reader hears, on every page and dialog, against the real training server.

Each screen is reached the way a person reaches it (sign in, search, state a reason, open, manage) and
walked through the accessibility interfaces Qt gives Orca and NVDA (`tests/client/accessibility.py`):
no unnamed control, no label or status message saying something other than what it shows, no entry
without its label. Status messages are also announced when they change, without taking focus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QWidget

from cpclient.api.models import Record, ShieldedRecord
from cpclient.ui.oversight.lockdown_page import OWN_REQUEST
from cpclient.ui.oversight.oversight_tabs import CMT_PAGES, NATIONAL_PAGES
from cpclient.ui.status_message import StatusMessage
from tests.client.accessibility import interface, screen_reader_problems
from tests.client.conftest import open_first_result, search_for, sign_in
from tests.client.oversight_support import answer_prompt, dialog_of, open_tab, restore_world, wait_idle
from tests.client.test_ui_oversight_alerts import search_own_family_name
from tests.client.test_ui_shield_override import EMERGENCY, put_back

pytestmark = pytest.mark.slow
NEW_USER = "test.a11yreader"
EXPIRING = "1 check expires within 60 days or has expired."


def said(widget: QWidget) -> str:
    """The name a screen reader reads for `widget`."""
    return interface(widget).text(QAccessible.Text.Name)


@dataclass
class Walk:
    """The screens walked so far, and what a screen reader user would meet on each."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    screens: list[str] = field(default_factory=list)

    def check(self, screen: str, root: QWidget) -> None:
        """Walk `root` as it is now."""
        QApplication.processEvents()
        self.screens.append(screen)
        found = screen_reader_problems(root)
        if found:
            self.problems[screen] = found

    def assert_clean(self) -> None:
        report = "\n".join(f"{screen}:\n  " + "\n  ".join(found) for screen, found in self.problems.items())
        assert not self.problems, "what a screen reader user would meet:\n" + report


def shown(qtbot: Any, get: Callable[[], QWidget | None]) -> Any:
    """The dialog `get` returns, once it is showing."""
    qtbot.waitUntil(lambda: (found := get()) is not None and found.isVisible())
    return get()


@contextmanager
def announces(qtbot: Any, status: QWidget, text: str | re.Pattern[str]) -> Iterator[None]:
    """What is done inside shows `text` in `status`, which a screen reader reads by that name and is told
    of as an announcement (focus stays where it was)."""
    assert isinstance(status, StatusMessage), f"{type(status).__name__} is not a status message"

    def expected(said: str) -> bool:
        return said == text if isinstance(text, str) else text.fullmatch(said) is not None

    with qtbot.waitSignal(status.announced, timeout=5000, check_params_cb=expected):
        yield
    assert expected(status.text()) and said(status) == status.text()


def test_practitioner_screens_sign_in_search_reason_record_and_lock(qtbot, server, make_window):
    walk = Walk()
    window = make_window(server.url)
    walk.check("sign-in (training mode: demo accounts, scenarios)", window)
    window.login.submit()  # nothing filled in: the error summary, each message a link to its field
    assert window.login.summary.isVisible()
    walk.check("sign-in with problems", window)

    sign_in(qtbot, window)
    walk.check("search (with the training scenarios)", window)
    with announces(qtbot, window.search.status, "1 child found."):
        search_for(qtbot, window, "ordinary")
    walk.check("results", window)

    window.search.open_button.click()
    reason = shown(qtbot, lambda: window.opener.dialog)
    walk.check("reason", reason)
    reason.buttons[-1].click()  # Other (explain)
    with announces(qtbot, reason.count, "3 characters: at least 7 more needed"):
        qtbot.keyClicks(reason.explanation, "abc")  # announced once typing pauses
    walk.check("reason, explaining", reason)
    reason.reject()
    qtbot.waitUntil(lambda: window.opener.dialog is None)

    open_first_result(qtbot, window)
    assert isinstance(window.record_view.record, Record)
    walk.check("record", window)
    window.record_view.add_button.click()
    walk.check("record my involvement", shown(qtbot, lambda: window.involvements.dialog))
    window.involvements.dialog.reject()
    window.record_view.report_button.click()
    walk.check("this is not right", shown(qtbot, lambda: window.reports.dialog))
    window.reports.dialog.reject()
    qtbot.waitUntil(lambda: window.reports.dialog is None)
    end = next(
        button
        for button in window.record_view.content.findChildren(QWidget)
        if button.accessibleName().startswith("End my involvement")
    )
    end.click()
    walk.check("end my involvement", shown(qtbot, lambda: window.involvements.confirm))
    window.involvements.confirm.reject()

    window.record_view.back_button.click()
    search_for(qtbot, window, "shielded")
    open_first_result(qtbot, window)
    assert isinstance(window.record_view.record, ShieldedRecord)
    walk.check("shielded record", window)

    # The notices inbox (the training data gives demo.practitioner notices to read).
    window.notices.button.click()
    inbox = window.notices
    qtbot.waitUntil(
        lambda: window.work.currentWidget() is inbox and inbox.model.rowCount() > 0 and not inbox.busy,
        timeout=10_000,
    )
    walk.check("notices inbox", window)

    window.session_bar.lock_button.click()
    assert window.locked
    walk.check("lock", window)
    walk.assert_clean()


def test_override_screens(qtbot, server, make_window):
    walk = Walk()
    window = make_window(server.url)
    try:
        sign_in(qtbot, window, EMERGENCY)
        search_for(qtbot, window, "shielded")
        open_first_result(qtbot, window)
        walk.check("shielded record, may override", window)
        window.record_view.override_button.click()
        warning = shown(qtbot, lambda: window.opener.warning)
        walk.check("override warning", warning)
        warning.acknowledge.setChecked(True)
        warning.confirm_button.click()
        reason = shown(qtbot, lambda: window.opener.dialog)
        walk.check("reason for overriding", reason)
        reason.reject()
        qtbot.waitUntil(lambda: window.opener.dialog is None)
    finally:
        put_back(server)
    walk.assert_clean()


def walk_form(qtbot: Any, walk: Walk, screen: str, page: Any, open_it: Callable[[], None]) -> None:
    """Open a page's form, walk it, and cancel it (nothing is sent)."""
    open_it()
    walk.check(screen, dialog_of(qtbot, page))
    page.dialog.reject()
    qtbot.waitUntil(lambda: page.dialog is None)


def test_management_team_screens(qtbot, server, make_window):
    search_own_family_name(server, "demo.healthvisitor", "Hussain")  # an alert to look at
    walk = Walk()
    window = make_window(server.url)
    try:
        sign_in(qtbot, window, "demo.cmt")
        walk.check("management button", window)

        with announces(qtbot, window.management.tabs.page("Users").expiring_note, EXPIRING):
            users = open_tab(qtbot, window, "Users")
        walk.check("users", window)
        users.add_button.click()
        adding = shown(qtbot, lambda: users.dialog)
        walk.check("add a user", adding)
        adding.confirm_button.click()  # empty: every problem linked to its field
        walk.check("add a user, with problems", adding)
        adding.username.setText(NEW_USER)
        adding.given_name.setText("Ada")
        adding.family_name.setText("Reader")
        adding.job_title.setText("Family support worker")
        adding.email.setText("ada.reader@staff.example")
        adding.organisation.setCurrentIndex(1)
        adding.manager_name.setText("Ben Manager")
        adding.manager_email.setText("ben.manager@staff.example")
        adding.confirm_button.click()
        enrolment = shown(qtbot, lambda: users.enrolment_dialog)
        walk.check("a new account's first sign-in details", enrolment)
        enrolment.done_button.click()
        qtbot.waitUntil(lambda: users.enrolment_dialog is None)
        wait_idle(qtbot, users)
        # The account added here is the one acted on: other tests count the demo accounts' incidents.
        assert users.table.select_where(lambda u: u.username == NEW_USER)
        walk_form(qtbot, walk, "record accreditation", users, users.accredit_button.click)
        walk_form(qtbot, walk, "suspend a user", users, users.suspend_button.click)
        users.incident_button.click()
        walk.check("open an incident", dialog_of(qtbot, users))
        answer_prompt(qtbot, users, "Looked up a neighbour's child without a reason.")

        audit = open_tab(qtbot, window, "Audit trail")
        walk.check("audit trail", window)
        audit.username.setText("demo.cmt")
        audit.submit()
        qtbot.waitUntil(lambda: audit.model.rowCount() > 0 and not audit.busy, timeout=10_000)
        walk.check("audit trail entries", window)
        with announces(qtbot, audit.message, re.compile(r"\d+ entries, newest first\.")):
            audit.refresh()  # looking is itself audited: one entry more each time

        alerts = open_tab(qtbot, window, "Alerts")
        assert alerts.table.select_where(lambda a: a.username == "demo.healthvisitor")
        walk.check("alerts", window)
        count = alerts.model.rowCount()
        with announces(qtbot, alerts.queue_state, f"{count} open alert{'s' if count > 1 else ''}."):
            alerts.refresh()
        walk_form(qtbot, walk, "dismiss an alert", alerts, alerts.dismiss_button.click)
        walk_form(qtbot, walk, "open an incident from an alert", alerts, alerts.incident_button.click)

        incidents = open_tab(qtbot, window, "Incidents")
        assert incidents.table.select_where(lambda i: i.username == NEW_USER)
        walk.check("incidents", window)
        walk_form(qtbot, walk, "add a note", incidents, incidents.note_button.click)
        walk_form(qtbot, walk, "close an incident", incidents, incidents.close_button.click)

        shielding = open_tab(qtbot, window, "Shielding")
        walk.check("shielding", window)
        with announces(qtbot, shielding.review_state, shielding.review_state.text()):
            shielding.refresh()
        shielding.shield()  # empty: every problem linked to its field
        walk.check("shielding, with problems", window)

        open_tab(qtbot, window, "Children missing education")
        walk.check("children missing education", window)
        follow_up = open_tab(qtbot, window, "Notice follow-up")
        qtbot.waitUntil(lambda: follow_up.model.rowCount() > 0 and not follow_up.busy, timeout=10_000)
        walk.check("notice follow-up", window)
        matching = open_tab(qtbot, window, "Data matching")
        walk.check("data matching", window)
        # The training seed's possible matches: choose one, see both records, ask to decide.
        matching.matches_table.selectRow(0)
        qtbot.waitUntil(lambda: matching.comparison is not None and not matching.busy, timeout=10_000)
        walk.check("data matching, both records side by side", window)
        with announces(qtbot, matching.matches_state, matching.matches_state.text()):
            matching.refresh()
        matching.different_button.click()
        walk.check("different children?", shown(qtbot, lambda: matching.confirm))
        matching.confirm.reject()
        qtbot.waitUntil(lambda: matching.confirm is None)
        assert matching.reports_table.select_where(lambda r: r.problem == "wrong_address")
        matching.corrected_button.click()
        walk.check("report corrected?", shown(qtbot, lambda: matching.confirm))
        matching.confirm.reject()
        walked = {
            "Users",
            "Audit trail",
            "Alerts",
            "Incidents",
            "Shielding",
            "Children missing education",
            "Notice follow-up",
            "Data matching",
        }
        assert walked == {title for title, _page in CMT_PAGES}  # a new screen is walked here too
    finally:
        restore_world(server)
    walk.assert_clean()


def test_national_team_screens(qtbot, server, make_window):
    walk = Walk()
    window = make_window(server.url)
    try:
        sign_in(qtbot, window, "demo.national")
        for title, _page in NATIONAL_PAGES:
            page = open_tab(qtbot, window, title)
            if title == "Audit trail":
                page.submit()
                qtbot.waitUntil(lambda page=page: not page.busy and page.loaded, timeout=10_000)
            walk.check(title, window)

        lockdown = open_tab(qtbot, window, "Lockdown")
        lockdown.lock_button.click()
        walk.check("lock down", dialog_of(qtbot, lockdown))
        answer_prompt(qtbot, lockdown, "Suspected theft of login details.", acknowledge=True)
        walk.check("locked down", window)
        lockdown.request_button.click()
        walk.check("ask to restore", dialog_of(qtbot, lockdown))
        with announces(qtbot, lockdown.confirm_note, OWN_REQUEST):
            answer_prompt(qtbot, lockdown, "The stolen details have been changed.")
        walk.check("restore asked by me", window)

        organisations = open_tab(qtbot, window, "Organisations")
        assert organisations.table.select_where(lambda o: o.accredited)
        walk_form(qtbot, walk, "withdraw accreditation", organisations, organisations.withdraw_button.click)
        assert organisations.table.select_where(lambda o: not o.accredited)
        walk_form(qtbot, walk, "accredit an organisation", organisations, organisations.accredit_button.click)
    finally:
        restore_world(server)
    walk.assert_clean()
