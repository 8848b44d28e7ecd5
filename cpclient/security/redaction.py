"""Personal data removed from every log line, whether it comes from Python logging or from Qt.

Patterns always redacted: UK postcodes (the fictitious ``ZZ`` ones included), telephone numbers,
e-mail addresses, dates (dates of birth look like any other date), bearer tokens and
``token=``/``password=``/``otp=``/``secret=`` values. Besides these, any text registered at run time
with :func:`register_sensitive` (for example the names of the child now on screen) is redacted
until :func:`clear_sensitive`; the registry is bounded, oldest entries dropping out first.

:func:`install_redacting_logging` redacts every record as it is created (a log-record factory, so it
covers every logger and handler, including ones added later) and routes Qt's messages through the
same redaction into the ``qt`` Python logger. The Qt message handler that was installed before (for
example pytest-qt's, which fails tests on Qt warnings) still receives each message, redacted.

Example::

    redaction = install_redacting_logging()       # at start, before anything logs
    register_sensitive(child.given)               # when a record is shown
    register_sensitive(child.family)
    clear_sensitive()                             # when it is closed, on logout and lock
    redaction.uninstall()                         # at exit (and in tests)
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

MAX_SENSITIVE_ENTRIES = 256
MIN_SENSITIVE_LENGTH = 2

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

# Order matters: secrets first, then e-mail (which may contain digits), then dates before phones.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*"), "Bearer [token]"),
    (
        re.compile(
            r"(?i)(?P<key>[\"']?\b(?:token|access_token|password|passwd|otp|secret|authorization)"
            r"[\"']?\s*[:=]\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
        ),
        r"\g<key>[secret]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b"), "[date]"),
    (re.compile(r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"), "[date]"),
    (re.compile(rf"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+\d{{4}}\b"), "[date]"),
    (re.compile(rf"(?i)\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"), "[date]"),
    (re.compile(r"(?i)\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"), "[postcode]"),
    (
        re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s-]?(?:\(0\)\s?)?|\(?0)(?:[\s\-()]{0,2}\d){8,12}(?!\d)"),
        "[phone]",
    ),
)

_lock = threading.Lock()
_sensitive: OrderedDict[str, None] = OrderedDict()
_sensitive_pattern: re.Pattern[str] | None = None


def register_sensitive(text: str) -> None:
    """Redact ``text`` (case-insensitive, whole words) from every later log line.

    Texts shorter than two characters are ignored. At most :data:`MAX_SENSITIVE_ENTRIES` are kept;
    registering more drops the oldest.
    """
    global _sensitive_pattern  # noqa: PLW0603 - one registry for the process, guarded by _lock
    cleaned = text.strip()
    if len(cleaned) < MIN_SENSITIVE_LENGTH:
        return
    with _lock:
        _sensitive[cleaned.casefold()] = None
        _sensitive.move_to_end(cleaned.casefold())
        while len(_sensitive) > MAX_SENSITIVE_ENTRIES:
            _sensitive.popitem(last=False)
        _sensitive_pattern = _compile_sensitive()


def clear_sensitive() -> None:
    """Forget every text registered with :func:`register_sensitive`."""
    global _sensitive_pattern  # noqa: PLW0603 - see register_sensitive
    with _lock:
        _sensitive.clear()
        _sensitive_pattern = None


def _compile_sensitive() -> re.Pattern[str] | None:
    if not _sensitive:
        return None
    alternatives = "|".join(re.escape(text) for text in sorted(_sensitive, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def redact(text: str) -> str:
    """Return ``text`` with personal data patterns and registered texts replaced by placeholders."""
    pattern = _sensitive_pattern
    if pattern is not None:
        text = pattern.sub("[redacted]", text)
    for compiled, replacement in _PATTERNS:
        text = compiled.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts a record in place (message, arguments, exception, stack).

    :func:`install_redacting_logging` applies it to every record; it can also be added to a handler.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` and let it through."""
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Format and redact ``record``'s message, exception and stack text in place."""
    if getattr(record, "_cp_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the line: keep its text, redacted
        message = f"{record.msg!s} {record.args!r}"
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.exc_info = None  # so no formatter can format the raw exception again
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._cp_redacted = True


_QtHandler = Callable[[QtMsgType, QMessageLogContext, str], None]

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


class RedactingLogging:
    """The installed redaction; :meth:`uninstall` restores what was there before."""

    def __init__(self) -> None:
        self._previous_factory: Callable[..., logging.LogRecord] | None = None
        self._factory: Callable[..., logging.LogRecord] | None = None
        self._previous_qt_handler: _QtHandler | None = None
        self._qt_logger = logging.getLogger("qt")
        self.installed = False

    def install(self) -> None:
        """Install the record factory and the Qt message handler (done by install_redacting_logging)."""
        if self.installed:
            return
        previous_factory = logging.getLogRecordFactory()

        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous_factory(*args, **kwargs)
            redact_record(record)
            return record

        self._previous_factory = previous_factory
        self._factory = redacting_factory
        logging.setLogRecordFactory(redacting_factory)
        self._previous_qt_handler = cast("_QtHandler | None", qInstallMessageHandler(self._handle_qt_message))
        self.installed = True

    def uninstall(self) -> None:
        """Restore the previous log-record factory and Qt message handler."""
        if not self.installed:
            return
        if self._previous_factory is not None and logging.getLogRecordFactory() is self._factory:
            logging.setLogRecordFactory(self._previous_factory)
        current = qInstallMessageHandler(self._previous_qt_handler)
        if current != self._handle_qt_message:
            # Someone installed their own handler after ours (pytest-qt does, per test): keep theirs.
            qInstallMessageHandler(current)
        self.installed = False
        global _installed  # noqa: PLW0603 - the one installation of the process
        if _installed is self:
            _installed = None

    def _handle_qt_message(self, kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        redacted = redact(message)
        category = context.category if context is not None and context.category else "default"
        self._qt_logger.log(_QT_LEVELS.get(kind, logging.WARNING), "%s: %s", category, redacted)
        if self._previous_qt_handler is not None:
            self._previous_qt_handler(kind, context, redacted)


_installed: RedactingLogging | None = None


def install_redacting_logging() -> RedactingLogging:
    """Redact every Python log record and route Qt messages, redacted, into the ``qt`` logger.

    Installing twice returns the installation already in place.
    """
    global _installed  # noqa: PLW0603 - the one installation of the process
    if _installed is None or not _installed.installed:
        _installed = RedactingLogging()
        _installed.install()
    return _installed


def uninstall_redacting_logging() -> None:
    """Undo :func:`install_redacting_logging` (no effect if it is not installed)."""
    if _installed is not None:
        _installed.uninstall()
