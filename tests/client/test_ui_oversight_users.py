"""The management team's Users screen against a real server: add a user and see the one-time secrets
once, record accreditation, suspend (the user's session ends) and reinstate, the expiring checks."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import SessionExpired
from cpclient.api.models import SearchCriteria
from cpclient.api.transport import Transport
from cpclient.security.lockdown import is_record_data
from cpclient.ui.oversight.enrolment_dialog import EnrolmentDialog
from cpclient.ui.oversight.user_dialogs import CHOOSE_ORGANISATION, AccreditationDialog, AddUserDialog
from cpclient.ui.oversight.users_page import AUTHORISED, UsersPage
from tests.client.conftest import WORKSTATION, all_widget_texts, sign_in
from tests.client.oversight_support import (
    answer_prompt,
    dialog_of,
    open_tab,
    restore_world,
    signed_in_api,
    wait_idle,
)

NORTHMERE_COUNCIL = "Northmere Council Children's Services"


@pytest.fixture
def cmt_users(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    page = open_tab(qtbot, window, "Users")
    assert isinstance(page, UsersPage)
    yield window, page
    restore_world(server)


def test_add_a_user_shows_the_one_time_secrets_then_accredit_them(qtbot, server, cmt_users):
    window, page = cmt_users
    page.add_button.click()
    dialog = dialog_of(qtbot, page)
    assert isinstance(dialog, AddUserDialog)
    # The organisations to choose from are the management team's own authority's, by name.
    own = server.rows(
        "SELECT o.id, o.name, o.accredited FROM organisations o WHERE o.local_authority_id = "
        "(SELECT local_authority_id FROM users WHERE username = 'demo.cmt') ORDER BY o.name"
    )
    assert len(own) >= 2
    listed = [dialog.organisation.itemData(index) for index in range(1, dialog.organisation.count())]
    assert sorted(listed) == sorted(row.id for row in own)
    names = [dialog.organisation.itemText(index) for index in range(dialog.organisation.count())]
    assert names[0] == CHOOSE_ORGANISATION and NORTHMERE_COUNCIL in names
    assert dialog.organisation_id() is None  # nothing is chosen for the person
    # An incomplete form cannot be sent: one line says what is needed first.
    assert not dialog.confirm_button.isEnabled()
    assert dialog.needed.text().startswith("Enter a username")
    # Choose an accredited organisation other than the management team's own, so the choice is
    # what is sent (and the new user can sign in below).
    chosen = next(row for row in own if row.name != NORTHMERE_COUNCIL and row.accredited)
    dialog.username.setText("test.newstarter")
    dialog.given_name.setText("Nell")
    dialog.family_name.setText("Starter")
    dialog.job_title.setText("Youth worker")
    dialog.email.setText("nell.starter@staff.example")
    dialog.organisation.setCurrentIndex(dialog.organisation.findData(chosen.id))
    assert dialog.organisation_id() == chosen.id
    dialog.manager_name.setText("Ada Manager")
    dialog.manager_email.setText("ada.manager@staff.example")
    assert dialog.confirm_button.isEnabled() and dialog.needed.isHidden()
    dialog.confirm_button.click()
    qtbot.waitUntil(lambda: page.enrolment_dialog is not None, timeout=10_000)
    shown = page.enrolment_dialog
    assert isinstance(shown, EnrolmentDialog) and shown.isVisible()
    secret = shown.values["Authenticator secret"].text().replace(" ", "")
    password = shown.values["First password"].text()
    assert len(secret) >= 32 and len(password) >= 12
    assert shown.values["Authenticator link"].text().startswith("otpauth://totp/")
    assert "in person" in shown.warning.body.text() and "only this once" in shown.warning.body.text()
    assert "criminal records check" in shown.after.text()
    # The secrets cannot be copied or dragged out, and are wiped when the dialog closes.
    assert is_record_data(shown.values["First password"])
    shown.done_button.click()
    assert all(value.text() == "" for value in shown.values.values())
    qtbot.waitUntil(lambda: page.enrolment_dialog is None)
    wait_idle(qtbot, page)
    assert password not in "\n".join(all_widget_texts(window))

    # The new account is listed in the chosen organisation, with what stops it.
    assert page.table.select_where(lambda u: u.username == "test.newstarter")
    assert page.table.current_item().organisation_id == chosen.id
    assert page.table.current_item().organisation == chosen.name
    assert server.scalar("SELECT organisation_id FROM users WHERE username = 'test.newstarter'") == chosen.id
    row = page.model.rows.index(page.table.current_item())
    assert page.model.cell_text(row, len(page.model.columns) - 1).startswith(
        "No criminal records check recorded; Training not completed"
    )
    page.accredit_button.click()
    accreditation = dialog_of(qtbot, page)
    assert isinstance(accreditation, AccreditationDialog)
    accreditation.crb_checked_on.setText("31/02/2020")
    assert not accreditation.confirm_button.isEnabled()
    assert accreditation.needed.text() == "Enter the check date as a real date, like 31/03/2009"
    accreditation.crb_checked_on.setText(dt.date.today().strftime("%d/%m/%Y"))
    for box in (accreditation.training, accreditation.procedures, accreditation.agreement):
        box.setChecked(True)
    accreditation.confirm_button.click()
    qtbot.waitUntil(lambda: page.dialog is None, timeout=10_000)
    wait_idle(qtbot, page)
    assert page.table.select_where(lambda u: u.username == "test.newstarter")
    assert page.table.current_item().problems == []
    row = page.model.rows.index(page.table.current_item())
    assert page.model.cell_text(row, len(page.model.columns) - 1) == AUTHORISED
    assert "can now use ContactPoint" in page.message.text()
    # The handed-over secrets work: the new user can sign in.
    later = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    newcomer = ContactPointClient(Transport(server.url))
    assert newcomer.login("test.newstarter", password, later, WORKSTATION).user.username == "test.newstarter"


def test_suspend_ends_the_users_session_and_reinstate_restores(qtbot, server, cmt_users):
    _window, page = cmt_users
    worker = signed_in_api(server, "demo.socialworker")
    assert page.table.select_where(lambda u: u.username == "demo.socialworker")
    assert not page.reinstate_button.isEnabled()
    page.suspend_button.click()
    dialog = dialog_of(qtbot, page)
    dialog.text.setPlainText("too short")
    assert not dialog.confirm_button.isEnabled()
    assert dialog.needed.text() == "Enter the reason: at least 10 characters (9 so far)"
    answer_prompt(qtbot, page, "Shared a password with a colleague, reported by the manager.")
    assert "is suspended" in page.message.text()
    assert page.table.current_item().suspended and page.reinstate_button.isEnabled()
    assert not page.suspend_button.isEnabled()
    with pytest.raises(SessionExpired):
        worker.search(SearchCriteria(family="Price", date_of_birth=dt.date(2015, 1, 1)))

    page.reinstate_button.click()
    answer_prompt(qtbot, page, "Retrained and the manager has confirmed the new password.")
    assert not page.table.current_item().suspended
    assert "reinstated" in page.message.text()
    server.allow_new_sign_in()
    signed_in_api(server, "demo.socialworker").logout()


def test_own_account_cannot_be_suspended_and_expiring_checks_are_listed(qtbot, server, cmt_users):
    _window, page = cmt_users
    assert page.table.select_where(lambda u: u.username == "demo.cmt")
    assert not page.suspend_button.isEnabled() and not page.incident_button.isEnabled()
    assert [u.username for u in page.expiring_model.rows] == ["demo.crbexpired"]
    assert page.expiring_note.text() == "1 check expires within 60 days or has expired."
    assert page.expiring_model.cell_text(0, 3).startswith("Expired ")


def test_closing_a_form_while_the_server_works_is_safe(qtbot, server, cmt_users):
    _window, page = cmt_users
    assert page.table.select_where(lambda u: u.username == "demo.healthvisitor")
    page.suspend_button.click()
    dialog = dialog_of(qtbot, page)
    dialog.text.setPlainText("Suspended while the server is slow to answer.")
    server.delay.seconds = 0.8
    dialog.confirm_button.click()
    assert dialog.busy and not dialog.confirm_button.isEnabled()
    dialog.reject()  # the person gives up waiting; the call still completes on the server
    qtbot.waitUntil(lambda: page.dialog is None)
    qtbot.waitUntil(lambda: not page.busy, timeout=10_000)
    server.delay.seconds = 0.0
    assert server.scalar("SELECT suspended FROM users WHERE username = 'demo.healthvisitor'")
    qtbot.waitUntil(lambda: "is suspended" in page.message.text(), timeout=10_000)
