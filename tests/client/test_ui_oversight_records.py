"""The screens that show children against a real server: the audit trail (filters, a practitioner's view
found, more-than-500 notice), shielding and unshielding a record, children missing education."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from cpclient.api.models import Record, ShieldedRecord, StatedReason
from cpclient.api.oversight_models import AuditPage
from cpclient.security.lockdown import is_record_data
from cpclient.ui.oversight.audit_review_page import MORE, AuditReviewPage
from cpclient.ui.oversight.cme_page import CmePage
from cpclient.ui.oversight.shielding_page import ShieldingPage
from tests.client.conftest import WORKSTATION, sign_in
from tests.client.oversight_support import open_tab, restore_world, signed_in_api, wait_idle

EXPLANATION = "Checking a referral from the school office"


@pytest.fixture
def cmt_window(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    yield window
    restore_world(server)


def a_northmere_child(server) -> str:
    """An ordinary (unshielded, under 18) child of the management team's authority."""
    born_after = dt.date.today().replace(year=dt.date.today().year - 16).isoformat()
    return server.scalar(
        "SELECT cp_id FROM children WHERE NOT shielded AND date_of_birth > :born AND local_authority_id = "
        "(SELECT local_authority_id FROM users WHERE username = 'demo.cmt') ORDER BY id DESC LIMIT 1",
        born=born_after,
    )


def test_the_audit_trail_finds_a_practitioners_view(qtbot, server, cmt_window):
    child = a_northmere_child(server)
    practitioner = signed_in_api(server, "demo.practitioner")
    practitioner.open_record(child, StatedReason("other", EXPLANATION))
    practitioner.logout()
    reviews_before = server.scalar("SELECT count(*) FROM audit_events WHERE action = 'audit_reviewed'")

    page = open_tab(qtbot, cmt_window, "Audit trail")
    assert isinstance(page, AuditReviewPage)
    assert page.model.rowCount() == 0  # nothing is fetched (or audited) until asked
    assert is_record_data(page.table) and is_record_data(page.username)
    page.date_from.setText("02/01/2030")
    page.date_to.setText("01/01/2030")
    page.show_button.click()
    assert page.summary.messages == ["The from date must be on or before the to date"]
    page.summary.links[0].click()
    assert page.date_from.hasFocus()

    page.clear_filters()
    page.username.setText("demo.practitioner")
    page.cp_id.setText(child)
    page.action.setCurrentText("Opened a record")
    qtbot.keyClick(page.cp_id, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=10_000)
    wait_idle(qtbot, page)
    row = page.table.current_item()
    assert row.username == "demo.practitioner" and row.cp_id == child
    assert row.reason_text == EXPLANATION and row.workstation == WORKSTATION
    texts = [page.model.cell_text(0, column) for column in range(page.model.columnCount())]
    other = next(reason.label for reason in cmt_window.meta.reasons if reason.code == "other")
    assert texts[2] == "Opened a record" and texts[6] == other
    assert EXPLANATION in texts and WORKSTATION in texts
    assert page.more.isHidden()
    assert page.message.text() in ("1 entry.", f"{page.model.rowCount()} entries, newest first.")
    # Looking at the audit trail is itself audited.
    after = server.scalar("SELECT count(*) FROM audit_events WHERE action = 'audit_reviewed'")
    assert after == reviews_before + 1

    page.show_page(AuditPage(rows=[row], more=True))
    assert page.more.isVisible() and page.more.text() == MORE


def test_shield_then_unshield_a_record(qtbot, server, cmt_window):
    child = a_northmere_child(server)
    page = open_tab(qtbot, cmt_window, "Shielding")
    assert isinstance(page, ShieldingPage)
    page.shield_cp_id.setText(child)
    page.shield_review.setText((dt.date.today() - dt.timedelta(days=1)).strftime("%d/%m/%Y"))
    page.shield_reason.setPlainText("Adoption placement agreed today.")
    page.shield_button.click()
    assert page.summary.messages == [
        "Choose the ground for shielding",
        "The review date must be in the future",
    ]
    page.grounds[1].setChecked(True)
    review = dt.date.today() + dt.timedelta(days=10)
    page.shield_review.setText(review.strftime("%d/%m/%Y"))
    page.shield_button.click()
    qtbot.waitUntil(lambda: child in {c.id for c in page.model.rows}, timeout=10_000)
    wait_idle(qtbot, page)
    assert page.message.text().startswith(f"Record {child} is shielded (an adoption placement")
    assert page.shield_cp_id.text() == "" and page.chosen_ground() is None
    practitioner = signed_in_api(server, "demo.practitioner")
    assert isinstance(practitioner.open_record(child, StatedReason("safeguarding")), ShieldedRecord)

    assert page.table.select_where(lambda c: c.id == child)
    assert page.model.cell_text(page.model.rows.index(page.table.current_item()), 3) == (
        "An adoption placement would be put at risk"
    )
    page.use_button.click()
    assert page.unshield_cp_id.text() == child and page.unshield_reason.hasFocus()
    page.unshield_reason.setPlainText("The placement is now secure and settled.")
    page.unshield_button.click()
    qtbot.waitUntil(lambda: child not in {c.id for c in page.model.rows} and not page.busy, timeout=10_000)
    assert page.message.text() == f"Record {child} is no longer shielded."
    assert isinstance(practitioner.open_record(child, StatedReason("safeguarding")), Record)
    practitioner.logout()

    # A refusal about the record is linked to the ContactPoint ID field.
    page.unshield_cp_id.setText(child)
    page.unshield_reason.setPlainText("Removing it again by mistake.")
    page.unshield_button.click()
    qtbot.waitUntil(lambda: page.summary.isVisible() and not page.busy, timeout=10_000)
    assert page.summary.messages == ["This record is not shielded."]
    page.summary.links[0].click()
    assert page.unshield_cp_id.hasFocus()


def test_children_missing_education_are_listed_and_sortable(qtbot, server, cmt_window):
    page = open_tab(qtbot, cmt_window, "Children missing education")
    assert isinstance(page, CmePage)
    count = page.model.rowCount()
    assert count > 0 and page.count.text().startswith(f"{count} child")
    assert is_record_data(page.table) and page.watermark.text.startswith("Jo Whitlock")
    page.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    shown = [page.table.model().index(row, 0).data() for row in range(page.table.model().rowCount())]
    assert shown == sorted(shown, key=str.lower, reverse=True)
    no_school = server.scalar(
        "SELECT count(*) FROM children WHERE education_setting_id IS NULL AND local_authority_id = "
        "(SELECT local_authority_id FROM users WHERE username = 'demo.cmt')"
    )
    assert 0 < count <= no_school
