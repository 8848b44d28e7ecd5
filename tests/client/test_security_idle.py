"""The idle monitor: a signal after a quiet spell, none while the user is active."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLineEdit

from cpclient.security.idle import IdleMonitor


@pytest.fixture
def monitor(qapp):
    idle = IdleMonitor(0.2)
    yield idle
    idle.stop()
    idle.deleteLater()


@pytest.fixture
def field(qtbot):
    widget = QLineEdit()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_idle_fires_after_the_timeout_without_input(qtbot, monitor):
    with qtbot.waitSignal(monitor.idle, timeout=3000):
        monitor.start()

    assert not monitor.is_running()


def test_idle_does_not_fire_while_input_arrives(qtbot, monitor, field):
    typing = QTimer()
    typing.setInterval(50)
    typing.timeout.connect(lambda: qtbot.keyClick(field, Qt.Key.Key_A))
    typing.start()
    monitor.start()

    with qtbot.assertNotEmitted(monitor.idle, wait=700):
        pass

    typing.stop()
    with qtbot.waitSignal(monitor.idle, timeout=3000):
        pass


def test_programmatic_events_do_not_keep_the_session_open(qtbot, monitor, field):
    typing = QTimer()
    typing.setInterval(30)
    typing.timeout.connect(lambda: field.setText(field.text() + "a"))
    typing.start()
    try:
        with qtbot.waitSignal(monitor.idle, timeout=3000):
            monitor.start()
    finally:
        typing.stop()


def test_stop_prevents_idle_and_start_rearms(qtbot, monitor):
    monitor.start()
    monitor.stop()

    with qtbot.assertNotEmitted(monitor.idle, wait=400):
        pass
    with qtbot.waitSignal(monitor.idle, timeout=3000):
        monitor.start()


def test_reset_and_set_timeout(qtbot, monitor):
    monitor.set_timeout(60)
    monitor.start()
    assert monitor.timeout_seconds == 60
    monitor.reset()

    with qtbot.waitSignal(monitor.idle, timeout=3000):
        monitor.set_timeout(0.1)


def test_timeout_must_be_positive():
    with pytest.raises(ValueError, match="more than zero"):
        IdleMonitor(0)
