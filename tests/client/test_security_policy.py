"""The managed machine policy: defaults when absent, strict validation when present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cpclient.api.server_url import server_url_problem
from cpclient.security import policy as policy_module
from cpclient.security.policy import ManagedPolicy, PolicyError, load_policy


def write_policy(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_missing_file_gives_defaults_with_nothing_locked(tmp_path):
    policy = load_policy(tmp_path / "absent.json")

    assert policy == ManagedPolicy()
    assert policy.locked == frozenset()
    assert policy.training_allowed is True
    assert policy.source is None


def test_valid_file_sets_and_locks_each_setting(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    path = write_policy(
        tmp_path / "policy.json",
        {
            "server_url": "https://contactpoint.example.gov.uk",
            "ca_bundle": str(bundle),
            "idle_timeout_seconds": 300,
            "training_allowed": False,
        },
    )

    policy = load_policy(path)

    assert policy.server_url == "https://contactpoint.example.gov.uk"
    assert policy.ca_bundle == str(bundle)
    assert policy.idle_timeout_seconds == 300
    assert policy.training_allowed is False
    assert policy.source == str(path)
    assert policy.locked == {"server_url", "ca_bundle", "idle_timeout_seconds", "training_allowed"}
    assert policy.is_locked("server_url")


def test_partial_file_locks_only_what_it_sets(tmp_path):
    policy = load_policy(write_policy(tmp_path / "p.json", {"idle_timeout_seconds": 120}))

    assert policy.locked == {"idle_timeout_seconds"}
    assert not policy.is_locked("server_url")
    assert policy.server_url is None


def test_malformed_json_raises_policy_error_naming_the_place(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"server_url": "https://a.example",', encoding="utf-8")

    with pytest.raises(PolicyError, match=r"not valid JSON \(line 1"):
        load_policy(path)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "JSON object"),
        ({"server_url": 42}, "'server_url' must be text"),
        ({"idle_timeout_seconds": "300"}, "whole number of seconds"),
        ({"idle_timeout_seconds": True}, "whole number of seconds"),
        ({"idle_timeout_seconds": 5}, "from 30 to 3600"),
        ({"training_allowed": "no"}, "true or false"),
        ({"ca_bundle": "relative/ca.pem"}, "absolute path"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "does not exist"),
        ({"server_adress": "https://a.example"}, "does not know: server_adress"),
    ],
)
def test_invalid_values_raise_policy_error(tmp_path, document, message):
    with pytest.raises(PolicyError, match=message) as raised:
        load_policy(write_policy(tmp_path / "policy.json", document))

    assert "IT service desk" in str(raised.value)


def test_duplicate_keys_are_refused(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"training_allowed": true, "training_allowed": false}', encoding="utf-8")

    with pytest.raises(PolicyError, match="more than once"):
        load_policy(path)


def test_http_to_a_non_loopback_server_is_rejected(tmp_path):
    path = write_policy(tmp_path / "policy.json", {"server_url": "http://contactpoint.example.gov.uk"})

    with pytest.raises(PolicyError, match="https://"):
        load_policy(path)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8700", "http://localhost:8700/", "http://[::1]:8700", "https://cp.example"]
)
def test_loopback_http_and_any_https_are_accepted(url):
    assert server_url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5",
        "ftp://cp.example",
        "https://",
        "https://user:pw@cp.example",
        "https://cp.example/?q=1",
        "https://cp.example:99999",
        "cp.example",
    ],
)
def test_unacceptable_server_urls_are_explained(url):
    assert server_url_problem(url)


def test_default_location_refuses_a_policy_other_users_could_write(tmp_path, monkeypatch):
    folder = tmp_path / "etc-cpclient"
    folder.mkdir()
    path = write_policy(folder / "policy.json", {"training_allowed": False})
    monkeypatch.setattr(policy_module, "UNIX_POLICY_PATH", path)
    monkeypatch.setattr(policy_module, "MACOS_POLICY_PATH", path)
    monkeypatch.setattr(policy_module, "_TRUSTED_OWNER_UID", os.stat(path).st_uid)
    os.chmod(folder, 0o755)

    os.chmod(path, 0o644)
    assert load_policy().training_allowed is False

    os.chmod(path, 0o666)
    with pytest.raises(PolicyError, match="not protected"):
        load_policy()


def test_default_location_refuses_a_policy_not_owned_by_the_administrator(tmp_path, monkeypatch):
    path = write_policy(tmp_path / "policy.json", {})
    os.chmod(path, 0o644)
    monkeypatch.setattr(policy_module, "UNIX_POLICY_PATH", path)
    monkeypatch.setattr(policy_module, "MACOS_POLICY_PATH", path)
    monkeypatch.setattr(policy_module, "_TRUSTED_OWNER_UID", os.stat(path).st_uid + 1)

    with pytest.raises(PolicyError, match="owned by the administrator"):
        load_policy()


def test_policy_is_immutable():
    policy = ManagedPolicy()
    with pytest.raises(AttributeError):
        policy.server_url = "https://elsewhere.example"  # type: ignore[misc]


def test_check_command_reports_a_valid_file(tmp_path, capsys):
    path = write_policy(tmp_path / "policy.json", {"idle_timeout_seconds": 600})

    assert policy_module.main([str(path)]) == 0
    assert "idle_timeout_seconds = 600" in capsys.readouterr().out


def test_check_command_fails_on_a_broken_file(tmp_path, capsys):
    path = tmp_path / "policy.json"
    path.write_text("{", encoding="utf-8")

    assert policy_module.main([str(path)]) == 1
    assert "Policy error" in capsys.readouterr().err


def test_the_example_policy_shipped_for_administrators_is_valid(tmp_path):
    example = Path(__file__).parents[2] / "packaging" / "policy" / "policy.example.json"
    document = json.loads(example.read_text(encoding="utf-8"))
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    document["ca_bundle"] = str(bundle)  # the example names a path that exists only when deployed

    policy = load_policy(write_policy(tmp_path / "policy.json", document))

    assert policy.locked == set(policy_module.POLICY_KEYS)
