"""Nothing leaves the screen: no printing, copying, saving, dragging or context menus on record data.

Two pieces, used together:

- :func:`install_application_lockdown` (once, in the composition root) installs an application-wide
  event filter and a clipboard watcher. It swallows print shortcuts anywhere; copy, cut and save
  shortcuts inside record data; context menus inside record data; and it clears any clipboard or X11
  primary-selection content this application owns, the moment it appears and again on quit. Each
  refusal is announced through :attr:`ApplicationLockdown.blocked` so the UI can tell the user.
- :func:`mark_record_data` (for every widget that shows a child's details) marks a widget and all its
  current and future children: no context menu, no drag, no text selection by mouse.

It also refuses any import of ``PySide6.QtPrintSupport`` while installed.

Example::

    lockdown = install_application_lockdown(app)
    lockdown.blocked.connect(status_bar.showMessage)
    ...
    mark_record_data(record_view)        # the record view and everything later added inside it
    ...
    lockdown.clear_clipboard()           # on logout and lock (quit is handled automatically)

Screen-capture exclusion lives in :mod:`cpclient.security.capture`; its interface is re-exported here.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from PySide6.QtCore import QChildEvent, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QClipboard, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from cpclient.security.capture import (
    CaptureExclusion,
    CaptureExclusionGuard,
    exclude_from_capture,
    install_capture_exclusion,
)

__all__ = [
    "COPYING_BLOCKED",
    "PRINTING_BLOCKED",
    "SAVING_BLOCKED",
    "ApplicationLockdown",
    "CaptureExclusion",
    "CaptureExclusionGuard",
    "exclude_from_capture",
    "install_application_lockdown",
    "install_capture_exclusion",
    "is_record_data",
    "mark_record_data",
]

RECORD_DATA_PROPERTY = "cp_record_data"
PRINTING_BLOCKED = "Printing is not allowed."
COPYING_BLOCKED = "Copying record details is not allowed."
SAVING_BLOCKED = "Saving is not allowed."
CLIPBOARD_CLEARED = "Copying from ContactPoint is not allowed."

_SELECTION_FLAGS = (
    Qt.TextInteractionFlag.TextSelectableByMouse
    | Qt.TextInteractionFlag.TextSelectableByKeyboard
    | Qt.TextInteractionFlag.TextEditable
)
# Platforms whose clipboard lives inside this process (QPlatformClipboard's default), which report
# ownsClipboard() == False although nothing but this application can have set it.
_IN_PROCESS_CLIPBOARD_PLATFORMS = frozenset(
    {"offscreen", "minimal", "minimalegl", "linuxfb", "eglfs", "vnc", "vkkhrdisplay"}
)
_KEYPAD = Qt.KeyboardModifier.KeypadModifier
_CTRL = Qt.KeyboardModifier.ControlModifier
_SHIFT = Qt.KeyboardModifier.ShiftModifier
_ALT = Qt.KeyboardModifier.AltModifier


def is_record_data(obj: QObject | None) -> bool:
    """Return True when ``obj`` is a widget marked as record data, or inside one."""
    widget = obj if isinstance(obj, QWidget) else None
    while widget is not None:
        if widget.property(RECORD_DATA_PROPERTY):
            return True
        widget = widget.parentWidget()
    return False


def mark_record_data(widget: QWidget) -> None:
    """Mark ``widget`` and all its current and future children as record data.

    Each marked widget gets:

    - the dynamic property ``cp_record_data=True``, which the application lockdown checks (walking up
      the parents) before refusing copy, cut, save and context menus;
    - ``Qt.PreventContextMenu``: unlike ``Qt.NoContextMenu``, which passes the request on to the
      parent (which might offer its own menu), this stops it at the widget, so no menu can appear;
    - no drag: item views get ``setDragEnabled(False)`` and ``NoDragDrop``, line edits
      ``setDragEnabled(False)``;
    - labels and text views lose selection by mouse and keyboard but keep link activation. A label
      that was selectable (a value the screen meant to be read) stays reachable with Tab
      (``Qt.TabFocus``), so a screen reader still announces it; mouse selection, which is what feeds
      the clipboard, the X11 primary selection and drag-and-drop, is gone.

    Children added later are marked when Qt polishes them (before they are first shown), and the
    settings are enforced again whenever a marked widget is pressed, so code that re-enables dragging
    after marking gains nothing.
    """
    guard = _RecordDataGuard(widget)
    for each in [widget, *widget.findChildren(QWidget)]:
        _lock_widget(each)
        each.installEventFilter(guard)


def _lock_widget(widget: QWidget) -> None:
    """Apply the record-data restrictions to one widget (idempotent)."""
    widget.setProperty(RECORD_DATA_PROPERTY, True)
    if widget.contextMenuPolicy() != Qt.ContextMenuPolicy.PreventContextMenu:
        widget.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
    if isinstance(widget, QAbstractItemView):
        widget.setDragEnabled(False)
        widget.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
    elif isinstance(widget, QLineEdit):
        widget.setDragEnabled(False)
    elif isinstance(widget, QLabel):
        flags = widget.textInteractionFlags()
        if flags & _SELECTION_FLAGS:
            widget.setTextInteractionFlags(flags & ~_SELECTION_FLAGS)
            if widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
                widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    elif isinstance(widget, QTextEdit | QPlainTextEdit):
        flags = widget.textInteractionFlags()
        if flags & _SELECTION_FLAGS:
            widget.setTextInteractionFlags(flags & ~_SELECTION_FLAGS)


class _RecordDataGuard(QObject):
    """Marks children of marked widgets as Qt polishes them; one guard per marked tree."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ChildPolished and isinstance(event, QChildEvent):
            child = event.child()
            if isinstance(child, QWidget):
                _lock_widget(child)
                child.installEventFilter(self)
        return False


