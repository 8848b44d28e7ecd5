"""Shared fixtures for every test: no real keychain, no real user settings, GUI tests marked ``gui``,
and headless Qt given the screens of a council laptop (1024×768 and 1366×768)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

_GUI_FIXTURES = frozenset({"qtbot", "qapp"})

# No server a test starts runs the daily retention job (rule 9) unless the test asks for it: records
# archived under a test, and its audit row, would surprise it. tests/server/test_retention.py runs it.
os.environ.setdefault("CPSERVER_RETENTION_RUN_DAILY", "false")

# Qt messages that say nothing about our code: the offscreen platform plugin (used headless) warns
# whenever a top-level window's size hints change, because it has no window manager to tell.
_HEADLESS_QT_NOISE = ("This plugin does not support propagateSizeHints",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a QApplication as ``gui``, so ``pytest -m "not gui"`` is fast.

    GUI tests also ignore the offscreen plugin's noise (a test's own ``qt_log_ignore`` mark, if any,
    takes precedence, so such a test should list these messages too).
    """
    for item in items:
        if _GUI_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)
            item.add_marker(pytest.mark.qt_log_ignore(*_HEADLESS_QT_NOISE))


# The offscreen platform's screens: the two laptop sizes councils use, side by side (the first is the
# primary screen). Without this, offscreen Qt has one 800×800 screen.
LAPTOP_SCREENS = {"1024x768": (0, 1024, 768), "1366x768": (1024, 1366, 768)}


@pytest.fixture(scope="session")
def qapp_args(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The QApplication's arguments: under the offscreen platform, the laptop screens above."""
    arguments = [pytestconfig.getini("qt_qapp_name")]
    if os.environ.get("QT_QPA_PLATFORM", "") == "offscreen":
        screens = [
            {"name": name, "x": x, "y": 0, "width": width, "height": height, "logicalDpi": 96, "dpr": 1}
            for name, (x, width, height) in LAPTOP_SCREENS.items()
        ]
        config = tmp_path_factory.mktemp("qt-screens") / "screens.json"
        config.write_text(json.dumps({"screens": screens}), encoding="utf-8")
        arguments += ["-platform", f"offscreen:configfile={config}"]
    return arguments


class MemoryKeyring(KeyringBackend):
    """A keyring backend holding passwords in a dict, so no test touches the OS keychain."""

    priority = 1  # type: ignore[assignment]  # keyring declares it as a class property

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError(username) from None


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Install an empty in-memory keyring for each test (Vorta does the same)."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def isolated_user_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Send user-scope QSettings (window geometry) to a temporary folder, never the real profile."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("user-settings")
    for settings_format in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(settings_format, QSettings.Scope.UserScope, str(folder))
    yield folder
