"""`TextPromptDialog`: asks for a written reason (suspend, dismiss, unshield, lock down…) before acting.

The text must be at least 10 characters (the server's minimum) and at most 1000; the one line of
what is still needed counts them as the person types. A serious action also asks the person to tick
that they understand what happens (`acknowledgement`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QPlainTextEdit, QWidget

from cpclient.ui.client_mode import ClientMode
from cpclient.ui.error_summary import Problem
from cpclient.ui.oversight.form_dialog import FormDialog

MIN_TEXT = 10
MAX_TEXT = 1000


def tidy(text: str) -> str:
    """The text with runs of spaces and line breaks made single spaces."""
    return " ".join(text.split())


class TextPromptDialog(FormDialog):
    """A reason (or justification, summary, note) and, optionally, an acknowledgement.

    Args:
        title, heading, detail, confirm_text, mode, warning: as for `FormDialog`.
        text_label: the text field's label (with its mnemonic), e.g. "&Reason".
        field_name: the server's name for the text (so a refusal is linked to the field).
        hint: guidance under the field.
        acknowledgement: a statement to tick before confirming (empty: none).
    """

    def __init__(
        self,
        title: str,
        heading: str,
        detail: str,
        confirm_text: str,
        mode: ClientMode,
        parent: QWidget | None = None,
        *,
        text_label: str = "&Reason",
        field_name: str = "reason",
        hint: str = "",
        warning: str = "",
        acknowledgement: str = "",
    ) -> None:
        super().__init__(title, heading, detail, confirm_text, mode, parent, warning=warning)
        self._what = text_label.replace("&", "").lower()
        self.text = QPlainTextEdit(self)
        self.text.setTabChangesFocus(True)
        self.text.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.text.setMaximumHeight(self.text.fontMetrics().lineSpacing() * 6)
        self.text.setAccessibleDescription(f"At least {MIN_TEXT} characters")
        self.add_row(text_label, self.text, field_name, hint)
        self.acknowledge: QCheckBox | None = None
        if acknowledgement:
            self.acknowledge = QCheckBox(acknowledgement, self)
            self.acknowledge.setAccessibleName(acknowledgement.replace("&", ""))
            self.form.addRow("", self.acknowledge)
        self.focus_first(self.text)

    def value(self) -> str:
        """The text, tidied."""
        return tidy(self.text.toPlainText())

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        typed = len(self.value())
        if typed < MIN_TEXT:
            so_far = f" ({typed} so far)" if typed else ""
            found.append(
                Problem(f"Enter the {self._what}: at least {MIN_TEXT} characters{so_far}", self.text)
            )
        elif typed > MAX_TEXT:
            over = f" ({typed} now)"
            found.append(Problem(f"The {self._what} must be {MAX_TEXT} characters or fewer{over}", self.text))
        if self.acknowledge is not None and not self.acknowledge.isChecked():
            found.append(Problem("Tick the box to confirm you understand what will happen", self.acknowledge))
        return found


def incident_prompt(display_name: str, mode: ClientMode, parent: QWidget | None = None) -> TextPromptDialog:
    """The dialog that asks for the summary of a concern before an incident is opened about a user."""
    return TextPromptDialog(
        "Open an incident",
        f"Open an incident about {display_name}?",
        "Opening an incident suspends the account at once, tells their manager by e-mail and "
        "reports it to the national team.",
        "Open &incident",
        mode,
        parent,
        text_label="&Summary of the concern",
        field_name="summary",
        hint="About the user's use of ContactPoint, never about a child.",
    )
