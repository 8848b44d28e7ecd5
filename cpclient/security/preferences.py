"""Per-user preferences: window geometry and state only, never record data.

The managed, machine-wide settings are in :mod:`cpclient.security.policy`; this file holds only what a
user may choose for their own comfort, in an INI file in the user's settings folder. Keys are
``<window>/geometry`` or ``<window>/state`` (``<window>`` is a short lower-case name such as
``main_window``) and values are the bytes Qt's ``saveGeometry()``/``saveState()`` produce. Any other
key is refused by :func:`check_preference_key`, and any other key found in the file is removed on
load, so record data can never be kept here by accident.

Example::

    preferences = UserPreferences()
    preferences.restore_window("main_window", window)     # at start
    preferences.save_window("main_window", window)        # in closeEvent
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QWidget

_KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}/(geometry|state)")

ORGANISATION = "cpclient"
APPLICATION = "cpclient"


class DisallowedPreferenceError(ValueError):
    """A caller tried to keep something other than window geometry or state in user preferences."""


def check_preference_key(key: str) -> str:
    """Return ``key`` if user preferences may hold it, else raise :class:`DisallowedPreferenceError`.

    Allowed: ``<window>/geometry`` and ``<window>/state``, ``<window>`` matching ``[a-z][a-z0-9_]*``
    (at most 40 characters).
    """
    if not _KEY_PATTERN.fullmatch(key):
        raise DisallowedPreferenceError(
            f"User preferences hold only window geometry and state; {key!r} is not allowed."
        )
    return key


class UserPreferences:
    """The signed-in person's window layout, in the user-scope INI settings file.

    Args:
        path: an INI file to use instead of the user's settings folder (for tests).
    """

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._settings = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
            )
        else:
            self._settings = QSettings(str(path), QSettings.Format.IniFormat)
        self._settings.setFallbacksEnabled(False)
        for key in self._settings.allKeys():
            if not _KEY_PATTERN.fullmatch(key):
                self._settings.remove(key)

    @property
    def file_name(self) -> str:
        """The INI file these preferences are stored in."""
        return self._settings.fileName()

    def value(self, key: str) -> QByteArray | None:
        """Return the stored bytes for an allowed ``key``, or None when nothing is stored."""
        stored = self._settings.value(check_preference_key(key))
        if isinstance(stored, QByteArray):
            return stored
        if isinstance(stored, bytes):
            return QByteArray(stored)
        return None

    def set_value(self, key: str, value: QByteArray | bytes) -> None:
        """Store geometry or state bytes under an allowed ``key``.

        Raises:
            DisallowedPreferenceError: the key is not a window geometry/state key, or the value is not bytes.
        """
        check_preference_key(key)
        if not isinstance(value, QByteArray | bytes):
            raise DisallowedPreferenceError(
                "User preferences hold only the bytes of window geometry or state."
            )
        self._settings.setValue(key, QByteArray(value))

    def save_window(self, name: str, window: QWidget) -> None:
        """Store ``window``'s geometry (and, for a QMainWindow, its toolbar/dock state)."""
        self.set_value(f"{name}/geometry", window.saveGeometry())
        if isinstance(window, QMainWindow):
            self.set_value(f"{name}/state", window.saveState())
        self._settings.sync()

    def restore_window(self, name: str, window: QWidget) -> bool:
        """Restore ``window``'s stored geometry (and state); return False when none was stored."""
        geometry = self.value(f"{name}/geometry")
        if geometry is None or not window.restoreGeometry(geometry):
            return False
        state = self.value(f"{name}/state")
        if isinstance(window, QMainWindow) and state is not None:
            window.restoreState(state)
        return True

    def sync(self) -> None:
        """Write pending changes to disk."""
        self._settings.sync()
