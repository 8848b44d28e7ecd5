"""Training mode's helpers on screen: the demo accounts (click to fill the sign-in form) and example searches.

`TrainingKit` is what the composition root hands the UI in training mode: the embedded server (to
reset), the demo accounts, how to get their current one-time code, and the scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

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
        account_chosen(str): the username chosen.
    """

    account_chosen = Signal(str)

    def __init__(self, kit: TrainingKit, parent: QWidget | None = None) -> None:
        super().__init__("Demo accounts (training only)", parent)
        self.setAccessibleName("Demo accounts")
        layout = QVBoxLayout(self)
        note = QLabel(
            f"Choose an account to fill in the form. The password is {kit.password}; the one-time code "
            "is filled in for you (each code works once, and a new one comes every 30 seconds).",
            self,
        )
        note.setWordWrap(True)
        note.setAccessibleName(note.text())
        layout.addWidget(note)
        grid = QGridLayout()
        self.buttons: list[QPushButton] = []
        for row, account in enumerate(kit.accounts):
            button = QPushButton(account.username, self)
            button.setAccessibleName(f"Use demo account {account.username}")
            button.setAccessibleDescription(account.shows)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, name=account.username: self.account_chosen.emit(name))
            shows = QLabel(account.shows, self)
            shows.setWordWrap(True)
            shows.setBuddy(button)
            grid.addWidget(button, row, 0)
            grid.addWidget(shows, row, 1)
            self.buttons.append(button)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)


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
