"""Training mode: the embedded server (loopback, private temporary database, reset, cleanup) and its UI."""

from __future__ import annotations

import stat

import pytest
import requests

from cpclient.training.demo_accounts import DEMO_PASSWORD, DEMO_TOTP_SECRET, SHOWS, demo_accounts
from cpclient.training.embedded_server import EmbeddedTrainingServer
from cpclient.training.scenarios import training_scenarios
from cpclient.ui.confirm_dialog import ConfirmDialog
from cpclient.ui.training_banner import TrainingBanner
from tests.client.conftest import open_first_result, search_for, sign_in, training_kit


def test_demo_accounts_and_scenarios_match_the_training_seed():
    from cpserver.seed import training_contract as seed

    assert [account.username for account in demo_accounts()] == list(seed.DEMO_ACCOUNTS)
    # Every account the seed makes is described for trainers.
    assert set(seed.DEMO_ACCOUNTS) <= set(SHOWS)
    assert DEMO_PASSWORD == seed.DEMO_PASSWORD and DEMO_TOTP_SECRET == seed.DEMO_TOTP_SECRET
    assert [scenario.name for scenario in training_scenarios()] == list(seed.TRAINING_SCENARIOS)


@pytest.fixture(scope="module")
def small_server():
    server = EmbeddedTrainingServer(children=60)
    server.start()
    yield server
    server.close()


def test_it_serves_fictitious_training_data_on_loopback_only(small_server):
    assert small_server.url.startswith("http://127.0.0.1:")
    meta = requests.get(small_server.url + "/api/v1/meta", timeout=10).json()
    assert meta["training"] is True
    folder = small_server.database_path.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_reset_restores_the_starting_state_on_the_same_address(small_server):
    url = small_server.url
    with small_server.engine.begin() as db:
        from sqlalchemy import text

        db.execute(text("DELETE FROM involvements"))
    assert small_server.running
    assert small_server.reset() == url
    with small_server.engine.connect() as db:
        from sqlalchemy import text

        assert db.execute(text("SELECT count(*) FROM involvements")).scalar() > 0
    assert requests.get(url + "/api/v1/meta", timeout=10).json()["training"] is True


def test_close_deletes_every_file():
    server = EmbeddedTrainingServer(children=10)
    server.start()
    folder = server.database_path.parent
    assert folder.exists()
    server.close()
    assert not folder.exists()
    assert not server.running


def test_every_window_and_dialog_carries_the_training_banner(qtbot, server, make_window):
    window = make_window(server.url)
    assert window.windowTitle() == "cpclient — TRAINING"
    assert window.banner is not None and window.banner.isVisible()
    sign_in(qtbot, window)
    search_for(qtbot, window, "ordinary")
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    dialog = window.opener.dialog
    assert "TRAINING" in dialog.windowTitle() and dialog.findChildren(TrainingBanner)
    dialog.reject()
    open_first_result(qtbot, window)
    window.record_view.add_button.click()
    qtbot.waitUntil(lambda: window.involvements.dialog is not None)
    involvement = window.involvements.dialog
    assert "TRAINING" in involvement.windowTitle() and involvement.findChildren(TrainingBanner)
    involvement.reject()


def test_scenario_buttons_fill_the_search(qtbot, server, make_window):
    window = make_window(server.url)
    sign_in(qtbot, window)
    from cpclient.ui.training_help import ScenariosPanel

    panel = next(p for p in window.findChildren(ScenariosPanel) if p.buttons)
    panel.buttons[0].click()
    assert window.search.family.text() == "Thistlewood"
    assert window.search.date_of_birth.text() == "02/09/2015"


def test_reset_training_data_from_the_window(qtbot, small_server, qasync_loop, make_window):
    kit = training_kit()
    kit.server = small_server
    window = make_window(small_server.url, kit=kit)
    assert window.banner.reset_button is not None
    window.banner.reset_button.click()
    qtbot.waitUntil(lambda: window._reset_dialog is not None and window._reset_dialog.isVisible())
    dialog = window._reset_dialog
    assert isinstance(dialog, ConfirmDialog) and dialog.findChildren(TrainingBanner)
    dialog.confirm_button.click()
    qtbot.waitUntil(lambda: "has been reset" in window.login.notice.text(), timeout=20_000)
    assert window.login.sign_in_button.isEnabled()
