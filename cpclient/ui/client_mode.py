"""Whether this client runs in training mode, and the window titles that make the mode unmistakable."""

from __future__ import annotations

from dataclasses import dataclass

APP_NAME = "cpclient"
TRAINING_TITLE = f"{APP_NAME} — TRAINING"
TRAINING_TEXT = "TRAINING — fictitious data"


@dataclass(frozen=True)
class ClientMode:
    """Live or training.

    Args:
        training: True in training mode (fictitious data on a training server).
    """

    training: bool = False

    @property
    def app_title(self) -> str:
        """The main window's title."""
        return TRAINING_TITLE if self.training else APP_NAME

    def title(self, what: str) -> str:
        """A window or dialog title: what it is, then the application (and the training mark)."""
        return f"{what} — {self.app_title}"
