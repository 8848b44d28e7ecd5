"""A shielded record: a banner in place of each withheld section; no withheld detail reaches any widget."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton
from sqlalchemy import text

from cpclient.api.models import Record, ShieldedRecord
from cpclient.ui.record_view import OWN_INVOLVEMENTS_TITLE
from cpclient.ui.shielded_banner import (
    ACCESS_NOTICE_TITLE,
    SHIELDED_TITLE,
    ShieldedAccessNotice,
    ShieldedContactBanner,
)
from tests.client.conftest import all_widget_texts, open_first_result, search_for, sign_in

SHIELDED_FAMILY = "Wrenfield"


def withheld_values(server, viewer: str) -> list[str]:
    """Every contact detail the database holds for the shielded scenario child that `viewer` must not
    see (their own involvement's details are theirs to see)."""
    child = server.rows(
        "SELECT id, address_line1, address_line2, postcode, telephone, education_setting_id, gp_practice_id "
        "FROM children WHERE family_name = :family AND shielded",
        family=SHIELDED_FAMILY,
    )[0]
    values = [child.address_line1, child.address_line2, child.postcode, child.telephone]
    for carer in server.rows(
        "SELECT address_line1, address_line2, postcode, telephone FROM carers WHERE child_id = :id",
        id=child.id,
    ):
        values += list(carer)
    for table, key in (
        ("education_settings", child.education_setting_id),
        ("gp_practices", child.gp_practice_id),
    ):
        if key is not None:
            values += list(
                server.rows(f"SELECT name, address, postcode, telephone FROM {table} WHERE id = :id", id=key)[
                    0
                ]
            )
    for involvement in server.rows(
        "SELECT practitioner_name, telephone, email, organisation_name FROM involvements "
        "WHERE child_id = :id AND coalesce(practitioner_user_id, 0) != "
        "(SELECT id FROM users WHERE username = :viewer)",
        id=child.id,
        viewer=viewer,
    ):
        values += list(involvement)
    return [value for value in values if value and len(value) >= 4]


def test_a_practitioner_sees_the_banner_and_nothing_withheld(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.practitioner")
    search_for(qtbot, window, "shielded")
    assert window.search.model.cell_text(0, 3) == "Shielded"
    open_first_result(qtbot, window)
    record = window.record_view.record
    assert isinstance(record, ShieldedRecord)

    banners = window.record_view.content.findChildren(ShieldedContactBanner)
    record_wide = [banner for banner in banners if banner.section is None]
    assert len(record_wide) == 1 and record_wide[0].title.text() == SHIELDED_TITLE
    contact = record.management_contact
    assert contact.telephone in record_wide[0].body.text() and contact.email in record_wide[0].body.text()
    # One banner in place of every withheld section: nothing withheld looks like an empty field.
    assert sorted(banner.section for banner in banners if banner.section) == sorted(record.withheld)

    texts = "\n".join(all_widget_texts(window))
    secrets = withheld_values(server, "demo.practitioner")
    assert secrets, "the scenario child should have contact details in the database"
    # The signed-in user's own name and organisation are on screen anyway (session bar, watermark).
    own = {window.session.user.display_name, window.session.user.organisation}
    leaked = [value for value in secrets if value in texts and value not in own]
    assert leaked == [], leaked
    # What a shielded record may show is shown, with the practitioner's own involvement.
    assert "Skye" in texts and record.id in texts
    assert "No known address" not in texts and "Not recorded" not in texts
    assert [item.service_type for item in record.own_involvements] == ["family_support"]
    assert record.own_involvements[0].telephone in texts and OWN_INVOLVEMENTS_TITLE in texts


def test_a_practitioner_ends_their_own_involvement_from_a_shielded_record(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.practitioner")
    search_for(qtbot, window, "shielded")
    open_first_result(qtbot, window)
    record = window.record_view.record
    assert isinstance(record, ShieldedRecord)
    own = record.own_involvements[0]
    assert own.mine and own.ended_on is None
    try:
        ends = [
            button
            for button in window.record_view.content.findChildren(QPushButton)
            if button.accessibleName().startswith("End my involvement")
        ]
        assert len(ends) == 1 and ends[0].isVisible()
        ends[0].click()
        qtbot.waitUntil(
            lambda: window.involvements.confirm is not None and window.involvements.confirm.isVisible()
        )
        window.involvements.confirm.confirm_button.click()
        qtbot.waitUntil(
            lambda: window.record_view.record.own_involvements[0].ended_on is not None, timeout=10_000
        )
        assert server.scalar("SELECT ended_on FROM involvements WHERE id = :id", id=own.id) is not None
        # Still the shielded view: the other services stay withheld, and nothing can be ended twice.
        shown = window.record_view.record
        assert isinstance(shown, ShieldedRecord) and "involvements" in shown.withheld
        banners = window.record_view.content.findChildren(ShieldedContactBanner)
        assert "involvements" in [banner.section for banner in banners]
        assert "ended on" in window.record_view.message.text()
        assert not [
            button
            for button in window.record_view.content.findChildren(QPushButton)
            if button.accessibleName().startswith("End my involvement")
        ]
    finally:
        with server.engine.begin() as db:
            db.execute(text("UPDATE involvements SET ended_on = NULL WHERE id = :id"), {"id": own.id})


def test_the_management_team_sees_the_details_with_an_audited_notice(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    search_for(qtbot, window, "shielded")
    open_first_result(qtbot, window)
    record = window.record_view.record
    assert isinstance(record, Record) and record.shielded_access
    notices = window.record_view.content.findChildren(ShieldedAccessNotice)
    assert len(notices) == 1
    assert ACCESS_NOTICE_TITLE in all_widget_texts(window)
    assert "shielded record" in window.record_view.heading.text()
    audited = server.scalar(
        "SELECT shielded FROM audit_events WHERE action = 'view' AND username = 'demo.cmt' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert audited
