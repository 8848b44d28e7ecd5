"""A private desktop for a screen-reader test, and the few AT-SPI calls Orca makes, over D-Bus.

`AccessibleDesktop` starts what a Linux desktop gives a screen reader, all private to one test: a
D-Bus session bus (whose activation starts the AT-SPI bus launcher and registry from at-spi2-core), an
X server (Xvfb, on a display it picks itself) and a fresh runtime directory, so parallel runs never
share a bus. `AtSpi` is a minimal AT-SPI client (jeepney, pure Python): walk an application's
accessible tree, read names, roles, states and "labelled by" relations, set text and press buttons
as assistive technology does, and receive the application's announcements.

`missing_pieces()` names the system programs that are absent (the test skips, or fails under CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jeepney import DBusAddress, MatchRule, Properties, message_bus, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

BUS_LAUNCHERS = ("/usr/libexec/at-spi-bus-launcher", "/usr/lib/at-spi2-core/at-spi-bus-launcher")
APT_PACKAGES = "xvfb dbus at-spi2-core libxcb-cursor0"
ACCESSIBLE = "org.a11y.atspi.Accessible"
ROOT = ("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root")
LABELLED_BY = 2  # AtspiRelationType
FOCUSABLE, SENSITIVE, SHOWING = 11, 24, 25  # AtspiStateType

Ref = tuple[str, str]  # (bus name, object path) of an accessible object


def missing_pieces() -> list[str]:
    """The programs this test needs that are not installed."""
    missing = [name for name in ("Xvfb", "dbus-daemon") if shutil.which(name) is None]
    if not any(Path(path).exists() for path in BUS_LAUNCHERS):
        missing.append("at-spi-bus-launcher")
    return missing


@dataclass
class Node:
    """One accessible object as a screen reader sees it."""

    ref: Ref
    role: str
    name: str
    states: frozenset[int]
    labelled_by: list[str]

    @property
    def focusable(self) -> bool:
        return FOCUSABLE in self.states

    @property
    def showing(self) -> bool:
        return SHOWING in self.states

    @property
    def enabled(self) -> bool:
        return SENSITIVE in self.states


class AtSpi:
    """The accessibility bus, as a screen reader uses it."""

    def __init__(self, connection: DBusConnection) -> None:
        self.connection = connection

    def _call(self, ref: Ref, interface: str, method: str, signature: str | None = None, *args: Any) -> Any:
        address = DBusAddress(ref[1], bus_name=ref[0], interface=interface)
        reply = self.connection.send_and_get_reply(
            new_method_call(address, method, signature, args), timeout=10
        )
        return reply.body

    def _property(self, ref: Ref, name: str) -> Any:
        address = DBusAddress(ref[1], bus_name=ref[0], interface=ACCESSIBLE)
        reply = self.connection.send_and_get_reply(Properties(address).get(name), timeout=10)
        return reply.body[0][1]

    def children(self, ref: Ref) -> list[Ref]:
        return [tuple(child) for child in self._call(ref, ACCESSIBLE, "GetChildren")[0]]  # type: ignore[misc]

    def node(self, ref: Ref) -> Node:
        role = self._call(ref, ACCESSIBLE, "GetRoleName")[0]
        bits = self._call(ref, ACCESSIBLE, "GetState")[0]
        states = frozenset(n for n in range(64) if (bits[n // 32] >> (n % 32)) & 1)
        relations = self._call(ref, ACCESSIBLE, "GetRelationSet")[0]
        labels = [
            self._property(tuple(target), "Name")
            for kind, targets in relations
            if kind == LABELLED_BY
            for target in targets
        ]
        return Node(ref, role, self._property(ref, "Name"), states, labels)

    def applications(self) -> list[Ref]:
        return self.children(ROOT)

    def walk(self, ref: Ref, depth: int = 0) -> Iterator[Node]:
        """Every object under `ref` that is showing (the cells of a table are not walked)."""
        node = self.node(ref)
        if depth and not node.showing:
            return
        yield node
        if node.role in ("table", "list", "tree table"):
            return
        for child in self.children(ref):
            yield from self.walk(child, depth + 1)

    def set_text(self, ref: Ref, text: str) -> None:
        self._call(ref, "org.a11y.atspi.EditableText", "SetTextContents", "s", text)

    def press(self, ref: Ref) -> None:
        self._call(ref, "org.a11y.atspi.Action", "DoAction", "i", 0)

    def listen_for_announcements(self) -> None:
        """Tell the registry a screen reader wants announcements (Qt sends them only then)."""
        registry = ("org.a11y.atspi.Registry", "/org/a11y/atspi/registry")
        self._call(
            registry, "org.a11y.atspi.Registry", "RegisterEvent", "sass", "object:announcement", [], ""
        )
        self._call(
            registry, "org.a11y.atspi.Registry", "RegisterEvent", "sass", "Object:Announcement", [], ""
        )

    @contextmanager
    def announcements(self) -> Iterator[deque[Any]]:
        """The announcements sent while inside (each a D-Bus signal; its text is `announced_text`)."""
        rule = MatchRule(type="signal", interface="org.a11y.atspi.Event.Object", member="Announcement")
        self.connection.send_and_get_reply(message_bus.AddMatch(rule), timeout=10)
        with self.connection.filter(rule, bufsize=100) as queue:
            yield queue

    def wait_for_announcement(self, queue: deque[Any], text: str, timeout: float = 15.0) -> list[str]:
        """Wait until `text` is announced; return everything announced until then."""
        heard: list[str] = []
        deadline = time.monotonic() + timeout
        while text not in heard:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"not announced: {text!r}; heard {heard}")
            message = self.connection.recv_until_filtered(queue, timeout=remaining)
            heard.append(announced_text(message.body))
        return heard


def announced_text(body: tuple[Any, ...]) -> str:
    """The text of an `Announcement` signal (its "any data" variant)."""
    variant = body[3]
    return str(variant[1] if isinstance(variant, tuple) else variant)


@dataclass
class AccessibleDesktop:
    """A private session bus, accessibility bus and X display, and the environment to run a client in."""

    env: dict[str, str]
    atspi: AtSpi
    _processes: list[subprocess.Popen[bytes]]
    _folder: tempfile.TemporaryDirectory[str]

    def close(self) -> None:
        self.atspi.connection.close()
        for process in reversed(self._processes):
            # The bus was started in its own process group; its activated services (the AT-SPI bus
            # launcher and registry) are in that group and end with it.
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._folder.cleanup()


def _first_line(process: subprocess.Popen[bytes], what: str, timeout: float = 15.0) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{what} did not start")
        line += os.read(process.stdout.fileno(), 1)
    return line.decode().strip()


def start_desktop() -> AccessibleDesktop:
    """Start the private bus and display; the caller must `close()` it."""
    folder = tempfile.TemporaryDirectory(prefix="cp-a11y-")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DBUS_", "AT_SPI", "DISPLAY", "WAYLAND", "XDG_RUNTIME", "QT_QPA"))
    }
    env.update(XDG_RUNTIME_DIR=folder.name, HOME=folder.name, XDG_CONFIG_HOME=f"{folder.name}/config")
    os.chmod(folder.name, 0o700)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        processes.append(bus)
        env["DBUS_SESSION_BUS_ADDRESS"] = _first_line(bus, "the D-Bus session bus")
        display = subprocess.Popen(
            ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        processes.append(display)
        env["DISPLAY"] = ":" + _first_line(display, "Xvfb")
        session = open_dbus_connection(bus=env["DBUS_SESSION_BUS_ADDRESS"])
        try:
            where = DBusAddress("/org/a11y/bus", bus_name="org.a11y.Bus", interface="org.a11y.Bus")
            address = session.send_and_get_reply(new_method_call(where, "GetAddress"), timeout=15).body[0]
        finally:
            session.close()
        atspi = AtSpi(open_dbus_connection(bus=address))
        atspi.listen_for_announcements()
    except BaseException:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        folder.cleanup()
        raise
    env.update(QT_QPA_PLATFORM="xcb", QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1")
    return AccessibleDesktop(env, atspi, processes, folder)
