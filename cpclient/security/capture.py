"""Keeping windows out of screenshots, screen recordings and screen sharing, where the OS allows it.

- Windows 10 2004 (build 19041) and later: ``SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE)``;
  the window is left out of captures. Older Windows: ``WDA_MONITOR``; captures show it black.
- macOS: ``NSWindow.sharingType = NSWindowSharingNone`` through the Objective-C runtime (ctypes, no
  extra dependency). Residual risk: macOS 15 and later let ScreenCaptureKit-based tools capture such
  windows anyway.
- Linux (X11 and Wayland) and offscreen: there is no such facility; any program of the same user can
  read the screen. This is a documented residual risk, mitigated by the watermark and managed desktops.

Nothing stops a camera pointed at the screen: the watermark names who was signed in and when.

Example (once, in the composition root)::

    capture_guard = install_capture_exclusion(app)   # every top-level window, dialogs included
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

WDA_MONITOR = 0x1
WDA_EXCLUDEFROMCAPTURE = 0x11
WINDOWS_10_2004_BUILD = 19041
NS_WINDOW_SHARING_NONE = 0

NOT_AVAILABLE = (
    "not available on this platform: documented residual risk (other programs of the same user can "
    "capture the screen; the watermark identifies the user on any capture)"
)

_APPLIED_PROPERTY = "cp_capture_exclusion_window"


@dataclass(frozen=True)
class CaptureExclusion:
    """What :func:`exclude_from_capture` did.

    Attributes:
        applied: True when the window is now excluded from (or blacked out in) captures.
        method: the mechanism: ``WDA_EXCLUDEFROMCAPTURE``, ``WDA_MONITOR``, ``NSWindowSharingNone``
            or ``none``.
        detail: a plain-English explanation, including the residual risk.
    """

    applied: bool
    method: str
    detail: str


def exclude_from_capture(window: QWidget) -> CaptureExclusion:
    """Ask the OS to keep the top-level ``window`` out of screen captures.

    Call it once the window has a native handle (for example when it is first shown);
    :func:`install_capture_exclusion` does that for every window.
    """
    platform = QGuiApplication.platformName()
    if sys.platform == "win32" and platform == "windows":
        return _exclude_on_windows(int(window.window().winId()))
    if sys.platform == "darwin" and platform == "cocoa":
        return _exclude_on_macos(int(window.window().winId()))
    return CaptureExclusion(False, "none", f"Screen capture exclusion is {NOT_AVAILABLE}.")


if sys.platform == "win32":  # WinDLL and getwindowsversion exist only there

    def _exclude_on_windows(hwnd: int) -> CaptureExclusion:
        from ctypes import wintypes

        user32 = ctypes.WinDLL("user32", use_last_error=True)
        set_affinity = user32.SetWindowDisplayAffinity
        set_affinity.argtypes = [wintypes.HWND, wintypes.DWORD]
        set_affinity.restype = wintypes.BOOL
        detail = ""
        if sys.getwindowsversion().build >= WINDOWS_10_2004_BUILD:
            if set_affinity(hwnd, WDA_EXCLUDEFROMCAPTURE):
                return CaptureExclusion(
                    True, "WDA_EXCLUDEFROMCAPTURE", "The window is left out of screenshots and recordings."
                )
            detail = f"WDA_EXCLUDEFROMCAPTURE failed with error {ctypes.get_last_error()}; "
        if set_affinity(hwnd, WDA_MONITOR):
            return CaptureExclusion(
                True, "WDA_MONITOR", detail + "the window appears black in screenshots and recordings."
            )
        return CaptureExclusion(
            False,
            "none",
            detail + f"SetWindowDisplayAffinity failed with error {ctypes.get_last_error()} "
            "(for example in a remote session without desktop composition): documented residual risk.",
        )


def _exclude_on_macos(view_address: int) -> CaptureExclusion:
    import ctypes.util  # here, not at import: it is slow to import and only macOS needs it

    library = ctypes.util.find_library("objc")
    if library is None:
        return CaptureExclusion(False, "none", "The Objective-C runtime was not found: residual risk.")
    objc = ctypes.CDLL(library)
    objc.sel_registerName.restype = ctypes.c_void_p
    objc.sel_registerName.argtypes = [ctypes.c_char_p]
    send_address = ctypes.cast(objc.objc_msgSend, ctypes.c_void_p).value
    if send_address is None:
        return CaptureExclusion(False, "none", "objc_msgSend was not found: residual risk.")
    # objc_msgSend must be called through a prototype matching each method (arm64 ABI).
    send_object = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(send_address)
    send_set = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong)(send_address)
    send_get = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p)(send_address)
    ns_window = send_object(view_address, objc.sel_registerName(b"window"))
    if not ns_window:
        return CaptureExclusion(False, "none", "The window has no native window yet: residual risk.")
    send_set(ns_window, objc.sel_registerName(b"setSharingType:"), NS_WINDOW_SHARING_NONE)
    if send_get(ns_window, objc.sel_registerName(b"sharingType")) != NS_WINDOW_SHARING_NONE:
        return CaptureExclusion(False, "none", "macOS did not accept NSWindowSharingNone: residual risk.")
    return CaptureExclusion(
        True,
        "NSWindowSharingNone",
        "The window is hidden from screen sharing and most capture tools (macOS 15 and later let "
        "ScreenCaptureKit tools capture it anyway: residual risk).",
    )


class CaptureExclusionGuard(QObject):
    """Applies :func:`exclude_from_capture` to every top-level window when it is shown.

    Signals:
        excluded(object): a :class:`CaptureExclusion` for each window handled.

    Attributes:
        last_result: the most recent result, or None before any window was shown.
    """

    excluded = Signal(object)

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self.last_result: CaptureExclusion | None = None
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Handle each top-level widget's Show event; never swallows anything."""
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
            handle = int(watched.winId())  # a native window exists once a top-level is being shown
            if watched.property(_APPLIED_PROPERTY) != handle:
                watched.setProperty(_APPLIED_PROPERTY, handle)
                self.last_result = exclude_from_capture(watched)
                self.excluded.emit(self.last_result)
        return False

    def uninstall(self) -> None:
        """Stop handling new windows (tests; the app keeps the guard for its lifetime)."""
        self._app.removeEventFilter(self)


def install_capture_exclusion(app: QApplication) -> CaptureExclusionGuard:
    """Exclude every top-level window (dialogs, menus and tooltips included) from capture when shown."""
    return CaptureExclusionGuard(app)
