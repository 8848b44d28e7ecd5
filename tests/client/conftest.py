"""Client test fixtures: a real cpserver on a fictitious training database, the qasync loop, the main window.

The server is the same embedded training server `cpclient --training` uses (uvicorn in a thread on a
free loopback port, a migrated SQLite file seeded with `training=True`), with fewer children. It is
shared by the session; `server` resets what a test's sign-ins change (used one-time codes, throttle
counters) so tests stay independent. A tiny `fake_server` serves canned answers (garbage, 5xx,
truncated, huge) for the failure tests.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import Engine, text

from cpclient.api.client import ContactPointClient
from cpclient.api.transport import Transport
from cpclient.security.lockdown import ApplicationLockdown, install_application_lockdown
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_accounts, demo_code
from cpclient.training.embedded_server import EmbeddedTrainingServer
from cpclient.training.scenarios import training_scenarios
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.main_window import MainWindow
from cpclient.ui.training_help import TrainingKit

TEST_CHILDREN = 300
WORKSTATION = "WS-0123456789ABCDEF"


class Delay:
    """ASGI middleware that sleeps before answering API calls (not `GET /meta`) while `seconds` > 0."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.seconds > 0 and not scope["path"].endswith("/meta"):
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


@dataclass
class ServerHandle:
    """The running test server: its URL, its database, and a switch to slow it down."""

    url: str
    engine: Engine
    delay: Delay
    server: EmbeddedTrainingServer

    def allow_new_sign_in(self) -> None:
        """Forget used one-time codes and failed-login counters (each code works once, by design)."""
        with self.engine.begin() as db:
            db.execute(text("UPDATE users SET totp_last_step = 0"))
            db.execute(text("DELETE FROM login_throttles"))

    def scalar(self, sql: str, **params: Any) -> Any:
        """One value from the training database."""
        with self.engine.connect() as db:
            return db.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows from the training database."""
        with self.engine.connect() as db:
            return list(db.execute(text(sql), params))

    def views_by(self, username: str) -> int:
        """How many record views the audit trail holds for `username`."""
        return int(
            self.scalar(
                "SELECT count(*) FROM audit_events WHERE action = 'view' AND username = :u", u=username
            )
        )


@pytest.fixture(scope="session")
def training_server() -> Iterator[ServerHandle]:
    """A real cpserver for the whole session (fictitious training data, 300 children)."""
    yield from started_training_server()


def started_training_server() -> Iterator[ServerHandle]:
    """A real embedded training server, closed when the generator ends: for a test module whose
    decisions change the training data (a merge, a new child) to have its own, as a fixture that
    overrides `training_server`, so the other modules still find the children they expect."""
    holder: dict[str, Delay] = {}

    def wrap(app: Any) -> Any:
        holder["delay"] = Delay(app)
        return holder["delay"]

    server = EmbeddedTrainingServer(children=TEST_CHILDREN, wrap_app=wrap)
    server.start()
    yield ServerHandle(server.url, server.engine, holder["delay"], server)
    server.close()


@pytest.fixture
def server(training_server: ServerHandle) -> Iterator[ServerHandle]:
    """The session's server, with sign-in state reset before and the delay switched off after."""
    training_server.allow_new_sign_in()
    yield training_server
    training_server.delay.seconds = 0.0


@pytest.fixture(scope="session")
def qasync_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """asyncio on the Qt event loop; qtbot's waits drive it, as `qasync.run` does in the app."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)


@pytest.fixture
def lockdown(qapp: QApplication) -> Iterator[ApplicationLockdown]:
    """The application lockdown, removed again after the test."""
    installed = install_application_lockdown(qapp)
    yield installed
    installed.uninstall()


def training_kit() -> TrainingKit:
    """The demo accounts and scenarios, without an embedded server (the tests share one)."""
    return TrainingKit(
        accounts=demo_accounts(),
        password=DEMO_PASSWORD,
        code=demo_code,
        scenarios=training_scenarios(),
    )


@dataclass
class WindowFactory:
    """Builds main windows on a server and shuts them down after the test."""

    qtbot: Any
    made: list[MainWindow] = field(default_factory=list)

    def __call__(
        self,
        url: str,
        *,
        training: bool = True,
        lockdown: ApplicationLockdown | None = None,
        policy_idle_seconds: int | None = None,
        wait_ready: bool = True,
        kit: TrainingKit | None = None,
    ) -> MainWindow:
        window = MainWindow(
            ContactPointClient(Transport(url, read_timeout=10.0, total_timeout=20.0)),
            BackgroundCalls(),
            WORKSTATION,
            ClientMode(training=training),
            policy_idle_seconds=policy_idle_seconds,
            lockdown=lockdown,
            training=(kit or training_kit()) if training else None,
        )
        self.made.append(window)
        window.show()
        self.qtbot.waitExposed(window)
        window.activateWindow()
        window.start()
        if wait_ready:
            self.qtbot.waitUntil(window.login.sign_in_button.isEnabled, timeout=10_000)
        return window

    def shut_all(self) -> None:
        for window in self.made:
            task = window.calls.start(window.shutdown())
            self.qtbot.waitUntil(task.done, timeout=10_000)
            window.close()
            window.deleteLater()
        self.made.clear()


@pytest.fixture
def make_window(qtbot: Any, qasync_loop: qasync.QEventLoop) -> Iterator[WindowFactory]:
    """`make_window(url, ...)`: a shown main window whose server check has finished."""
    factory = WindowFactory(qtbot)
    yield factory
    factory.shut_all()


# --- driving the UI ----------------------------------------------------------------------------------


def focused() -> QWidget:
    """The widget with keyboard focus."""
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has keyboard focus"
    return widget


def type_text(qtbot: Any, text_to_type: str) -> None:
    """Type into whatever has focus."""
    qtbot.keyClicks(focused(), text_to_type)


def press(qtbot: Any, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press a key on whatever has focus."""
    qtbot.keyClick(focused(), key, modifier)


