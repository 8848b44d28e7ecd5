"""User preferences hold window geometry and state only."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from cpclient.security.preferences import DisallowedPreferenceError, UserPreferences, check_preference_key


@pytest.mark.parametrize("key", ["main_window/geometry", "record_dialog/state"])
def test_geometry_and_state_keys_are_allowed(key):
    assert check_preference_key(key) == key


@pytest.mark.parametrize(
    "key", ["last_search/family", "main_window/geometry/x", "Main/geometry", "child_id", "", "x/state2"]
)
def test_other_keys_are_refused(key):
    with pytest.raises(DisallowedPreferenceError):
        check_preference_key(key)


def test_set_value_refuses_text_values(tmp_path):
    preferences = UserPreferences(tmp_path / "prefs.ini")

    with pytest.raises(DisallowedPreferenceError):
        preferences.set_value("main_window/geometry", "Sam Example")  # type: ignore[arg-type]
    with pytest.raises(DisallowedPreferenceError):
        preferences.set_value("recent/child", b"x")


def test_window_geometry_round_trips(qtbot, tmp_path):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.resize(640, 480)
    preferences = UserPreferences(tmp_path / "prefs.ini")

    preferences.save_window("main_window", window)
    restored = QMainWindow()
    qtbot.addWidget(restored)

    assert UserPreferences(tmp_path / "prefs.ini").restore_window("main_window", restored)
    assert restored.size() == window.size()


def test_nothing_stored_means_nothing_restored(qtbot, tmp_path):
    window = QMainWindow()
    qtbot.addWidget(window)

    assert not UserPreferences(tmp_path / "prefs.ini").restore_window("main_window", window)


def test_foreign_keys_found_in_the_file_are_removed(tmp_path):
    path = tmp_path / "prefs.ini"
    planted = QSettings(str(path), QSettings.Format.IniFormat)
    planted.setValue("last_child/name", "Fictitious Child")
    planted.setValue("main_window/geometry", QByteArray(b"\x01\x02"))
    planted.sync()

    UserPreferences(path).sync()

    assert QSettings(str(path), QSettings.Format.IniFormat).allKeys() == ["main_window/geometry"]


def test_default_location_is_the_user_scope_ini_file(isolated_user_settings):
    preferences = UserPreferences()

    assert preferences.file_name.startswith(str(isolated_user_settings))
    assert preferences.file_name.endswith(".ini")
