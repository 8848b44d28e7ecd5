"""Alerts and incidents against a real server: alerts raised by real searches are dismissed or become
incidents; an incident is investigated, noted and closed with an outcome; refusals show their message."""

from __future__ import annotations

import datetime as dt

import pytest

from cpclient.api.models import SearchCriteria
from cpclient.api.oversight_client import OversightClient
from cpclient.security.lockdown import is_record_data
from cpclient.ui.oversight.alerts_page import AlertsPage
from cpclient.ui.oversight.close_incident_dialog import CloseIncidentDialog
from cpclient.ui.oversight.incidents_page import IncidentsPage
from tests.client.conftest import sign_in
from tests.client.oversight_support import (
    answer_prompt,
    dialog_of,
    open_tab,
    restore_world,
    signed_in_api,
    wait_idle,
)

FAMILY_SEARCH = "family_name_search"


def search_own_family_name(server, username: str, family: str) -> None:
    """What the seeds describe: a user looks up their own family "to test the system"."""
    api = signed_in_api(server, username)
    api.search(SearchCriteria(family=family, date_of_birth=dt.date(2015, 1, 1)))
    api.logout()


@pytest.fixture
def cmt_window(qtbot, server, make_window):
    search_own_family_name(server, "demo.healthvisitor", "Hussain")
    search_own_family_name(server, "demo.schoolnurse", "Ellison")
    window = make_window(server.url)
    sign_in(qtbot, window, "demo.cmt")
    yield window
    restore_world(server)


def select_alert(page: AlertsPage, username: str) -> int:
    assert page.table.select_where(lambda a: a.username == username and a.rule == FAMILY_SEARCH)
    return page.table.current_item().id


def test_dismiss_one_alert_and_turn_another_into_an_incident(qtbot, server, cmt_window):
    page = open_tab(qtbot, cmt_window, "Alerts")
    assert isinstance(page, AlertsPage)
    dismissed = select_alert(page, "demo.healthvisitor")
    assert page.detail.values["Evidence"].text().startswith("Audit entries: ")
    assert page.detail.heading.text() == f"Alert {dismissed}: Searched for their own family name"
    assert is_record_data(page.detail) and is_record_data(page.table)
    page.dismiss_button.click()
    dialog = dialog_of(qtbot, page)
    assert dialog.needed.text() == "Enter the justification: at least 10 characters"
    dialog.text.setPlainText("ok")
    assert not dialog.confirm_button.isEnabled()
    assert dialog.needed.text() == "Enter the justification: at least 10 characters (2 so far)"
    answer_prompt(qtbot, page, "A colleague of the same name asked for help with a referral.")
    assert page.message.text() == f"Alert {dismissed} dismissed."
    qtbot.waitUntil(lambda: dismissed not in {a.id for a in page.model.rows}, timeout=10_000)

    opened = select_alert(page, "demo.schoolnurse")
    page.incident_button.click()
    answer_prompt(qtbot, page, "Looked up her own family after being told not to.")
    # No mail server in the training set-up: the page says the manager was not told by e-mail.
    assert "is suspended" in page.message.text()
    assert "e-mail to their manager was not sent" in page.message.text()
    assert "Reported to the national team on" in page.message.text()
    qtbot.waitUntil(lambda: opened not in {a.id for a in page.model.rows}, timeout=10_000)
    assert server.scalar("SELECT suspended FROM users WHERE username = 'demo.schoolnurse'")

    incidents = open_tab(qtbot, cmt_window, "Incidents")
    assert isinstance(incidents, IncidentsPage)
    assert incidents.table.select_where(lambda i: i.username == "demo.schoolnurse" and i.status == "open")
    number = incidents.table.current_item().id
    assert incidents.detail.values["Manager"].text().startswith("The e-mail to their manager was not sent")
    assert not incidents.investigate_button.isHidden() and incidents.investigate_button.isEnabled()
    incidents.investigate_button.click()
    qtbot.waitUntil(lambda: incidents.table.current_item().status == "investigating", timeout=10_000)
    assert not incidents.investigate_button.isEnabled()
    incidents.note_button.click()
    answer_prompt(qtbot, incidents, "Interviewed the user and her manager.")
    assert "Interviewed the user and her manager." in incidents.detail.values["Notes"].text()

    incidents.close_button.click()
    closing = dialog_of(qtbot, incidents)
    assert isinstance(closing, CloseIncidentDialog)
    assert not closing.confirm_button.isEnabled()
    assert closing.needed.text() == "Choose the outcome of the investigation"
    closing.choices[2].setChecked(True)  # training required
    closing.confirm_button.click()
    qtbot.waitUntil(lambda: incidents.dialog is None, timeout=10_000)
    wait_idle(qtbot, incidents)
    chosen = incidents.table.current_item()
    assert chosen.id == number and chosen.status == "closed" and chosen.outcome == "training_required"
    assert incidents.detail.values["Outcome"].text() == "Training required"
    assert not incidents.close_button.isEnabled()
    assert incidents.message.text() == f"Incident {number} closed: Training required."


def test_a_refusal_shows_the_servers_message(qtbot, server, cmt_window):
    page = open_tab(qtbot, cmt_window, "Alerts")
    alert_id = select_alert(page, "demo.healthvisitor")
    # Someone else on the team deals with the alert while this screen still shows it.
    server.allow_new_sign_in()
    colleague = signed_in_api(server, "demo.cmt")
    OversightClient(colleague).dismiss_alert(alert_id, "Dealt with by a colleague on the phone.")
    page.dismiss_button.click()
    dialog = dialog_of(qtbot, page)
    dialog.text.setPlainText("A colleague of the same name asked for help.")
    dialog.confirm_button.click()
    qtbot.waitUntil(lambda: dialog.summary.isVisible() and not dialog.busy, timeout=10_000)
    assert dialog.summary.messages == ["This alert has already been dealt with."]
    dialog.reject()
    qtbot.waitUntil(lambda: page.dialog is None)
