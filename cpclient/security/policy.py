"""The machine-wide managed policy: settings an administrator fixes and a user cannot override.

Where the policy lives (read once, at start):

- Linux and other Unix: ``/etc/cpclient/policy.json`` (owned by root, not writable by group or others).
- macOS: ``/Library/Application Support/cpclient/policy.json`` (same ownership rule).
- Windows: the registry key ``HKEY_LOCAL_MACHINE\\Software\\Policies\\cpclient`` (set by Group Policy),
  one value per setting, REG_SZ or REG_DWORD.

The settings (all optional; each one present is *locked*, so the UI shows it disabled):

- ``server_url``: the live server. ``https://`` only; ``http://`` only for a loopback address.
- ``ca_bundle``: absolute path to a PEM file of CA certificates to trust for the server.
- ``idle_timeout_seconds``: seconds without input before the client locks (30 to 3600).
- ``training_allowed``: ``false`` removes training mode from this machine; ``true`` lets an installed
  live client start it (`cpclient.distribution` says what each build needs).

A missing policy means defaults with nothing locked. A policy that exists but is broken raises
:class:`PolicyError`: a managed machine with a broken policy must not silently fall back to defaults,
so the app shows the message and refuses to start.

Only an argument (used by tests and by the check command below) can point :func:`load_policy` at
another file; no user setting can. An administrator checks a file before deploying it with
``python -m cpclient.security.policy /path/to/policy.json`` (or with no argument, this machine's).

Example::

    try:
        policy = load_policy()
    except PolicyError as error:
        show_fatal_message(str(error))
        return 1
    if policy.is_locked("server_url"):
        server_field.setEnabled(False)
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cpclient.api.server_url import server_url_problem

POLICY_KEYS = ("server_url", "ca_bundle", "idle_timeout_seconds", "training_allowed")
"""The settings a policy may fix; any other key is an error (a typo must not be ignored)."""

UNIX_POLICY_PATH = Path("/etc/cpclient/policy.json")
MACOS_POLICY_PATH = Path("/Library/Application Support/cpclient/policy.json")
WINDOWS_POLICY_KEY = "HKEY_LOCAL_MACHINE\\Software\\Policies\\cpclient"

MIN_IDLE_TIMEOUT_SECONDS = 30
MAX_IDLE_TIMEOUT_SECONDS = 3600
MAX_POLICY_BYTES = 64 * 1024

# The owner a policy file at the default path must have (root). Tests replace it.
_TRUSTED_OWNER_UID = 0

_WHOM_TO_CONTACT = (
    "This computer's ContactPoint settings are managed by your IT service desk: "
    "ask them to correct the policy. ContactPoint cannot start until it is fixed."
)


class PolicyError(Exception):
    """The machine's managed policy exists but cannot be used; the message is written for the user."""


@dataclass(frozen=True)
class ManagedPolicy:
    """Settings fixed by the machine's administrator.

    Attributes:
        server_url: the live server to use, or None to let the user or command line choose.
        ca_bundle: path of a PEM bundle of CA certificates to trust, or None for the OS store.
        idle_timeout_seconds: seconds without input before locking, or None for the server's value.
        training_allowed: whether training mode may be started on this machine.
        source: where the policy was read from (a path or registry key), or None when there is none.
        locked: names of the settings fixed by policy, so the UI shows them disabled.
    """

    server_url: str | None = None
    ca_bundle: str | None = None
    idle_timeout_seconds: int | None = None
    training_allowed: bool = True
    source: str | None = None
    locked: frozenset[str] = field(default_factory=frozenset)

    def is_locked(self, name: str) -> bool:
        """Return True when the setting ``name`` is fixed by policy."""
        return name in self.locked


def load_policy(path: Path | None = None) -> ManagedPolicy:
    """Read the machine-wide managed policy.

    Args:
        path: a JSON policy file to read instead of the platform's location. For tests and for an
            administrator checking a file before deploying it; the file's ownership is not checked.

    Returns:
        The policy; defaults with nothing locked when no policy exists.

    Raises:
        PolicyError: the policy exists but is unreadable, malformed, insecurely stored or invalid.
    """
    if path is not None:
        return _load_json_policy(path, check_ownership=False)
    if sys.platform == "win32":
        return _load_registry_policy(WINDOWS_POLICY_KEY)
    else:  # the else keeps mypy --platform win32 from calling this unreachable
        default = MACOS_POLICY_PATH if sys.platform == "darwin" else UNIX_POLICY_PATH
        return _load_json_policy(default, check_ownership=True)


