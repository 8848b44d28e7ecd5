"""Data matching against the real training server: the management team decides possible matches and
closes reports; a practitioner says a record is not right from the record view.

Queue items are held in the server's database the way the loader holds them (the domain's own
models, a feed row made with `FeedRow`); the training seed's own items are left for the demo.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from cpclient.ui.confirm_dialog import ConfirmDialog
from cpclient.ui.oversight.data_matching_page import (
    CHOOSE,
    DIFFERENT,
    MORE_MATCHES,
    MORE_REPORTS,
    SAME,
    DataMatchingPage,
    matches_text,
    reports_text,
)
from cpclient.ui.record_report_dialog import RecordReportDialog
from cpserver.domain.feeds.rows import FeedRow
from cpserver.seed.data_matching import SOURCE
from cpserver.store.models import Child, FeedBatch, FeedSource, MatchReview, RecordReport, User
from tests.client.accessibility import screen_reader_problems
from tests.client.conftest import (
    ServerHandle,
    open_first_result,
    search_for,
    sign_in,
    started_training_server,
)
from tests.client.oversight_support import open_tab, wait_idle
from tests.client.screen_fit import mnemonic_clashes
from tests.client.test_ui_responsiveness import MAX_STALL_MS, SLOW_SECONDS, StallMeter

OLIVER = ("Thistlewood", dt.date(2015, 9, 2))


def hold_row(server: ServerHandle, given: str, address: str) -> int:
    """A row resembling Oliver Thistlewood, held for Northmere's management team: the item's id."""
    with Session(server.engine) as db:
        oliver = db.scalar(
            select(Child).where(Child.family_name == OLIVER[0], Child.date_of_birth == OLIVER[1])
        )
        source = db.scalar(select(FeedSource).where(FeedSource.name == SOURCE))
        assert oliver is not None and source is not None
        batch = FeedBatch(source_id=source.id, via="file", digest="1" * 64, status="done")
        db.add(batch)
        db.flush()
        row = FeedRow(
            source_record_id=f"TEST-{given}",
            given_name=given,
            middle_names=oliver.middle_names,
            family_name=oliver.family_name,
            date_of_birth=oliver.date_of_birth,
            gender=oliver.gender,
            as_of=dt.date.today(),
            address_line1=address,
            postcode=oliver.postcode,
            local_authority=oliver.local_authority.code,
        )
        review = MatchReview(
            batch_id=batch.id,
            source_id=source.id,
            row_number=1,
            source_record_id=row.source_record_id,
            incoming=row.to_json(),
            candidate_child_pk=oliver.id,
            match_probability=0.77,
            held_because="possible_match",
            local_authority_id=oliver.local_authority_id,
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
        )
        db.add(review)
        db.commit()
        return review.id


@pytest.fixture(scope="module")
def training_server() -> Iterator[ServerHandle]:
    """This module's own server: deciding "same child" changes a training child and "different
    children" adds one, which the other modules' searches would then find."""
    yield from started_training_server()


@pytest.fixture
def cleanup(server: ServerHandle) -> Iterator[list[int]]:
    """Queue items and reports a test made, removed afterwards (children made from them stay: the
    module's server is its own)."""
    held: list[int] = []
    yield held
    with Session(server.engine) as db:
        db.execute(delete(MatchReview).where(MatchReview.id.in_(held)))
        practitioner = db.scalar(select(User.id).where(User.username == "demo.healthvisitor"))
        db.execute(delete(RecordReport).where(RecordReport.reporter_user_id == practitioner))
        db.commit()


def choose(qtbot, page: DataMatchingPage, review_id: int) -> None:
    """Choose item `review_id` in the list, as a person would, and wait for both records."""
    assert page.matches_table.select_where(lambda m: m.id == review_id)
    qtbot.waitUntil(
        lambda: page.comparison is not None and page.comparison.review.id == review_id and not page.busy,
        timeout=10_000,
    )


