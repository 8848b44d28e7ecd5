"""A signal after a period without user input, so the UI can hide record data and lock.

Input means a key press, mouse button, mouse movement, wheel or touch event that came from the
window system (``event.spontaneous()``) to any widget of this application; events the program sends
itself do not count, so nothing but a person can keep a session open.

Example::

    idle = IdleMonitor(policy.idle_timeout_seconds or meta.idle_timeout_seconds, parent=main_window)
    idle.idle.connect(main_window.lock)          # hide record data, show the lock screen
    idle.start()
    ...
    idle.start()                                 # again after the user has unlocked
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TouchEnd,
        QEvent.Type.TabletPress,
        QEvent.Type.TabletMove,
    }
)


class IdleMonitor(QObject):
    """Emits :attr:`idle` once when no user input arrived for ``timeout_seconds``, then stops.

    Args:
        timeout_seconds: seconds without input before :attr:`idle` (fractions allowed; must be > 0).
        parent: the owning object.

    Signals:
        idle(): the timeout passed without input. The monitor is then stopped; call :meth:`start`
            again once the user has unlocked.
    """

    idle = Signal()

    def __init__(self, timeout_seconds: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timeout_ms = self._to_ms(timeout_seconds)
        self._since_input = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._check)
        self._filtering = False

    @property
    def timeout_seconds(self) -> float:
        """The current timeout."""
        return self._timeout_ms / 1000

    def is_running(self) -> bool:
        """Return True between :meth:`start` and :meth:`stop` (or the :attr:`idle` signal)."""
        return self._timer.isActive()

    def start(self) -> None:
        """Start (or restart) watching; the timeout counts from now."""
        app = QApplication.instance()
        if app is not None and not self._filtering:
            app.installEventFilter(self)
            self._filtering = True
        self._since_input.start()
        self._timer.start(self._timeout_ms)

    def stop(self) -> None:
        """Stop watching; :attr:`idle` will not be emitted until :meth:`start`."""
        self._timer.stop()
        app = QApplication.instance()
        if app is not None and self._filtering:
            app.removeEventFilter(self)
        self._filtering = False

    def reset(self) -> None:
        """Count the timeout from now, as if the user had just acted (no effect when stopped)."""
        if self._timer.isActive():
            self._since_input.restart()

    def set_timeout(self, seconds: float) -> None:
        """Change the timeout; a running monitor counts the new timeout from the last input."""
        self._timeout_ms = self._to_ms(seconds)
        if self._timer.isActive():
            self._timer.start(max(0, self._timeout_ms - self._since_input.elapsed()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Note the time of every user input; never swallows anything."""
        if event.type() in _INPUT_EVENTS and event.spontaneous():
            self._since_input.restart()
        return False

    def _check(self) -> None:
        remaining = self._timeout_ms - self._since_input.elapsed()
        if remaining > 0:
            # Input arrived meanwhile: wait for the rest. Restarting the timer on every mouse move
            # would cost more than this one check per timeout.
            self._timer.start(remaining)
            return
        self.stop()
        self.idle.emit()

    @staticmethod
    def _to_ms(seconds: float) -> int:
        if seconds <= 0:
            raise ValueError("The idle timeout must be more than zero seconds.")
        return max(1, round(seconds * 1000))
