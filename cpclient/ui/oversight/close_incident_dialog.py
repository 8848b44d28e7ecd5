"""`CloseIncidentDialog`: closes an investigation with one of the four outcomes."""

from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QRadioButton, QVBoxLayout, QWidget

from cpclient.api.oversight_models import Incident, Outcome
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.error_summary import Problem
from cpclient.ui.oversight.form_dialog import FormDialog
from cpclient.ui.oversight.labels import OUTCOMES

OUTCOME_CODES: tuple[Outcome, ...] = (
    "no_misuse",
    "procedures_not_followed",
    "training_required",
    "disciplined",
)


class CloseIncidentDialog(FormDialog):
    """Asks for the outcome; no outcome is preselected."""

    def __init__(self, incident: Incident, mode: ClientMode, parent: QWidget | None = None) -> None:
        super().__init__(
            "Close an incident",
            f"Close incident {incident.id} about {incident.user_display_name}?",
            "A closed incident cannot be reopened. The outcome is counted in the yearly figures. "
            "Reinstating the account, if right, is done on the Users page.",
            "&Close incident",
            mode,
            parent,
        )
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.choices: list[QRadioButton] = []
        holder = QWidget(self)
        holder.setAccessibleName("Outcome")
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        for number, code in enumerate(OUTCOME_CODES):
            choice = QRadioButton(OUTCOMES[code], holder)
            choice.setAccessibleName(OUTCOMES[code])
            self.group.addButton(choice, number)
            self.choices.append(choice)
            column.addWidget(choice)
        self.add_row("Outcome", holder, "outcome")
        self.fields["outcome"] = self.choices[0]
        self.focus_first(self.choices[0])

    def outcome(self) -> Outcome | None:
        """The outcome chosen, or None."""
        number = self.group.checkedId()
        return OUTCOME_CODES[number] if 0 <= number < len(OUTCOME_CODES) else None

    def problems(self) -> list[Problem]:
        if self.outcome() is None:
            return [Problem("Choose the outcome of the investigation", self.choices[0])]
        return []