def confirm(qtbot, page: DataMatchingPage) -> ConfirmDialog:
    qtbot.waitUntil(lambda: page.confirm is not None and page.confirm.isVisible())
    assert page.confirm is not None
    return page.confirm


def test_the_management_team_sees_both_records_and_decides(qtbot, server, make_window, cleanup):
    same = hold_row(server, "Oliver", "99 Willow Walk")
    different = hold_row(server, "Owen", "2 Other Street")
    cleanup += [same, different]
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    page = open_tab(qtbot, window, "Data matching")
    assert isinstance(page, DataMatchingPage)
    # The training seed's items are there too, and nothing is opened until the person chooses.
    ids = {item.id for item in page.matches_model.rows}
    assert {same, different} <= ids and len(ids) >= 5
    assert page.comparison is None and page.comparison_state.text() == CHOOSE
    assert not page.same_button.isEnabled() and not page.different_button.isEnabled()
    viewed = "SELECT count(*) FROM audit_events WHERE action = 'match_review_view' AND username = 'demo.cmt'"
    before = server.scalar(viewed)

    choose(qtbot, page, same)
    assert server.scalar(viewed) == before + 1, "showing both records is recorded"
    rows = {page.comparison_model.cell_text(row, 0): row for row in range(page.comparison_model.rowCount())}
    assert {"Name", "Date of birth", "Address", "Parent or carer 1"} <= rows.keys()
    # Differences are said in words, in their own column.
    assert page.comparison_model.cell_text(rows["Name"], 3) == SAME
    assert page.comparison_model.cell_text(rows["Address"], 3) == DIFFERENT
    assert page.comparison_model.cell_text(rows["Address"], 1).startswith("99 Willow Walk")
    assert "Address" in page.comparison_state.text() and page.comparison_state.text().startswith(
        "They differ in"
    )
    assert page.same_button.isEnabled() and page.different_button.isEnabled()

    # "Same child" asks first; Cancel is the default and changes nothing.
    page.same_button.click()
    dialog = confirm(qtbot, page)
    assert dialog.cancel_button.isDefault()
    dialog.reject()
    qtbot.waitUntil(lambda: page.confirm is None)
    assert server.scalar("SELECT status FROM match_reviews WHERE id = :id", id=same) == "open"
    page.same_button.click()
    confirm(qtbot, page).confirm_button.click()
    qtbot.waitUntil(lambda: "same child" in page.message.text(), timeout=10_000)
    wait_idle(qtbot, page)
    cp_id = server.scalar(
        "SELECT cp_id FROM children WHERE family_name = :f AND date_of_birth = :d", f=OLIVER[0], d=OLIVER[1]
    )
    assert page.message.text() == f"Possible match {same}: same child. The record {cp_id} has been updated."
    assert server.scalar("SELECT status FROM match_reviews WHERE id = :id", id=same) == "same_child"
    assert same not in {item.id for item in page.matches_model.rows}
    assert page.comparison is None

    choose(qtbot, page, different)
    page.different_button.click()
    confirm(qtbot, page).confirm_button.click()
    qtbot.waitUntil(lambda: "different children" in page.message.text(), timeout=10_000)
    made = server.scalar("SELECT result_child_id FROM match_reviews WHERE id = :id", id=different)
    assert server.scalar("SELECT given_name FROM children WHERE id = :id", id=made) == "Owen"