class ApplicationLockdown(QObject):
    """The application-wide refusals. Create it with :func:`install_application_lockdown`.

    Signals:
        blocked(str): a user action was refused; the argument is a message to show the user
            (:data:`PRINTING_BLOCKED`, :data:`COPYING_BLOCKED`, :data:`SAVING_BLOCKED` or
            :data:`CLIPBOARD_CLEARED`).
    """

    blocked = Signal(str)

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self._installed = True
        self._clearing = False
        self._clipboard = QGuiApplication.clipboard()
        app.installEventFilter(self)
        self._clipboard.dataChanged.connect(self._clipboard_changed)
        self._clipboard.selectionChanged.connect(self._selection_changed)
        self._clipboard.findBufferChanged.connect(self._find_buffer_changed)
        app.aboutToQuit.connect(self.clear_clipboard)
        _install_print_support_guard()
        self._clear_owned(announce=False)

    def uninstall(self) -> None:
        """Remove the filter, the clipboard watcher and the import guard (for tests)."""
        if not self._installed:
            return
        self._installed = False
        self._app.removeEventFilter(self)
        self._clipboard.dataChanged.disconnect(self._clipboard_changed)
        self._clipboard.selectionChanged.disconnect(self._selection_changed)
        self._clipboard.findBufferChanged.disconnect(self._find_buffer_changed)
        self._app.aboutToQuit.disconnect(self.clear_clipboard)
        _remove_print_support_guard()

    def clear_clipboard(self) -> None:
        """Empty the clipboard and primary selection if they hold this application's data.

        Call on logout and lock; quitting the application calls it automatically. Data other
        applications put on the clipboard is left alone.
        """
        self._clear_owned(announce=False)

    # -- events ---------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Swallow refused shortcuts and context menus; re-lock marked widgets on mouse press."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            if isinstance(event, QKeyEvent) and isinstance(watched, QWidget):
                return self._filter_key(watched, event)
        elif kind == QEvent.Type.ContextMenu:
            if is_record_data(watched):
                event.accept()
                return True
        elif kind == QEvent.Type.MouseButtonPress and is_record_data(watched):
            # Enforce again before any drag can start, even if someone re-enabled dragging.
            widget = watched if isinstance(watched, QWidget) else None
            while widget is not None and widget.property(RECORD_DATA_PROPERTY):
                _lock_widget(widget)
                widget = widget.parentWidget()
        return False

    def _filter_key(self, watched: QWidget, event: QKeyEvent) -> bool:
        message = _refusal_for(event, in_record_data=is_record_data(watched))
        if message is None:
            return False
        # Accepting the ShortcutOverride keeps any QAction/QShortcut bound to the keys from firing;
        # the KeyPress that follows is then swallowed here too, and announced once.
        event.accept()
        if event.type() == QEvent.Type.KeyPress and not event.isAutoRepeat():
            self.blocked.emit(message)
        return True

    # -- clipboard ------------------------------------------------------------------------------

    def _clipboard_changed(self) -> None:
        self._clear_if_owned(QClipboard.Mode.Clipboard, announce=True)

    def _selection_changed(self) -> None:
        self._clear_if_owned(QClipboard.Mode.Selection, announce=False)

    def _find_buffer_changed(self) -> None:
        self._clear_if_owned(QClipboard.Mode.FindBuffer, announce=False)

    def _clear_owned(self, *, announce: bool) -> None:
        for mode in QClipboard.Mode:
            self._clear_if_owned(mode, announce=announce)

    def _clear_if_owned(self, mode: QClipboard.Mode, *, announce: bool) -> None:
        if self._clearing or not self._owns(mode):
            return
        data = self._clipboard.mimeData(mode)
        if data is None or not data.formats():
            return
        self._clearing = True
        try:
            self._clipboard.clear(mode)
        finally:
            self._clearing = False
        if announce:
            self.blocked.emit(CLIPBOARD_CLEARED)

    def _owns(self, mode: QClipboard.Mode) -> bool:
        clipboard = self._clipboard
        supported = {
            QClipboard.Mode.Clipboard: True,
            QClipboard.Mode.Selection: clipboard.supportsSelection(),
            QClipboard.Mode.FindBuffer: clipboard.supportsFindBuffer(),
        }[mode]
        if not supported:
            return False
        if QGuiApplication.platformName() in _IN_PROCESS_CLIPBOARD_PLATFORMS:
            return True
        owns = {
            QClipboard.Mode.Clipboard: clipboard.ownsClipboard,
            QClipboard.Mode.Selection: clipboard.ownsSelection,
            QClipboard.Mode.FindBuffer: clipboard.ownsFindBuffer,
        }[mode]
        return owns()


