"""The composition root: `cpclient [--server URL] [--training]` builds the application and runs it.

Order of start-up: Qt application, redacting logging, managed policy, which server (policy wins
over `--server`; training uses the embedded server unless `--server` names a training server),
workstation identifier from the keyring, lockdown and capture exclusion, then the main window on the
qasync event loop. Every problem a person can meet here is shown in a message box, not a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cpclient.api.client import ContactPointClient
from cpclient.api.server_url import UnsafeServerUrl
from cpclient.api.transport import Transport
from cpclient.security.lockdown import (
    ApplicationLockdown,
    CaptureExclusion,
    install_application_lockdown,
    install_capture_exclusion,
)
from cpclient.security.policy import ManagedPolicy, PolicyError, load_policy
from cpclient.security.preferences import UserPreferences
from cpclient.security.redaction import install_redacting_logging
from cpclient.security.workstation import (
    KeyringSecretStore,
    KeyringUnavailable,
    MemorySecretStore,
    workstation_id,
)
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_accounts, demo_code
from cpclient.training.embedded_server import EmbeddedTrainingServer
from cpclient.training.scenarios import training_scenarios
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import APP_NAME, ClientMode
from cpclient.ui.main_window import MainWindow
from cpclient.ui.training_help import TrainingKit

log = logging.getLogger("cpclient")

NO_SERVER = (
    "No ContactPoint server is set for this computer. Your IT service desk sets it in the managed "
    "policy; or start cpclient with --server https://… . To practise on fictitious data, start it with "
    "--training."
)
TRAINING_NOT_ALLOWED = (
    "Training mode is switched off on this computer by its managed policy. Ask your IT service desk or "
    "your trainer for a computer set up for training."
)


class StartupProblem(Exception):
    """Something stops the client starting; the message is written for the person."""


@dataclass(frozen=True)
class Plan:
    """What to start: the server address (None for the embedded training server) and the mode."""

    server_url: str | None
    training: bool
    ca_bundle: str | None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog=APP_NAME, description="ContactPoint desktop client.")
    parser.add_argument("--server", metavar="URL", help="the ContactPoint server (https://…)")
    parser.add_argument(
        "--training",
        action="store_true",
        help="training mode: fictitious data on an embedded training server (or on --server, "
        "which must be a training server)",
    )
    return parser.parse_args(argv)


def plan_start(args: argparse.Namespace, policy: ManagedPolicy) -> Plan:
    """Decide the server and mode from the command line and the managed policy.

    Raises:
        StartupProblem: training refused by policy, or no server known.
    """
    if args.training:
        if not policy.training_allowed:
            raise StartupProblem(TRAINING_NOT_ALLOWED)
        # The policy's server is the live one: training never uses it.
        return Plan(
            server_url=args.server, training=True, ca_bundle=policy.ca_bundle if args.server else None
        )
    server = policy.server_url or args.server
    if not server:
        raise StartupProblem(NO_SERVER)
    return Plan(server_url=server, training=False, ca_bundle=policy.ca_bundle)


def safe_excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """Log an unexpected error by type and place only: its message could hold personal data."""
    frames = traceback.extract_tb(tb)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown place"
    log.error("unexpected %s at %s", kind.__name__, where)


def show_problem(message: str, mode: ClientMode) -> None:
    """A message box for a problem found before the main window exists."""
    box = QMessageBox(QMessageBox.Icon.Critical, mode.title("Cannot start"), message)
    box.setAccessibleName("ContactPoint cannot start")
    box.exec()


def training_kit(server: EmbeddedTrainingServer | None) -> TrainingKit:
    """Training mode's demo accounts, scenarios and embedded server (None when --server is given)."""
    return TrainingKit(
        accounts=demo_accounts(),
        password=DEMO_PASSWORD,
        code=demo_code,
        scenarios=training_scenarios(),
        server=server,
    )


async def run_window(window: MainWindow) -> None:
    """Show the window, connect, and wait until it is closed; then sign out and stop."""
    closed = asyncio.get_running_loop().create_future()

    def finish() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closed.connect(finish)
    window.show()
    window.start()
    await closed
    await window.shutdown()


def log_capture_exclusion(result: CaptureExclusion) -> None:
    """Record once per window whether the OS keeps it out of screen captures (no personal data)."""
    state = "applied" if result.applied else "not available"
    log.info("screen-capture exclusion: %s (%s)", state, result.method)


def stop_on_signals(window: MainWindow) -> None:
    """Close the window (signing out and deleting training data) on Ctrl+C or a polite kill."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: window.close())
    # Python runs signal handlers only when it gets control; a slow timer gives it the chance.
    ticker = QTimer(window)
    ticker.timeout.connect(lambda: None)
    ticker.start(500)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client; the exit status is 0 on a normal close."""
    args = parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_NAME])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setQuitOnLastWindowClosed(False)
    install_redacting_logging()
    sys.excepthook = safe_excepthook
    mode = ClientMode(training=bool(args.training))

    try:
        policy = load_policy()
        plan = plan_start(args, policy)
        mode = ClientMode(training=plan.training)
        if plan.training:
            # Training needs no enrolment: nothing real is reachable from it.
            workstation = workstation_id(MemorySecretStore())
        else:
            workstation = workstation_id(KeyringSecretStore())
        embedded = EmbeddedTrainingServer() if plan.training and plan.server_url is None else None
        kit = training_kit(embedded) if plan.training else None
        server_url = plan.server_url or (embedded.url if embedded is not None else "")
        transport = Transport(server_url, ca_bundle=plan.ca_bundle)
    except (PolicyError, StartupProblem, KeyringUnavailable) as problem:
        show_problem(str(problem), mode)
        return 2
    except UnsafeServerUrl as problem:
        show_problem(f"The server address cannot be used: {problem}.", mode)
        return 2

    lockdown: ApplicationLockdown = install_application_lockdown(app)
    capture = install_capture_exclusion(app)  # a child of the application: lives as long as it
    capture.excluded.connect(log_capture_exclusion)
    calls = BackgroundCalls()
    window = MainWindow(
        ContactPointClient(transport),
        calls,
        workstation,
        mode,
        policy_idle_seconds=policy.idle_timeout_seconds,
        lockdown=lockdown,
        training=kit,
        preferences=UserPreferences(),
    )
    stop_on_signals(window)
    try:
        qasync.run(run_window(window))
    finally:
        if embedded is not None:
            embedded.close()
    return 0