def test_a_practitioner_reports_a_record_and_the_team_closes_the_report(qtbot, server, make_window, cleanup):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.healthvisitor")
    search_for(qtbot, window, "missing_education")
    open_first_result(qtbot, window)
    view = window.record_view
    assert view.report_button.isVisible() and view.report_button.accessibleName() == "This is not right"
    view.report_button.click()
    qtbot.waitUntil(lambda: window.reports.dialog is not None and window.reports.dialog.isVisible())
    dialog = window.reports.dialog
    assert isinstance(dialog, RecordReportDialog)
    # The server's list, none chosen, and nothing can be sent until one is.
    assert [button.text() for button in dialog.buttons] == [p.label for p in window.meta.record_problems]
    assert all(button.accessibleName() == button.text() for button in dialog.buttons)
    assert dialog.chosen() is None and not dialog.ok_button.isEnabled()
    dialog.buttons[[p.code for p in window.meta.record_problems].index("wrong_school")].click()
    assert dialog.ok_button.isEnabled()
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: view.message.text().startswith("Thank you"), timeout=10_000)
    assert "the education setting is wrong" in view.message.text()
    report_id = server.scalar(
        "SELECT r.id FROM record_reports r JOIN users u ON u.id = r.reporter_user_id "
        "WHERE u.username = 'demo.healthvisitor' AND r.problem = 'wrong_school'"
    )
    assert report_id is not None
    # The same report again is refused with the server's words, shown on the record.
    view.report_button.click()
    qtbot.waitUntil(lambda: window.reports.dialog is not None and window.reports.dialog.isVisible())
    again = window.reports.dialog
    again.buttons[[p.code for p in window.meta.record_problems].index("wrong_school")].click()
    again.ok_button.click()
    qtbot.waitUntil(lambda: view.summary.messages != [], timeout=10_000)
    assert "already reported" in view.summary.messages[0]

    team = make_window(server.url)
    sign_in(qtbot, team, "demo.cmt")
    page = open_tab(qtbot, team, "Data matching")
    assert isinstance(page, DataMatchingPage)
    assert not page.corrected_button.isEnabled()
    assert page.reports_table.select_where(lambda r: r.id == report_id)
    assert page.corrected_button.isEnabled() and page.not_upheld_button.isEnabled()
    page.not_upheld_button.click()
    confirm(qtbot, page).confirm_button.click()
    qtbot.waitUntil(lambda: page.message.text() == f"Report {report_id} closed: not upheld.", timeout=10_000)
    wait_idle(qtbot, page)
    assert report_id not in {report.id for report in page.reports_model.rows}
    assert server.scalar("SELECT status FROM record_reports WHERE id = :id", id=report_id) == "not_upheld"


def test_a_slow_server_never_freezes_the_tab_and_a_refusal_is_shown(qtbot, server, make_window, cleanup):
    """Both records and the decision come off the Qt thread; a decision someone else made first is
    refused with the server's words, and the item leaves the list."""
    held = hold_row(server, "Oliver", "5 Slow Lane")
    cleanup.append(held)
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    page = open_tab(qtbot, window, "Data matching")
    assert isinstance(page, DataMatchingPage)
    server.delay.seconds = SLOW_SECONDS
    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    choose(qtbot, page, held)
    longest = meter.stop()
    assert time.perf_counter() - started >= SLOW_SECONDS
    assert longest < MAX_STALL_MS, f"the event loop stalled for {longest:.0f} ms"
    server.delay.seconds = 0.0

    # Another member of the team decides it first.
    with server.engine.begin() as db:
        db.execute(
            text("UPDATE match_reviews SET status = 'different_children' WHERE id = :id"), {"id": held}
        )
    page.same_button.click()
    confirm(qtbot, page).confirm_button.click()
    qtbot.waitUntil(lambda: page.summary.messages != [], timeout=10_000)
    wait_idle(qtbot, page)
    assert page.summary.messages == ["This possible match has already been decided."]
    assert held not in {item.id for item in page.matches_model.rows}
    assert page.comparison is None and not page.same_button.isEnabled()


def report_rows(server: ServerHandle, count: int) -> list[int]:
    """`count` open reports by the demo health visitor about children of the demo team's authority."""
    with Session(server.engine) as db:
        team = db.scalar(select(User).where(User.username == "demo.cmt"))
        reporter = db.scalar(select(User.id).where(User.username == "demo.healthvisitor"))
        assert team is not None and reporter is not None
        children = db.scalars(
            select(Child.id).where(Child.local_authority_id == team.local_authority_id).limit(count)
        ).all()
        made = [
            RecordReport(
                child_pk=child,
                reporter_user_id=reporter,
                problem="wrong_gp",
                local_authority_id=team.local_authority_id,
                status="open",
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=count - number),
            )
            for number, child in enumerate(children)
        ]
        db.add_all(made)
        db.commit()
        return [report.id for report in made]


