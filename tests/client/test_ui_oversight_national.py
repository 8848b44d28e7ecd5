"""The national team's screens against a real server: lockdown ends a practitioner's session and needs a
second person to restore; organisations accredited and withdrawn; the yearly figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from cpclient.api.errors import SessionExpired
from cpclient.api.models import SearchCriteria
from cpclient.ui.oversight.figures_page import FiguresPage
from cpclient.ui.oversight.lockdown_page import OPEN, OWN_REQUEST, LockdownPage
from cpclient.ui.oversight.organisations_page import OrganisationsPage
from tests.client.conftest import sign_in
from tests.client.oversight_support import (
    answer_prompt,
    dialog_of,
    open_tab,
    restore_world,
    signed_in_api,
)


@pytest.fixture
def national_window(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.national")
    yield window
    restore_world(server)


def test_lockdown_ends_sessions_and_restoring_takes_a_second_person(
    qtbot, server, make_window, national_window
):
    practitioner = make_window(server.url)
    sign_in(qtbot, practitioner, "demo.practitioner")
    page = open_tab(qtbot, national_window, "Lockdown")
    assert isinstance(page, LockdownPage)
    assert page.state_label.text() == OPEN
    assert page.lock_button.isEnabled()
    assert not page.request_button.isEnabled() and not page.confirm_button.isEnabled()

    page.lock_button.click()
    dialog = dialog_of(qtbot, page)
    assert "signed out at once" in dialog.warning.body.text()
    dialog.text.setPlainText("Suspected theft of login details.")
    assert not dialog.confirm_button.isEnabled()
    assert dialog.needed.text() == "Tick the box to confirm you understand what will happen"
    answer_prompt(qtbot, page, "Suspected theft of login details.", acknowledge=True)
    assert page.state.locked and page.state_heading.text() == "Locked down"
    assert "Suspected theft of login details." in page.state_label.text()

    # The practitioner's session has ended: their next action returns them to sign-in.
    practitioner.search.family.setText("Thistlewood")
    practitioner.search.date_of_birth.setText("02/09/2015")
    practitioner.search.submit()
    qtbot.waitUntil(lambda: not practitioner.signed_in, timeout=10_000)
    assert practitioner.pages.currentWidget() is practitioner.login_scroll

    page.request_button.click()
    answer_prompt(qtbot, page, "Keys rotated and every password reset.")
    assert page.state.restore_request_id is not None
    # The same person cannot confirm their own request: the button says why.
    assert not page.confirm_button.isEnabled()
    assert page.confirm_note.text() == OWN_REQUEST and page.confirm_button.toolTip() == OWN_REQUEST

    # The second member of the national team (the training seed's demo.national2) confirms. Whose
    # request it is goes by username: even sharing the requester's display name, they may confirm.
    second = make_window(server.url)
    sign_in(qtbot, second, "demo.national2")
    other = open_tab(qtbot, second, "Lockdown")
    assert isinstance(other, LockdownPage)
    assert other.state.restore_requested_by_username == "demo.national"
    assert other.confirm_button.isEnabled() and other.confirm_note.text() == ""
    assert "Alex Morgan has asked to restore access" in other.request_label.text()
    # The second person reads the first one's reason, on the page and in the dialog.
    assert "Keys rotated and every password reset." in other.request_label.text()
    namesake = other.context.user.model_copy(update={"display_name": "Alex Morgan"})
    other.context = replace(other.context, user=namesake)
    other.show_state(other.state)
    assert other.confirm_button.isEnabled() and other.confirm_note.text() == ""
    other.confirm_button.click()
    assert "Keys rotated and every password reset." in dialog_of(qtbot, other).detail.text()
    answer_prompt(qtbot, other, "Checked the key rotation myself.")
    assert not other.state.locked and other.state_label.text() == OPEN
    assert other.message.text() == "Access is restored. Users can sign in again."
    outcomes = [
        row[0]
        for row in server.rows(
            "SELECT outcome FROM audit_events WHERE action = 'lockdown' ORDER BY id DESC LIMIT 3"
        )
    ]
    assert outcomes == ["restored", "restore_requested", "locked"]
    server.allow_new_sign_in()
    sign_in(qtbot, practitioner, "demo.practitioner")


def test_withdrawing_accreditation_stops_the_organisations_users(qtbot, server, national_window):
    worker = signed_in_api(server, "demo.othercouncil")
    name = server.scalar(
        "SELECT o.name FROM organisations o JOIN users u ON u.organisation_id = o.id "
        "WHERE u.username = 'demo.othercouncil'"
    )
    page = open_tab(qtbot, national_window, "Organisations")
    assert isinstance(page, OrganisationsPage)
    assert page.table.select_where(lambda o: o.name == name)
    assert not page.accredit_button.isEnabled()
    page.withdraw_button.click()
    dialog = dialog_of(qtbot, page)
    assert "are stopped at once" in dialog.warning.body.text()
    answer_prompt(qtbot, page, "The data sharing agreement has lapsed.", acknowledge=True)
    assert not page.table.current_item().accredited
    assert page.accredit_button.isEnabled() and not page.withdraw_button.isEnabled()
    with pytest.raises(SessionExpired):
        worker.search(SearchCriteria(family="Shah", date_of_birth=dt.date(2015, 1, 1)))

    page.accredit_button.click()
    answer_prompt(qtbot, page, "The data sharing agreement is renewed.")
    assert page.table.current_item().accredited
    assert page.message.text() == f"{name} is accredited."


def test_yearly_figures_are_shown(qtbot, server, national_window):
    api = signed_in_api(server, "demo.othercouncil")
    api.search(SearchCriteria(family="Shah", date_of_birth=dt.date(2015, 1, 1)))
    api.logout()
    page = open_tab(qtbot, national_window, "Yearly figures")
    assert isinstance(page, FiguresPage)
    this_year = [f for f in page.model.rows if f.year == dt.date.today().year]
    assert this_year and sum(f.alerts_raised for f in this_year) >= 1
    headers = [page.model.headerData(c, Qt.Orientation.Horizontal) for c in range(page.model.columnCount())]
    assert headers[:4] == ["Year", "Local authority", "Incidents", "Disciplined"]
    assert page.model.cell_text(0, 0).isdigit()
