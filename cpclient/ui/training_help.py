"""Training mode's helpers on screen: the demo accounts (click to fill the sign-in form) and example searches.

`TrainingKit` is what the composition root hands the UI in training mode: the embedded server (to
reset), the demo accounts, how to get their current one-time code, and the scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from cpclient.training.demo_accounts import DemoAccount
    from cpclient.training.scenarios import TrainingScenario


class TrainingServerControl(Protocol):
    """The embedded training server, as the UI uses it."""

    def start(self) -> str:
        """Start it (blocking); return its base URL."""

    def reset(self) -> str:
        """Restore the starting fictitious data (blocking); return its base URL."""


@dataclass
class TrainingKit:
    """Everything training mode adds to the UI."""

    accounts: list[DemoAccount]
    password: str
    code: Callable[[], str]
    scenarios: list[TrainingScenario] = field(default_factory=list)
    server: TrainingServerControl | None = None


class DemoAccountsPanel(QGroupBox):
    """One button per demo account; choosing one fills the sign-in form.

    Signals:
        account_chosen(str): the username chosen ("" while locked: fill in the password and code only).
    """

    account_chosen = Signal(str)

    def __init__(self, kit: TrainingKit, parent: QWidget | None = None) -> None:
        super().__init__("Demo accounts (training only)", parent)
        self.setAccessibleName("Demo accounts")
        layout = QVBoxLayout(self)
        codes = "each code works once, and a new one comes every 30 seconds"
        self._note_open = (
            f"Choose an account to fill in the form. The password is {kit.password}; the one-time code "
            f"is filled in for you ({codes})."
        )
        self._note_locked = (
            f"The password is {kit.password}; the button below fills it in with a new code ({codes})."
        )
        self.note = QLabel(self._note_open, self)
        self.note.setWordWrap(True)
        self.note.setAccessibleName(self._note_open)
        layout.addWidget(self.note)
        self.fill_locked = QPushButton("Fill in the demo password and one-time code", self)
        self.fill_locked.setAccessibleName("Fill in the demo password and one-time code")
        self.fill_locked.setAutoDefault(False)
        self.fill_locked.clicked.connect(lambda: self.account_chosen.emit(""))
        self.fill_locked.hide()
        layout.addWidget(self.fill_locked)
        self._accounts = QWidget(self)
        grid = QGridLayout(self._accounts)
        grid.setContentsMargins(0, 0, 0, 0)
        self.buttons: list[QPushButton] = []
        for row, account in enumerate(kit.accounts):
            button = QPushButton(account.username, self._accounts)
            button.setAccessibleName(f"Use demo account {account.username}")
            button.setAccessibleDescription(account.shows)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, name=account.username: self.account_chosen.emit(name))
            shows = QLabel(account.shows, self._accounts)
            shows.setWordWrap(True)
            shows.setBuddy(button)
            grid.addWidget(button, row, 0)
            grid.addWidget(shows, row, 1)
            self.buttons.append(button)
        grid.setColumnStretch(1, 1)
        layout.addWidget(self._accounts)

    def set_locked(self, locked: bool) -> None:
        """While locked, offer only to fill in the password and code (the username is fixed)."""
        self._accounts.setVisible(not locked)
        self.fill_locked.setVisible(locked)
        note = self._note_locked if locked else self._note_open
        self.note.setText(note)
        self.note.setAccessibleName(note)


class ScenariosPanel(QGroupBox):
    """The example searches; with `with_buttons`, each can be put into the search form.

    Signals:
        scenario_chosen(TrainingScenario): the scenario whose search to fill in.
    """

    scenario_chosen = Signal(object)

    def __init__(
        self, scenarios: list[TrainingScenario], parent: QWidget | None = None, *, with_buttons: bool
    ) -> None:
        super().__init__("Training scenarios: searches to try", parent)
        self.setAccessibleName("Training scenarios")
        grid = QGridLayout(self)
        self.buttons: list[QPushButton] = []
        for row, scenario in enumerate(scenarios):
            text = f"{scenario.title}: {scenario.note}" if scenario.note else scenario.title
            label = QLabel(text, self)
            label.setWordWrap(True)
            label.setAccessibleName(text)
            grid.addWidget(label, row, 1)
            if with_buttons:
                button = QPushButton("Try", self)
                button.setAccessibleName(f"Try the search: {scenario.title}")
                button.setAutoDefault(False)
                button.clicked.connect(lambda _=False, chosen=scenario: self.scenario_chosen.emit(chosen))
                grid.addWidget(button, row, 0)
                self.buttons.append(button)
        grid.setColumnStretch(1, 1)