def install_application_lockdown(app: QApplication) -> ApplicationLockdown:
    """Install the application-wide refusals and clipboard watcher; keep the returned object.

    Args:
        app: the application; the lockdown is its child and lives as long as it does.
    """
    return ApplicationLockdown(app)


def _refusal_for(event: QKeyEvent, *, in_record_data: bool) -> str | None:
    """Return the refusal message for a key event, or None when it is allowed."""
    combination = event.keyCombination()
    key = combination.key()
    modifiers = combination.keyboardModifiers() & ~_KEYPAD
    ctrl = bool(modifiers & _CTRL) and not modifiers & _ALT
    if event.matches(QKeySequence.StandardKey.Print) or (ctrl and key == Qt.Key.Key_P):
        return PRINTING_BLOCKED
    if not in_record_data:
        return None
    if (
        event.matches(QKeySequence.StandardKey.Copy)
        or event.matches(QKeySequence.StandardKey.Cut)
        or (ctrl and key in (Qt.Key.Key_C, Qt.Key.Key_X, Qt.Key.Key_Insert))
        or (modifiers == _SHIFT and key == Qt.Key.Key_Delete)
        or key in (Qt.Key.Key_Copy, Qt.Key.Key_Cut)
    ):
        return COPYING_BLOCKED
    if (
        event.matches(QKeySequence.StandardKey.Save)
        or event.matches(QKeySequence.StandardKey.SaveAs)
        or (ctrl and key == Qt.Key.Key_S)
        or key == Qt.Key.Key_Save
    ):
        return SAVING_BLOCKED
    return None


# -- refusing QtPrintSupport ------------------------------------------------------------------------

_PRINT_SUPPORT = "PySide6.QtPrintSupport"


class _RefusePrintSupport(importlib.abc.MetaPathFinder):
    """An import hook that makes ``import PySide6.QtPrintSupport`` fail while the lockdown is on."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == _PRINT_SUPPORT:
            raise ImportError("Printing is not allowed in ContactPoint: QtPrintSupport is refused.")
        return None


def _install_print_support_guard() -> None:
    if not any(isinstance(finder, _RefusePrintSupport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RefusePrintSupport())


def _remove_print_support_guard() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _RefusePrintSupport)]
