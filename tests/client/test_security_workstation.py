"""The workstation enrolment identifier in the keyring, and nothing else."""

from __future__ import annotations

import keyring
import keyring.errors
import pytest
from keyring.backends import fail

from cpclient.security.workstation import (
    KeyringSecretStore,
    KeyringUnavailable,
    MemorySecretStore,
    workstation_id,
)


def test_identifier_is_created_once_and_reused():
    store = MemorySecretStore()

    first = workstation_id(store)

    assert first.startswith("WS-")
    assert len(first) == 19
    assert workstation_id(store) == first
    assert store.values == {"workstation_id": first}


def test_identifier_lives_in_the_keyring_under_cpclient(memory_keyring):
    created = workstation_id(KeyringSecretStore())

    assert memory_keyring.passwords == {("cpclient", "workstation_id"): created}
    assert workstation_id(KeyringSecretStore()) == created


def test_malformed_stored_identifier_is_replaced():
    store = MemorySecretStore()
    store.set("workstation_id", "not-an-id")

    assert workstation_id(store).startswith("WS-")


@pytest.mark.parametrize("key", ["password", "session_token", "otp"])
def test_only_the_workstation_identity_may_be_stored(key):
    for store in (KeyringSecretStore(), MemorySecretStore()):
        with pytest.raises(ValueError, match="Only the workstation identifier"):
            store.set(key, "secret")


def test_no_keyring_backend_raises_keyring_unavailable():
    keyring.set_keyring(fail.Keyring())

    with pytest.raises(KeyringUnavailable, match="IT service desk") as raised:
        workstation_id(KeyringSecretStore())

    assert "keyring" in str(raised.value)


def test_keyring_errors_raise_keyring_unavailable(memory_keyring, monkeypatch):
    def broken(*_args):
        raise keyring.errors.KeyringLocked("locked")

    monkeypatch.setattr(memory_keyring, "get_password", broken)

    with pytest.raises(KeyringUnavailable, match="KeyringLocked"):
        workstation_id(KeyringSecretStore())


def test_a_keyring_that_keeps_nothing_is_reported(memory_keyring, monkeypatch):
    monkeypatch.setattr(memory_keyring, "set_password", lambda *_args: None)

    with pytest.raises(KeyringUnavailable, match="did not keep"):
        workstation_id(KeyringSecretStore())
