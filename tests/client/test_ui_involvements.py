"""A practitioner records and ends their own involvement from the record view, against the real server."""

from __future__ import annotations

from cpclient.api.models import Record
from cpclient.ui.involvement_dialog import SENSITIVE_NOTE, InvolvementDialog
from tests.client.conftest import open_first_result, search_for, sign_in


def _open_add_dialog(qtbot, window) -> InvolvementDialog:
    window.record_view.add_button.click()
    qtbot.waitUntil(lambda: window.involvements.dialog is not None and window.involvements.dialog.isVisible())
    return window.involvements.dialog


def test_add_then_end_my_involvement(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.healthvisitor")
    search_for(qtbot, window, "missing_education")
    open_first_result(qtbot, window)
    before = len(window.record_view.record.involvements)

    dialog = _open_add_dialog(qtbot, window)
    assert dialog.guidance.text() == window.meta.involvement_guidance
    assert "club" in dialog.guidance.text()
    assert not dialog.ok_button.isEnabled()
    codes = [service.code for service in window.meta.service_types]
    dialog.service.setCurrentIndex(codes.index("speech_language"))
    dialog.lead.setChecked(True)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: len(window.record_view.record.involvements) == before + 1, timeout=10_000)
    added = window.record_view.record.involvements[-1]
    assert added.mine and added.lead_professional and added.service_type == "speech_language"
    assert (
        "Your involvement (Speech and language therapy) has been recorded."
        in window.record_view.message.text()
    )
    assert (
        server.scalar("SELECT count(*) FROM involvements WHERE id = :id AND ended_on IS NULL", id=added.id)
        == 1
    )

    # End it: the button appears only on the practitioner's own, current involvements.
    end_buttons = [
        button
        for button in window.record_view.content.findChildren(type(window.record_view.back_button))
        if button.accessibleName().startswith("End my involvement")
    ]
    assert len(end_buttons) == sum(
        1 for item in window.record_view.record.involvements if item.mine and not item.ended_on
    )
    target = next(b for b in end_buttons if "Speech and language" in b.accessibleName())
    target.click()
    qtbot.waitUntil(
        lambda: window.involvements.confirm is not None and window.involvements.confirm.isVisible()
    )
    window.involvements.confirm.confirm_button.click()
    qtbot.waitUntil(
        lambda: (
            next(i for i in window.record_view.record.involvements if i.id == added.id).ended_on is not None
        ),
        timeout=10_000,
    )
    assert server.scalar("SELECT ended_on FROM involvements WHERE id = :id", id=added.id) is not None


def test_a_sensitive_service_needs_consent(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.practitioner")
    search_for(qtbot, window, "ordinary")
    open_first_result(qtbot, window)
    dialog = _open_add_dialog(qtbot, window)
    sensitive = [index for index, service in enumerate(window.meta.service_types) if service.sensitive]
    dialog.service.setCurrentIndex(sensitive[0])
    assert dialog.sensitive_note.isVisible() and dialog.sensitive_note.text() == SENSITIVE_NOTE
    assert dialog.consent.isVisible()
    assert not dialog.ok_button.isEnabled()
    dialog.consent.setChecked(True)
    assert dialog.ok_button.isEnabled()
    dialog.reject()


def test_only_own_involvements_can_be_ended(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.socialworker")
    search_for(qtbot, window, "ordinary")
    open_first_result(qtbot, window)
    record = window.record_view.record
    assert isinstance(record, Record)
    others = [item for item in record.involvements if not item.mine]
    assert others, "the scenario child has other practitioners' involvements"
    end_names = [
        button.accessibleName()
        for button in window.record_view.content.findChildren(type(window.record_view.back_button))
        if button.accessibleName().startswith("End my involvement")
    ]
    assert end_names == []


def test_the_management_team_cannot_add_involvements(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    search_for(qtbot, window, "ordinary")
    open_first_result(qtbot, window)
    assert window.record_view.add_button is None