def sign_in(qtbot: Any, window: MainWindow, username: str = "demo.practitioner") -> None:
    """Fill the sign-in form (demo password and the current code) and wait until signed in."""
    window.login.username.setText(username)
    window.login.password.setText(DEMO_PASSWORD)
    window.login.otp.setText(demo_code())
    window.login.sign_in_button.click()
    qtbot.waitUntil(lambda: window.signed_in, timeout=10_000)


def search_for(qtbot: Any, window: MainWindow, scenario: str) -> None:
    """Run a training scenario's search and wait for its results."""
    chosen = next(item for item in training_scenarios() if item.name == scenario)
    window.search.fill(chosen.criteria)
    window.search.submit()
    qtbot.waitUntil(
        lambda: not window.search.searching and window.search.model.rowCount() > 0, timeout=10_000
    )


def open_first_result(qtbot: Any, window: MainWindow, reason_index: int = 2) -> None:
    """Open the first result through the reason dialog, choosing reason `reason_index`."""
    window.search.table.selectRow(0)
    window.search.open_button.click()
    qtbot.waitUntil(lambda: window.opener.dialog is not None and window.opener.dialog.isVisible())
    dialog = window.opener.dialog
    assert dialog is not None
    dialog.buttons[reason_index].click()
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: window.record_view.record is not None, timeout=10_000)


def all_widget_texts(root: QWidget) -> list[str]:
    """Every text a person or assistive technology could get from `root` and its children."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QPlainTextEdit,
        QTextEdit,
    )

    found: list[str] = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        found += [
            widget.accessibleName(),
            widget.accessibleDescription(),
            widget.toolTip(),
            widget.windowTitle(),
        ]
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            found.append(widget.text())
        if isinstance(widget, QGroupBox):
            found.append(widget.title())
        if isinstance(widget, QPlainTextEdit):
            found.append(widget.toPlainText())
        if isinstance(widget, QTextEdit):
            found.append(widget.toPlainText())
        if isinstance(widget, QComboBox):
            found += [widget.itemText(index) for index in range(widget.count())]
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for row in range(model.rowCount()):
                for column in range(model.columnCount()):
                    index = model.index(row, column)
                    for role in (
                        Qt.ItemDataRole.DisplayRole,
                        Qt.ItemDataRole.ToolTipRole,
                        Qt.ItemDataRole.AccessibleTextRole,
                    ):
                        value = model.data(index, role)
                        if value:
                            found.append(str(value))
    return [item for item in found if item]


# --- a fake server for failures ----------------------------------------------------------------------


@dataclass
class Canned:
    """One canned answer: status, headers, body; `truncate` sends less than Content-Length says."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    truncate: bool = False
    chunked_forever: bool = False
    delay: float = 0.0


@dataclass
class FakeServer:
    """A loopback HTTP server answering each path with a canned answer."""

    url: str
    answers: dict[str, Canned]
    requests: list[tuple[str, str]]

    def answer(self, method: str, path: str, canned: Canned) -> None:
        self.answers[f"{method} {path}"] = canned

    def answer_json(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.answer(method, path, Canned(status, json.dumps(body).encode()))


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A fake server; answer anything not set with 404."""
    answers: dict[str, Canned] = {}
    seen: list[tuple[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            return

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            key = f"{self.command} {self.path}"
            seen.append((self.command, self.path))
            canned = answers.get(
                key, Canned(404, b'{"error": {"code": "not_found", "message": "Nothing here."}}')
            )
            if canned.delay:
                time.sleep(canned.delay)
            self.send_response(canned.status)
            for name, value in canned.headers.items():
                self.send_header(name, value)
            if canned.chunked_forever:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 65536
                try:
                    for _ in range(200):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    pass
                self.close_connection = True
                return
            declared = len(canned.body) * (2 if canned.truncate else 1)
            self.send_header("Content-Length", str(declared))
            self.end_headers()
            self.wfile.write(canned.body)
            if canned.truncate:
                self.wfile.flush()
                self.close_connection = True

        do_GET = do_POST = do_DELETE = _handle  # noqa: N815 (http.server's names)

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # the client hanging up on a huge answer is the point of some tests

    httpd = Quiet(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield FakeServer(f"http://127.0.0.1:{httpd.server_address[1]}", answers, seen)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def real_meta(training_server: ServerHandle) -> dict[str, Any]:
    """A real `GET /meta` body (for the fake server to hand out)."""
    import requests

    return dict(requests.get(training_server.url + "/api/v1/meta", timeout=10).json())


def wait_ms(started: float) -> float:
    """Milliseconds since `started` (a perf_counter value)."""
    return (time.perf_counter() - started) * 1000


EventCheck = Callable[[], bool]
