"""Screen-capture exclusion: applied where the OS allows, an honest explanation elsewhere."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QDialog, QWidget

from cpclient.security.lockdown import CaptureExclusion, exclude_from_capture, install_capture_exclusion

pytestmark = pytest.mark.skipif(
    sys.platform in ("win32", "darwin"), reason="checks the platforms without capture exclusion"
)


def test_capture_exclusion_is_not_available_here_and_says_why(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.show()

    result = exclude_from_capture(window)

    assert result == CaptureExclusion(False, "none", result.detail)
    assert "not available on this platform: documented residual risk" in result.detail


def test_every_window_is_handled_when_first_shown(qtbot, qapp):
    guard = install_capture_exclusion(qapp)
    try:
        dialog = QDialog()
        qtbot.addWidget(dialog)
        with qtbot.waitSignal(guard.excluded) as blocker:
            dialog.show()
        assert blocker.args[0].applied is False
        assert guard.last_result == blocker.args[0]

        dialog.hide()
        with qtbot.assertNotEmitted(guard.excluded, wait=0):
            dialog.show()  # the same native window: handled once
    finally:
        guard.uninstall()
