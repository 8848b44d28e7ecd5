"""`SessionBar`: who is signed in (name, role, organisation), with Lock and Sign out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

if TYPE_CHECKING:
    from cpclient.api.models import User


class SessionBar(QFrame):
    """The strip above the work area while someone is signed in.

    Signals:
        lock_requested(): lock now (as the idle lock does).
        sign_out_requested(): end the session.
    """

    lock_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.who = QLabel(self)
        self.who.setObjectName("signedInAs")
        self.who.setWordWrap(True)
        self.lock_button = QPushButton("Loc&k", self)
        self.lock_button.setAccessibleName("Lock")
        self.lock_button.setToolTip("Hide record data and lock ContactPoint until you sign in again")
        self.lock_button.clicked.connect(self.lock_requested)
        self.sign_out_button = QPushButton("Sign o&ut", self)
        self.sign_out_button.setAccessibleName("Sign out")
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        for button in (self.lock_button, self.sign_out_button):
            button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.addWidget(self.who, 1)
        layout.addWidget(self.lock_button)
        layout.addWidget(self.sign_out_button)
        self.set_user(None)

    def set_user(self, user: User | None) -> None:
        """Show `user` (or nobody)."""
        if user is None:
            text = ""
        else:
            where = user.organisation + (f", {user.local_authority}" if user.local_authority else "")
            text = f"Signed in as {user.display_name} — {user.role_label}, {where}"
        self.who.setText(text)
        self.who.setAccessibleName(text or "Nobody is signed in")
