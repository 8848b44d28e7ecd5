"""The workstation's enrolment identifier, kept in the operating system's keyring.

The identifier names this computer in the audit trail (``POST /sessions`` sends it as
``workstation``). It is the only thing ContactPoint keeps in the keyring: never passwords, one-time
codes or session tokens, and :class:`KeyringSecretStore` refuses any other key.

Example::

    try:
        workstation = workstation_id(KeyringSecretStore())
    except KeyringUnavailable as error:
        show_fatal_message(str(error))
        return 1
    api.log_in(username, password, otp, workstation=workstation)

Tests use :class:`MemorySecretStore`, and the root ``tests/conftest.py`` installs an in-memory keyring
backend for every test, so no test touches the real keychain.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # keyring loads when the keyring is first used (training mode never uses it)
    from keyring.backend import KeyringBackend

SERVICE_NAME = "cpclient"
WORKSTATION_ID_KEY = "workstation_id"
WORKSTATION_SECRET_KEY = "workstation_secret"  # noqa: S105 - a key name, not a secret
ALLOWED_KEYS = frozenset({WORKSTATION_ID_KEY, WORKSTATION_SECRET_KEY})
"""The only keys ever stored in the keyring: the enrolment identifier and its secret."""

_WORKSTATION_ID_PATTERN = re.compile(r"WS-[0-9A-F]{16}")

_UNAVAILABLE_MESSAGE = (
    "ContactPoint cannot reach this computer's secure credential store (the keyring), which it needs "
    "to identify this workstation. Contact your IT service desk: on Windows this is Credential "
    "Manager, on macOS the Keychain, on Linux the Secret Service (for example GNOME Keyring or KWallet)."
)


class KeyringUnavailable(Exception):
    """No usable keyring: the app shows this plain-English message instead of crashing."""

    def __init__(self, detail: str | None = None) -> None:
        message = _UNAVAILABLE_MESSAGE if detail is None else f"{_UNAVAILABLE_MESSAGE} ({detail})"
        super().__init__(message)
        self.detail = detail


class SecretStore(Protocol):
    """Where the workstation identifier is kept."""

    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""


def _check_key(key: str) -> None:
    if key not in ALLOWED_KEYS:
        raise ValueError(f"Only the workstation identifier may be kept in the keyring, not {key!r}.")


class KeyringSecretStore:
    """The OS keyring (service name ``cpclient``); raises :class:`KeyringUnavailable` on failure.

    Args:
        service: the keyring service name; the default is ``cpclient``.
    """

    def __init__(self, service: str = SERVICE_NAME) -> None:
        self._service = service

    def _backend(self) -> KeyringBackend:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            raise KeyringUnavailable("no keyring backend is available")
        if type(backend).__module__ == "keyring.backends.null":
            raise KeyringUnavailable("the keyring is configured to store nothing")
        return backend

    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None; raise KeyringUnavailable on failure."""
        _check_key(key)
        from keyring.errors import KeyringError

        backend = self._backend()
        try:
            return backend.get_password(self._service, key)
        except KeyringError as error:
            raise KeyringUnavailable(type(error).__name__) from error

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``; raise KeyringUnavailable on failure."""
        _check_key(key)
        from keyring.errors import KeyringError

        backend = self._backend()
        try:
            backend.set_password(self._service, key, value)
        except KeyringError as error:
            raise KeyringUnavailable(type(error).__name__) from error


class MemorySecretStore:
    """A SecretStore in a dict, for tests. Refuses the same keys the keyring store refuses."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``, or None."""
        _check_key(key)
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        _check_key(key)
        self.values[key] = value


def new_workstation_id() -> str:
    """Return a fresh random identifier, ``WS-`` and 16 upper-case hex digits (64 random bits)."""
    return "WS-" + secrets.token_hex(8).upper()


def workstation_id(store: SecretStore) -> str:
    """Return this workstation's enrolment identifier, creating and storing one on first use.

    A stored value that is not a well-formed identifier is replaced. After storing a new identifier it
    is read back, so a keyring that silently keeps nothing is reported instead of giving a new
    identity at every start.

    Raises:
        KeyringUnavailable: the store cannot be read or written.
    """
    stored = store.get(WORKSTATION_ID_KEY)
    if stored is not None and _WORKSTATION_ID_PATTERN.fullmatch(stored):
        return stored
    created = new_workstation_id()
    store.set(WORKSTATION_ID_KEY, created)
    if store.get(WORKSTATION_ID_KEY) != created:
        raise KeyringUnavailable("the keyring did not keep the workstation identifier")
    return created
