"""The composition root: which server and mode, and the problems that stop a start shown as messages."""

from __future__ import annotations

import argparse
import json
import sys

import keyring
import pytest
from keyring.backends import fail

from cpclient import app
from cpclient.distribution import MARKER_NAME, Distribution, Flavour, current, read_marker
from cpclient.security.policy import ManagedPolicy, load_policy
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.main_window import MainWindow


def _args(*argv: str) -> argparse.Namespace:
    return app.parse_args(list(argv))


def test_policy_server_wins_over_the_command_line():
    policy = ManagedPolicy(server_url="https://policy.example", locked=frozenset({"server_url"}))
    plan = app.plan_start(_args("--server", "https://mine.example"), policy)
    assert plan.server_url == "https://policy.example" and not plan.training


def test_no_server_and_not_training_is_explained():
    with pytest.raises(app.StartupProblem) as caught:
        app.plan_start(_args(), ManagedPolicy())
    assert "No ContactPoint server" in str(caught.value)


def test_training_refused_by_policy():
    with pytest.raises(app.StartupProblem) as caught:
        app.plan_start(_args("--training"), ManagedPolicy(training_allowed=False))
    assert "switched off" in str(caught.value)


def test_training_never_uses_the_policys_live_server():
    plan = app.plan_start(_args("--training"), ManagedPolicy(server_url="https://live.example"))
    assert plan.training and plan.server_url is None


@pytest.fixture
def shown(qapp, monkeypatch):
    messages: list[str] = []
    # main() installs its own excepthook and quit behaviour; put the test process's back afterwards.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(qapp, "setQuitOnLastWindowClosed", lambda _value: None)
    monkeypatch.setattr(app, "show_problem", lambda message, mode: messages.append(message))
    monkeypatch.setattr(app, "install_redacting_logging", lambda: None)
    return messages


def test_a_missing_keyring_is_explained_on_the_sign_in_page(qtbot, qasync_loop):
    # The keyring is read behind the shown window (fast start): its failure is shown there.
    keyring.set_keyring(fail.Keyring())
    window = MainWindow(None, BackgroundCalls(), "", ClientMode())
    qtbot.addWidget(window)
    plan = app.Plan(server_url="https://cp.example", training=False, ca_bundle=None)
    with qtbot.wait_signal(window.problem, timeout=10_000) as problem:
        window.calls.start(app.finish_start(window, plan, "https://cp.example", None))
    assert "keyring" in problem.args[0]
    assert not window.completed
    assert not window.login.sign_in_button.isEnabled()
    assert ["keyring" in problem.message for problem in window.login.summary.problems] == [True]
    window.calls.shutdown()


def test_main_explains_a_broken_policy(qapp, shown, monkeypatch, tmp_path):
    broken = tmp_path / "policy.json"
    broken.write_text(json.dumps({"server_url": "http://not-loopback.example"}))
    monkeypatch.setattr(app, "load_policy", lambda: load_policy(broken))
    assert app.main([]) == 2
    assert "IT service desk" in shown[0]


def test_main_refuses_an_unsafe_server_address(qapp, shown, monkeypatch):
    monkeypatch.setattr(app, "load_policy", ManagedPolicy)
    assert app.main(["--server", "http://contactpoint.example"]) == 2
    assert "https://" in shown[0]


# --- what each build allows (cpclient.distribution) ---------------------------------------------------

LIVE_BUNDLE = Distribution(Flavour.LIVE)
TRAINING_KIT = Distribution(Flavour.TRAINING_KIT)
ALLOWS_TRAINING = ManagedPolicy(training_allowed=True, locked=frozenset({"training_allowed"}))
FORBIDS_TRAINING = ManagedPolicy(training_allowed=False, locked=frozenset({"training_allowed"}))


def test_the_live_bundle_refuses_training_unless_the_policy_allows_it():
    with pytest.raises(app.StartupProblem) as caught:
        app.plan_start(_args("--training", "--server", "http://127.0.0.1:8700"), ManagedPolicy(), LIVE_BUNDLE)
    assert caught.value.args[0] == app.TRAINING_NEEDS_POLICY
    plan = app.plan_start(
        _args("--training", "--server", "http://127.0.0.1:8700"), ALLOWS_TRAINING, LIVE_BUNDLE
    )
    assert plan.training and plan.server_url == "http://127.0.0.1:8700"


def test_the_live_bundle_has_no_embedded_training_server():
    with pytest.raises(app.StartupProblem) as caught:
        app.plan_start(_args("--training"), ALLOWS_TRAINING, LIVE_BUNDLE)
    assert caught.value.args[0] == app.NO_EMBEDDED_SERVER


def test_the_live_bundle_starts_live_as_before():
    plan = app.plan_start(_args("--server", "https://cp.example"), ManagedPolicy(), LIVE_BUNDLE)
    assert not plan.training and plan.server_url == "https://cp.example"


def test_the_training_kit_is_always_training_and_the_policy_can_still_forbid_it():
    plan = app.plan_start(_args(), ManagedPolicy(server_url="https://live.example"), TRAINING_KIT)
    assert plan.training and plan.server_url is None  # never the policy's live server
    with pytest.raises(app.StartupProblem) as caught:
        app.plan_start(_args(), FORBIDS_TRAINING, TRAINING_KIT)
    assert caught.value.args[0] == app.TRAINING_NOT_ALLOWED


def test_a_source_install_keeps_training_by_default():
    assert app.plan_start(_args("--training"), ManagedPolicy()).training


def test_the_smoke_test_runs_in_training_mode_only():
    with pytest.raises(app.StartupProblem):
        app.plan_start(_args("--smoke-test", "--server", "https://cp.example"), ManagedPolicy())
    with pytest.raises(app.StartupProblem) as caught:
        app.plan_start(
            _args("--smoke-test", "--training", "--server", "http://127.0.0.1:1"),
            ManagedPolicy(),
            LIVE_BUNDLE,
        )
    assert caught.value.args[0] == app.TRAINING_NEEDS_POLICY


def test_a_bundle_without_a_readable_marker_is_the_live_bundle(tmp_path):
    assert read_marker(tmp_path) == Distribution(Flavour.LIVE)
    (tmp_path / MARKER_NAME).write_text("{not json")
    assert read_marker(tmp_path).flavour is Flavour.LIVE
    (tmp_path / MARKER_NAME).write_text(json.dumps({"flavour": "source"}))
    assert read_marker(tmp_path).flavour is Flavour.LIVE  # a bundle cannot claim to be a checkout
    (tmp_path / MARKER_NAME).write_text(json.dumps({"flavour": "training-kit", "version": "0.1.0"}))
    assert read_marker(tmp_path) == Distribution(Flavour.TRAINING_KIT, "0.1.0")


def test_running_from_source_is_the_source_flavour():
    assert current().flavour is Flavour.SOURCE


def test_check_policy_reports_a_file_and_refuses_a_broken_one(tmp_path, capsys):
    good = tmp_path / "policy.json"
    good.write_text(json.dumps({"server_url": "https://cp.example", "training_allowed": False}))
    assert app.main(["--check-policy", str(good)]) == 0
    assert "training_allowed = False" in capsys.readouterr().out
    good.write_text(json.dumps({"server_url": "http://not-loopback.example"}))
    assert app.main(["--check-policy", str(good)]) == 1
    assert "https://" in capsys.readouterr().err
