"""Rule 9 in the client: the national team opens an archived record by its ContactPoint ID, for an
investigation with an explanation, against a real server; the record says it is archived."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QLabel
from sqlalchemy import text

from cpclient.ui.oversight.archive_page import ArchivePage
from cpclient.ui.oversight.oversight_tabs import pages_for
from tests.client.accessibility import screen_reader_problems
from tests.client.conftest import sign_in
from tests.client.oversight_support import open_tab, restore_world

EXPLANATION = "Incident 7: a user opened this record without cause"


@pytest.fixture
def archived(server):
    """A young person past 18 (no consent), archived; unarchived again afterwards."""
    born_before = dt.date.today().replace(year=dt.date.today().year - 18).isoformat()
    cp_id = server.scalar(
        "SELECT cp_id FROM children WHERE date_of_birth < :born AND NOT consent_to_25 AND NOT shielded "
        "ORDER BY id LIMIT 1",
        born=born_before,
    )
    assert cp_id is not None
    with server.engine.begin() as db:
        db.execute(
            text("UPDATE children SET archived_at = :at WHERE cp_id = :c"),
            {"at": dt.datetime(2026, 1, 5, 9), "c": cp_id},
        )
    yield cp_id
    with server.engine.begin() as db:
        db.execute(text("UPDATE children SET archived_at = NULL WHERE cp_id = :c"), {"c": cp_id})


@pytest.fixture
def national_window(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.national")
    yield window
    restore_world(server)


def test_only_the_national_team_has_the_archive():
    assert "Archived records" in [title for title, _ in pages_for("national")]
    assert "Archived records" not in [title for title, _ in pages_for("cmt")]
    assert pages_for("practitioner") == ()


def test_the_national_team_opens_an_archived_record_for_an_investigation(
    qtbot, server, national_window, archived
):
    window = national_window
    page = open_tab(qtbot, window, "Archived records")
    assert isinstance(page, ArchivePage)
    assert not screen_reader_problems(page)

    # Nothing is sent until the form is complete.
    views_before = server.views_by("demo.national")
    page.open_button.click()
    assert page.summary.messages == [
        "Enter the ContactPoint ID of the archived record",
        "Explain why you need this record for the investigation (at least 10 characters)",
    ]
    page.summary.links[0].click()
    assert page.cp_id.hasFocus()
    page.cp_id.setText(archived)
    page.explanation.setText("because")
    page.open_button.click()
    assert len(page.summary.messages) == 1
    assert server.views_by("demo.national") == views_before

    # An ID that is not on the directory: the server's own words, no record.
    page.cp_id.setText("CP0999999999")
    page.explanation.setText(EXPLANATION)
    page.open_button.click()
    qtbot.waitUntil(lambda: len(page.summary.messages) == 1 and not page.busy, timeout=10_000)
    assert window.work.currentWidget() is not window.record_view

    page.cp_id.setText(f" {archived} ")
    page.explanation.setText(EXPLANATION)
    with qtbot.wait_signal(page.record_opened, timeout=10_000):
        page.open_button.click()
    qtbot.waitUntil(lambda: window.work.currentWidget() is window.record_view, timeout=10_000)
    record = window.record_view.record
    assert record is not None and record.id == archived
    assert record.archived_on == dt.date(2026, 1, 5)
    assert "archived record" in window.record_view.heading.text()
    notice = window.record_view.findChild(QLabel, "archivedNotice")
    assert notice is not None and notice.isVisible()
    assert notice.text().startswith("Archived record: archived on 5 January 2026.")
    assert notice.accessibleName() == notice.text()
    assert not screen_reader_problems(window.record_view)
    # The form forgot what was typed; the access is audited with the reason and the explanation.
    assert page.cp_id.text() == "" and page.explanation.text() == ""
    reason, explanation = server.rows(
        "SELECT reason_code, reason_text FROM audit_events WHERE action = 'view' AND outcome = 'disclosed' "
        "AND username = 'demo.national' ORDER BY id DESC LIMIT 1"
    )[0]
    assert (reason, explanation) == ("investigation", EXPLANATION)