def _load_json_policy(path: Path, *, check_ownership: bool) -> ManagedPolicy:
    source = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return ManagedPolicy()
    except OSError as error:
        raise PolicyError(
            f"The policy file {source} cannot be read ({error.strerror}). {_WHOM_TO_CONTACT}"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise PolicyError(f"The policy path {source} is not a file. {_WHOM_TO_CONTACT}")
    if check_ownership and os.name == "posix":
        _check_posix_ownership(path)
    if info.st_size > MAX_POLICY_BYTES:
        raise PolicyError(f"The policy file {source} is too large to be a policy. {_WHOM_TO_CONTACT}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(
            f"The policy file {source} cannot be read ({error.strerror}). {_WHOM_TO_CONTACT}"
        ) from None
    except UnicodeDecodeError:
        raise PolicyError(f"The policy file {source} is not UTF-8 text. {_WHOM_TO_CONTACT}") from None
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as error:
        raise PolicyError(
            f"The policy file {source} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}). {_WHOM_TO_CONTACT}"
        ) from None
    except _DuplicateKeyError as error:
        raise PolicyError(
            f"The policy file {source} sets {error.key!r} more than once. {_WHOM_TO_CONTACT}"
        ) from None
    if not isinstance(document, dict):
        raise PolicyError(
            f"The policy file {source} must hold a JSON object ({{...}}) of settings. {_WHOM_TO_CONTACT}"
        )
    return _policy_from_values(document, source)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _check_posix_ownership(path: Path) -> None:
    """Refuse a policy a non-administrator could have written: that would let users override it."""
    for checked in (path, path.parent):
        info = checked.stat()
        if info.st_uid != _TRUSTED_OWNER_UID or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise PolicyError(
                f"The policy at {path} is not protected: {checked} must be owned by the administrator "
                f"(root) and not writable by other users (for example: chown root:root, chmod 644 for "
                f"the file and 755 for its folder). {_WHOM_TO_CONTACT}"
            )


def _load_registry_policy(key: str) -> ManagedPolicy:
    """Read the Group Policy registry key through QSettings (Windows only)."""
    from PySide6.QtCore import QSettings

    settings = QSettings(key, QSettings.Format.NativeFormat)
    if settings.status() != QSettings.Status.NoError:
        raise PolicyError(f"The policy in the registry at {key} cannot be read. {_WHOM_TO_CONTACT}")
    names = settings.childKeys()
    if not names:
        return ManagedPolicy()
    values = {name: _coerce_registry_value(name, settings.value(name)) for name in names}
    return _policy_from_values(values, key)


def _coerce_registry_value(name: str, value: object) -> object:
    """Registry values arrive as int (REG_DWORD) or str (REG_SZ); accept either for numbers and flags."""
    if name == "training_allowed":
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
            return value.strip().lower() in ("1", "true")
    if name == "idle_timeout_seconds" and isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _policy_from_values(values: dict[str, object], source: str) -> ManagedPolicy:
    unknown = sorted(set(values) - set(POLICY_KEYS))
    if unknown:
        raise PolicyError(
            f"The policy at {source} has settings ContactPoint does not know: {', '.join(unknown)}. "
            f"Known settings are: {', '.join(POLICY_KEYS)}. {_WHOM_TO_CONTACT}"
        )

    def invalid(name: str, why: str) -> PolicyError:
        return PolicyError(f"The policy at {source} is not valid: {name!r} {why}. {_WHOM_TO_CONTACT}")

    server_url: str | None = None
    if "server_url" in values:
        raw = values["server_url"]
        if not isinstance(raw, str):
            raise invalid("server_url", "must be text")
        problem = server_url_problem(raw)
        if problem is not None:
            raise invalid("server_url", f"is not acceptable: {problem}")
        server_url = raw

    ca_bundle: str | None = None
    if "ca_bundle" in values:
        raw = values["ca_bundle"]
        if not isinstance(raw, str) or not raw:
            raise invalid("ca_bundle", "must be the path of a certificate file")
        bundle = Path(raw)
        if not bundle.is_absolute():
            raise invalid("ca_bundle", "must be an absolute path")
        if not bundle.is_file():
            raise invalid("ca_bundle", f"names a file that does not exist ({raw})")
        ca_bundle = raw

    idle_timeout: int | None = None
    if "idle_timeout_seconds" in values:
        raw = values["idle_timeout_seconds"]
        if (
            not isinstance(raw, int)
            or isinstance(raw, bool)
            or not MIN_IDLE_TIMEOUT_SECONDS <= raw <= MAX_IDLE_TIMEOUT_SECONDS
        ):
            raise invalid(
                "idle_timeout_seconds",
                f"must be a whole number of seconds from {MIN_IDLE_TIMEOUT_SECONDS} "
                f"to {MAX_IDLE_TIMEOUT_SECONDS}",
            )
        idle_timeout = raw

    training_allowed = True
    if "training_allowed" in values:
        raw = values["training_allowed"]
        if not isinstance(raw, bool):
            raise invalid("training_allowed", "must be true or false")
        training_allowed = raw

    return ManagedPolicy(
        server_url=server_url,
        ca_bundle=ca_bundle,
        idle_timeout_seconds=idle_timeout,
        training_allowed=training_allowed,
        source=source,
        locked=frozenset(values),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Check a policy file (or this machine's policy) and print what it sets; 1 when it is broken."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        policy = load_policy(Path(arguments[0]) if arguments else None)
    except PolicyError as error:
        print(f"Policy error: {error}", file=sys.stderr)
        return 1
    if policy.source is None:
        print("No managed policy: defaults apply and nothing is locked.")
        return 0
    print(f"Policy read from {policy.source}; locked settings:")
    for name in sorted(policy.locked):
        print(f"  {name} = {getattr(policy, name)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
