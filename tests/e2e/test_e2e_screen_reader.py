"""The real client, `cpclient --training --server …`, on a private X display, read and driven over AT-SPI
as Orca does.

This is what a screen reader on Linux gets: the accessible tree Qt publishes on the accessibility
bus, and the announcements it sends. The test signs in and searches through AT-SPI alone (it sets
the entries' text and presses the buttons by their accessible names), hears "1 child found."
announced, and checks every control it can reach on the sign-in and search pages is named or
labelled. It needs Xvfb, D-Bus and at-spi2-core (`tests/e2e/atspi.py`); without them it is skipped,
unless `CI` is set, when it fails (`.ci/run` installs them: packaging/linux/install-system-packages).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from cpclient.training.demo_accounts import DEMO_PASSWORD, demo_code
from tests.e2e.atspi import APT_PACKAGES, AccessibleDesktop, AtSpi, Node, missing_pieces, start_desktop

pytestmark = pytest.mark.slow

# Roles a person types into or chooses from: each needs a label a screen reader can say.
ENTRY_ROLES = {"entry", "password text", "text", "combo box", "spin button"}


@pytest.fixture
def desktop() -> Iterator[AccessibleDesktop]:
    missing = missing_pieces()
    if missing:
        message = (
            f"screen-reader test needs {', '.join(missing)} (Debian/Ubuntu: apt-get install {APT_PACKAGES})"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    started = start_desktop()
    yield started
    started.close()


def wait_for(find: Callable[[], Node | None], what: str, timeout: float = 60.0) -> Node:
    """Ask the accessibility bus again until `find` answers (the client runs in its own process)."""
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} on the accessibility bus")
        time.sleep(0.2)


def client_tree(atspi: AtSpi) -> list[Node]:
    """Everything showing in the client's windows (no other application is on this private bus)."""
    return [node for app in atspi.applications() for node in atspi.walk(app)]


def find(atspi: AtSpi, roles: set[str], name: str, *, enabled: bool = False) -> Callable[[], Node | None]:
    """Look for a control by role and by its name or label, as a screen reader user finds it."""

    def look() -> Node | None:
        try:
            nodes = client_tree(atspi)
        except Exception:  # the tree changes while it is read (a page replaced): ask again
            return None
        return next(
            (
                node
                for node in nodes
                if node.role in roles
                and (node.name == name or name in node.labelled_by)
                and (node.enabled or not enabled)
            ),
            None,
        )

    return look


BUTTON = {"push button"}


def unnamed(nodes: list[Node]) -> list[str]:
    """What a screen reader would read as a bare role: focusable controls with no name, and entries
    with no label."""
    found = []
    for node in nodes:
        if node.role in ENTRY_ROLES and not node.labelled_by:
            found.append(f"{node.role} {node.name!r}: not labelled by anything")
        elif node.focusable and not node.name and not node.labelled_by:
            found.append(f"{node.role}: focusable with no name")
    return found


def test_sign_in_and_search_by_screen_reader(desktop: AccessibleDesktop, server_url: str) -> None:
    atspi = desktop.atspi
    client = subprocess.Popen(
        [sys.executable, "-m", "cpclient", "--training", "--server", server_url],
        env=desktop.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Once the client has checked the server, "Sign in" can be pressed.
        sign_in = wait_for(find(atspi, BUTTON, "Sign in", enabled=True), "Sign in button")
        assert unnamed(client_tree(atspi)) == []
        for name, text in (
            ("Username", "demo.practitioner"),
            ("Password", DEMO_PASSWORD),
            ("One-time code", demo_code()),
        ):
            atspi.set_text(wait_for(find(atspi, ENTRY_ROLES, name), name).ref, text)
        atspi.press(sign_in.ref)

        family = wait_for(find(atspi, ENTRY_ROLES, "Family name"), "Family name entry")
        nodes = client_tree(atspi)
        assert unnamed(nodes) == []
        labelled = {label for node in nodes if node.role in ENTRY_ROLES for label in node.labelled_by}
        assert {"Or born on or after", "and on or before", "Gender"} <= labelled
        assert any(n.focusable and n.name == "Training scenarios" for n in nodes)  # the scroll area

        atspi.set_text(family.ref, "Thistlewood")
        atspi.set_text(wait_for(find(atspi, ENTRY_ROLES, "Date of birth"), "Date of birth").ref, "02/09/2015")
        search = wait_for(find(atspi, BUTTON, "Search"), "Search button")
        with atspi.announcements() as heard:
            atspi.press(search.ref)
            said = atspi.wait_for_announcement(heard, "1 child found.")
        assert said[-1] == "1 child found."
        status = wait_for(find(atspi, {"label"}, "1 child found."), "search status")
        assert status.name == "1 child found."
    finally:
        client.terminate()
        try:
            client.wait(timeout=20)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait(timeout=10)
