"""The composition root: `cpclient [--server URL] [--training]` builds the application and runs it.

Order of start-up: Qt application, redacting logging, managed policy, which server (policy wins
over `--server`; training uses the embedded server unless `--server` names a training server),
workstation identifier from the keyring, capture exclusion, then the main window's sign-in side is
shown at once. What the sign-in window does not need (the API client with requests and pydantic,
the work pages, the lockdown, the training kit and, in training mode, the server's libraries) is
imported on a worker thread while the window is on screen, then the window is completed and connects
(`finish_start`). Every problem a person can meet before the window exists is shown in a message
box, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDeadlineTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cpclient.api.server_url import UnsafeServerUrl, check_server_url
from cpclient.distribution import Distribution, Flavour, current
from cpclient.security.capture import CaptureExclusion, install_capture_exclusion
from cpclient.security.policy import ManagedPolicy, PolicyError, load_policy
from cpclient.security.preferences import UserPreferences
from cpclient.security.redaction import install_redacting_logging
from cpclient.security.workstation import (
    KeyringSecretStore,
    KeyringUnavailable,
    MemorySecretStore,
    workstation_id,
)
from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from cpclient.training.embedded_server import EmbeddedTrainingServer
from cpclient.ui.background import BackgroundCalls
from cpclient.ui.client_mode import APP_NAME, ClientMode
from cpclient.ui.main_window import MainWindow
from cpclient.ui.training_help import TrainingKit

if TYPE_CHECKING:
    from cpclient.api.client import ContactPointClient

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


TRAINING_NEEDS_POLICY = (
    "Training mode is not switched on for this computer. Practitioners' computers start ContactPoint "
    "for live use only, unless the IT service desk allows training in the managed policy "
    "(training_allowed). Trainers use the ContactPoint Training kit."
)
NO_EMBEDDED_SERVER = (
    "This installation of ContactPoint has no training server of its own. Start it with --server and "
    "the address of your training server, or use the ContactPoint Training kit."
)


FIRST_PAINT_WAIT_MS = 1000


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
    parser.add_argument(
        "--check-policy",
        nargs="?",
        const="",
        metavar="FILE",
        help="check a managed policy file (or, with no FILE, this computer's policy), print what it "
        "sets and exit (1 when it is broken)",
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="training mode only: show the sign-in window, sign in with a demo account, report on "
        "standard output and exit (0 when signed in); for installation checks",
    )
    return parser.parse_args(argv)


def plan_start(
    args: argparse.Namespace, policy: ManagedPolicy, distribution: Distribution | None = None
) -> Plan:
    """Decide the server and mode from the command line, the managed policy and this build.

    Args:
        args: the command line.
        policy: the machine's managed policy.
        distribution: this build (`cpclient.distribution`); a source install when not given.

    Raises:
        StartupProblem: training refused by policy or by this build, or no server known.
    """
    distribution = distribution or Distribution(Flavour.SOURCE)
    training = bool(args.training) or distribution.training_only
    if args.smoke_test and not training:
        raise StartupProblem("The smoke test runs in training mode only (--training).")
    if training:
        if not policy.training_allowed:
            raise StartupProblem(TRAINING_NOT_ALLOWED)
        if distribution.training_needs_policy and not policy.is_locked("training_allowed"):
            raise StartupProblem(TRAINING_NEEDS_POLICY)
        if args.server is None and not distribution.has_embedded_server:
            raise StartupProblem(NO_EMBEDDED_SERVER)
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


def refuse(message: str, mode: ClientMode, *, smoke_test: bool) -> None:
    """Show why the client cannot start; a smoke test (unattended) writes it to standard error."""
    if smoke_test:
        sys.stderr.write(f"smoke test: cannot start: {message}\n")
    else:
        show_problem(message, mode)


def training_kit(server: EmbeddedTrainingServer | None) -> TrainingKit:
    """Training mode's demo accounts, scenarios and embedded server (None when --server is given)."""
    from cpclient.training.demo_accounts import demo_accounts
    from cpclient.training.scenarios import training_scenarios

    return TrainingKit(
        accounts=demo_accounts(),
        password=DEMO_PASSWORD,
        code=demo_code,
        scenarios=training_scenarios(),
        server=server,
    )


