"""The composition root: which server and mode, and the problems that stop a start shown as messages."""

from __future__ import annotations

import argparse
import json
import sys

import keyring
import pytest
from keyring.backends import fail

from cpclient import app
from cpclient.security.policy import ManagedPolicy, load_policy


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


def test_main_explains_a_missing_keyring(qapp, shown, monkeypatch):
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setattr(app, "load_policy", ManagedPolicy)
    assert app.main(["--server", "https://cp.example"]) == 2
    assert "keyring" in shown[0]


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
