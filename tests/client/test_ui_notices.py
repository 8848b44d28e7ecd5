"""Involvement notices in the client, against the real training server: the unread count on every
signed-in screen (announced when it rises), the inbox by keyboard, shielded and sensitive notices,
follow-up answers and the delivery setting; polling never stalls the window."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication

from cpclient.api.client import ContactPointClient
from cpclient.api.models import InvolvementDraft
from cpclient.api.transport import Transport
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from cpclient.ui.notices_page import WITHHELD
from tests.client.conftest import all_widget_texts, open_first_result, search_for, sign_in
from tests.client.test_ui_responsiveness import MAX_STALL_MS, StallMeter

SOCIAL_WORKER = "demo.socialworker"
OLIVER = "SELECT cp_id FROM children WHERE given_name = 'Oliver' AND family_name = 'Thistlewood'"


@pytest.fixture
def colleague(server) -> Iterator[ContactPointClient]:
    """demo.socialworker, signed in through the API on another workstation."""
    client = ContactPointClient(Transport(server.url, read_timeout=10.0, total_timeout=20.0))
    client.login(SOCIAL_WORKER, DEMO_PASSWORD, demo_code(), "WS-COLLEAGUE-0001")
    yield client
    client.close()


def record_and_end(colleague: ContactPointClient, cp_id: str, service: str) -> int:
    """The colleague starts and ends an involvement: the involved practitioners are told twice."""
    added = colleague.add_involvement(cp_id, InvolvementDraft(service_type=service))
    colleague.end_involvement(added.id)
    return added.id


def accessible_names_match_labels(root) -> list[str]:
    """Buttons whose accessible name is not their visible label."""
    return [
        f"{button.text()!r} named {button.accessibleName()!r}"
        for button in [root, *root.findChildren(QAbstractButton)]
        if isinstance(button, QAbstractButton)
        and button.text()
        and button.accessibleName() != button.text().replace("&", "")
    ]


def test_the_inbox_by_keyboard_against_the_real_server(qtbot, server, make_window, colleague):
    window = make_window(server.url)
    sign_in(qtbot, window)
    button = window.notices.button
    assert window.banner is not None and button.isVisible(), "the count shows in training mode too"
    watcher = window.notice_watcher
    qtbot.waitUntil(lambda: watcher.active and watcher._task is not None and watcher._task.done())
    before = button.unread

    involvement_id = record_and_end(colleague, server.scalar(OLIVER), "youth_offending")
    with qtbot.wait_signal(button.announced, timeout=10_000) as announced:
        watcher.poll_now()
    assert button.unread == before + 2
    assert announced.args == [f"You have {before + 2} unread notices."]
    assert button.accessibleName() == f"Notices ({before + 2} unread)"
    assert window.statusBar().currentMessage() == f"You have {before + 2} unread notices."
    assert not accessible_names_match_labels(button)

    # Open the inbox from the keyboard.
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(button, Qt.Key.Key_Space)
    page = window.notices
    qtbot.waitUntil(
        lambda: window.work.currentWidget() is page and page.model.rowCount() > 0 and not page.busy
    )
    assert QApplication.focusWidget() is page.table
    newest = page.model.rows[0]
    assert newest.event == "ended" and newest.involvement is not None
    assert newest.involvement.id == involvement_id and newest.child.name == "Oliver Thistlewood"
    assert page.chosen == newest
    texts = all_widget_texts(page.detail)
    assert any(newest.involvement.telephone in text for text in texts)
    assert any("Ended on" in text for text in texts)
    audited = server.scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'notice_view' "
        "AND username = 'demo.practitioner' AND reason_code = 'notice_ended_involvement'"
    )
    assert int(audited) >= 1
    # Seen: the count falls to nothing (the page asks for it again), and says so.
    qtbot.waitUntil(lambda: button.unread == 0, timeout=10_000)
    assert button.accessibleName() == "Notices" and button.text() == "Not&ices"

    # A shielded child's notice names the management team, and nothing of the other service.
    assert page.table.select_where(lambda n: n.child.name == "Skye Wrenfield")
    skye = page.chosen
    assert skye is not None and skye.involvement is None and skye.broker is not None
    shown = all_widget_texts(page.detail)
    assert WITHHELD in shown and skye.broker.telephone in " ".join(shown)
    assert not any("Health visiting" in text for text in shown)
    # Maya's sensitive service is never mentioned anywhere in the window.
    assert not any("Sexual health" in text for text in all_widget_texts(window))

    # Answer the follow-up by keyboard: choose "Contacted", then Save answer.
    assert page.table.select_where(lambda n: n.id == newest.id)
    contacted = page.answer_buttons["contacted"]
    contacted.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(contacted, Qt.Key.Key_Space)
    assert contacted.isChecked()
    with qtbot.wait_signal(page.status, timeout=10_000) as said:
        qtbot.keyClick(page.save_answer_button, Qt.Key.Key_Space)
    assert said.args == ["Answer saved: contacted."]
    assert page.message.text() == "Answer saved: contacted."
    assert server.scalar("SELECT follow_up FROM notices WHERE id = :id", id=newest.id) == "contacted"
    assert page.chosen is not None and page.chosen.follow_up == "contacted"

    # The delivery setting, within the policy (no "Off" unless the policy allows it).
    labels = [page.delivery.itemText(index) for index in range(page.delivery.count())]
    assert labels == ["At once", "In a daily digest"]
    page.delivery.setCurrentIndex(1)
    with qtbot.wait_signal(page.status, timeout=10_000):
        page.save_setting_button.click()
    assert (
        server.scalar("SELECT notice_delivery FROM users WHERE username = 'demo.practitioner'")
        == "daily_digest"
    )
    page.delivery.setCurrentIndex(0)
    with qtbot.wait_signal(page.status, timeout=10_000):
        page.save_setting_button.click()
    assert not accessible_names_match_labels(page)

    # Leaving forgets every notice; the count stays on every screen, a record's too.
    qtbot.keyClick(page.back_button, Qt.Key.Key_Space)
    assert page.model.rowCount() == 0 and page.detail_section is None
    search_for(qtbot, window, "ordinary")
    open_first_result(qtbot, window)
    assert window.work.currentWidget() is window.record_view and button.isVisible()

    # Signing out forgets the count and stops polling.
    window.session_bar.sign_out_button.click()
    assert not watcher.active and button.unread == 0 and button.isHidden()


def test_polling_a_slow_server_never_stalls_the_window(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    watcher = window.notice_watcher
    qtbot.waitUntil(lambda: watcher._task is not None and watcher._task.done())
    server.delay.seconds = 1.5
    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    watcher.poll_now()
    assert (time.perf_counter() - started) * 1000 < MAX_STALL_MS
    watcher.poll_now()  # a second poll while one runs is skipped, not queued
    task = watcher._task
    assert task is not None
    qtbot.waitUntil(task.done, timeout=10_000)
    assert meter.stop() < MAX_STALL_MS


def test_management_and_national_teams_have_no_inbox_but_see_the_follow_up(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    assert window.notices.button.isHidden() and not window.notice_watcher.active
    window.management.open()
    tabs = window.management.tabs
    assert tabs is not None
    page = tabs.show_page("Notice follow-up")
    qtbot.waitUntil(lambda: page.model.rowCount() > 0 and not page.busy, timeout=10_000)
    (northmere,) = page.model.rows
    assert northmere.notices >= 1 and northmere.followed_up_in_time >= 1
    assert northmere.window_working_days == 10