def load_rest(
    server_url: str, ca_bundle: str | None, embedded: EmbeddedTrainingServer | None, *, training: bool
) -> tuple[ContactPointClient, TrainingKit | None]:
    """Import what the sign-in window did not need and build the API client (on a worker thread).

    Returns:
        The API client, and the complete training kit in training mode.
    """
    import cpclient.security.lockdown
    import cpclient.ui.oversight.management_area
    import cpclient.ui.record_opener
    import cpclient.ui.record_view
    import cpclient.ui.search_page  # noqa: F401 (imported here so `complete` finds them loaded)
    from cpclient.api.client import ContactPointClient
    from cpclient.api.transport import Transport

    client = ContactPointClient(Transport(server_url, ca_bundle=ca_bundle))
    return client, training_kit(embedded) if training else None


async def finish_start(
    window: MainWindow, plan: Plan, server_url: str, embedded: EmbeddedTrainingServer | None
) -> None:
    """Complete the shown window: load the rest and read the keyring off the Qt thread, install the
    lockdown, connect. A keyring that cannot be used is explained on the sign-in page."""
    try:
        # Training needs no enrolment: nothing real is reachable from it.
        store = MemorySecretStore() if plan.training else KeyringSecretStore()
        workstation = await window.calls.run(partial(workstation_id, store))
    except KeyringUnavailable as problem:
        window.cannot_start(str(problem))
        return
    client, kit = await window.calls.run(
        partial(load_rest, server_url, plan.ca_bundle, embedded, training=plan.training)
    )
    from cpclient.security.lockdown import install_application_lockdown

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    # Before any record data can reach the window: the window cannot sign in until `complete`.
    lockdown = install_application_lockdown(app)
    window.complete(client, workstation=workstation, lockdown=lockdown, training=kit)
    window.start()


async def run_window(window: MainWindow, finish: Coroutine[Any, Any, None] | None = None) -> None:
    """Show the window, complete it (`finish`) or connect, and wait until it is closed; then stop."""
    import asyncio

    closed = asyncio.get_running_loop().create_future()

    def done() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closed.connect(done)
    window.show()  # already shown by `show_first`; kept for callers that did not
    completing = None
    if finish is None:
        window.start()
    else:
        completing = window.calls.start(finish)
    await closed
    if completing is not None and not completing.done():
        completing.cancel()
    await window.shutdown()


def show_first(app: QApplication, window: MainWindow) -> None:
    """Show the window and let Qt draw it before the event loop's own imports (asyncio, qasync).

    Only the sign-in side exists yet, and it cannot sign in, so the events handled here (exposure,
    painting, typing into the form) need no event loop of asyncio's.
    """
    window.show()
    handle = window.windowHandle()
    deadline = QDeadlineTimer(FIRST_PAINT_WAIT_MS)
    while handle is not None and not handle.isExposed() and not deadline.hasExpired():
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 10)
    app.processEvents()  # the first paint


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
    if args.check_policy is not None:
        from cpclient.security import policy as policy_check

        return policy_check.main([args.check_policy] if args.check_policy else [])
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
        plan = plan_start(args, policy, current())
        mode = ClientMode(training=plan.training)
        embedded = EmbeddedTrainingServer() if plan.training and plan.server_url is None else None
        server_url = plan.server_url or (embedded.url if embedded is not None else "")
        check_server_url(server_url)  # refuse an unsafe address before anything is shown
    except (PolicyError, StartupProblem) as problem:
        refuse(str(problem), mode, smoke_test=args.smoke_test)
        return 2
    except UnsafeServerUrl as problem:
        refuse(f"The server address cannot be used: {problem}.", mode, smoke_test=args.smoke_test)
        return 2

    capture = install_capture_exclusion(app)  # a child of the application: lives as long as it
    capture.excluded.connect(log_capture_exclusion)
    calls = BackgroundCalls()
    # The training banner (and its reset button) show from the first frame; the demo accounts and
    # scenarios arrive with the rest.
    first_kit = (
        TrainingKit(accounts=[], password=DEMO_PASSWORD, code=demo_code, server=embedded)
        if plan.training
        else None
    )
    window = MainWindow(
        None,
        calls,
        "",  # read from the keyring behind the window (`finish_start`)
        mode,
        policy_idle_seconds=policy.idle_timeout_seconds,
        training=first_kit,
        preferences=UserPreferences(),
    )
    stop_on_signals(window)
    smoke = None
    if args.smoke_test:
        from cpclient.smoke import SmokeTest

        smoke = SmokeTest(window)
    show_first(app, window)
    import qasync  # asyncio with it: after the window is on screen

    try:
        qasync.run(run_window(window, finish_start(window, plan, server_url, embedded)))
    finally:
        if embedded is not None:
            embedded.close()
    if smoke is not None:
        return 0 if smoke.passed else 1
    return 0