def open_ids(server: ServerHandle, table: str) -> list[int]:
    """The open items of the demo team's authority, oldest first (what the server pages through)."""
    return [
        row[0]
        for row in server.rows(
            f"SELECT t.id FROM {table} t JOIN users u ON u.local_authority_id = t.local_authority_id "
            "WHERE u.username = 'demo.cmt' AND t.status = 'open' ORDER BY t.created_at, t.id"
        )
    ]


def show_more(qtbot, page: DataMatchingPage, button, announced: list[str]) -> str:
    """Press a "Show more" button and wait for the next page; what was announced last."""
    assert button.isVisible() and button.isEnabled()
    announced.clear()
    button.click()
    wait_idle(qtbot, page)
    qtbot.waitUntil(lambda: bool(announced) and "Fetching" not in announced[-1], timeout=10_000)
    return announced[-1]


def test_long_lists_come_a_page_at_a_time(qtbot, server, make_window, cleanup, monkeypatch):
    """Each list shows a page, says so, and fetches the next page after the last item shown (off the
    Qt thread), until none is left: every item once, in the server's order, nothing opened."""
    monkeypatch.setattr(DataMatchingPage, "page_size", 2)
    cleanup += [hold_row(server, f"Olly{number}", f"{number} Paging Lane") for number in range(3)]
    report_rows(server, 3)
    matches, reports = open_ids(server, "match_reviews"), open_ids(server, "record_reports")
    assert len(matches) >= 5 and len(reports) >= 3
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    page = open_tab(qtbot, window, "Data matching")
    assert isinstance(page, DataMatchingPage)
    said: list[str] = []
    page.matches_state.announced.connect(said.append)
    page.reports_state.announced.connect(said.append)

    assert [item.id for item in page.matches_model.rows] == matches[:2]
    assert [report.id for report in page.reports_model.rows] == reports[:2]
    assert page.matches_state.text() == matches_text(2, True)
    assert page.reports_state.text() == reports_text(2, True)
    for button, label in ((page.more_matches_button, MORE_MATCHES), (page.more_reports_button, MORE_REPORTS)):
        assert button.isVisible() and button.text().replace("&", "") == label
        assert button.accessibleName() == label, "the accessible name is the visible label"
    assert screen_reader_problems(window) == []
    assert mnemonic_clashes(window) == {}, "each Alt+letter opens one control"

    # The next page comes off the Qt thread, however slow the server.
    server.delay.seconds = SLOW_SECONDS
    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    page.more_matches_button.click()
    qtbot.waitUntil(lambda: page.matches_state.text() == "Fetching more possible matches…", timeout=2_000)
    assert not page.more_matches_button.isEnabled(), "one page at a time"
    wait_idle(qtbot, page)
    longest = meter.stop()
    server.delay.seconds = 0.0
    assert time.perf_counter() - started >= SLOW_SECONDS
    assert longest < MAX_STALL_MS, f"the event loop stalled for {longest:.0f} ms"
    assert [item.id for item in page.matches_model.rows] == matches[:4]

    while page.more_matches_button.isVisible():
        last = show_more(qtbot, page, page.more_matches_button, said)
    assert [item.id for item in page.matches_model.rows] == matches, "every item once, in order"
    assert last.endswith(matches_text(len(matches), False)) and last == page.matches_state.text()
    assert page.comparison is None, "showing more opens nothing"
    while page.more_reports_button.isVisible():
        last = show_more(qtbot, page, page.more_reports_button, said)
    assert [report.id for report in page.reports_model.rows] == reports
    assert last == page.reports_state.text() and last.endswith(reports_text(len(reports), False))

    # Fetched again (Refresh, or after a decision), the lists come back as far as they were shown.
    page.refresh_button.click()
    wait_idle(qtbot, page)
    assert [item.id for item in page.matches_model.rows] == matches
    assert not page.more_matches_button.isVisible() and not page.more_reports_button.isVisible()
