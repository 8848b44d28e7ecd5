"""`RecordReportDialog`: "this is not right": a user says what is wrong with a record, from a fixed list.

The problems come from the server (`GET /meta`). No free text: a report carries no personal data and
no case notes. Nothing is chosen at first, and the report cannot be sent until a problem is.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from cpclient.api.models import RecordProblem
from cpclient.ui.client_mode import ClientMode
from cpclient.ui.heading import Heading
from cpclient.ui.training_banner import add_training_banner

EXPLANATION = (
    "Practitioners do not change a child's details: they come from source systems. Your management "
    "team checks the report with the source. Choose the one problem that fits best."
)


class RecordReportDialog(QDialog):
    """Asks which of the server's problems is wrong with the record of `child_name`.

    Args:
        problems: the server's list.
        child_name: whose record this is.
        mode: live or training.
    """

    def __init__(
        self, problems: list[RecordProblem], child_name: str, mode: ClientMode, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordReportDialog")
        self.setWindowTitle(mode.title("This is not right"))
        self.setModal(True)
        self._problems = list(problems)
        layout = QVBoxLayout(self)
        add_training_banner(layout, mode, self)
        layout.addWidget(Heading(f"What is not right with {child_name}'s record?", 2, self))
        explanation = QLabel(EXPLANATION, self)
        explanation.setWordWrap(True)
        explanation.setAccessibleName(EXPLANATION)
        layout.addWidget(explanation)
        self.choices = QGroupBox("Problem", self)
        self.choices.setAccessibleName("Problem")
        column = QVBoxLayout(self.choices)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QRadioButton] = []
        for number, problem in enumerate(self._problems):
            button = QRadioButton(problem.label, self.choices)
            button.setAccessibleName(problem.label)
            self.group.addButton(button, number)
            column.addWidget(button)
            self.buttons.append(button)
        self.group.idToggled.connect(lambda *_: self._update())
        layout.addWidget(self.choices)
        self.button_box = QDialogButtonBox(self)
        self.ok_button: QPushButton = self.button_box.addButton(
            "&Send report", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setAccessibleName("Send report")
        self.ok_button.setDefault(True)
        cancel = self.button_box.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.button_box.accepted.connect(self._accept_if_chosen)
        self.button_box.rejected.connect(self.reject)
        layout.addWidget(self.button_box)
        # Radio buttons do not wrap: never narrower than the longest problem (a minimum width set
        # here replaces the one the layout would set).
        self.setMinimumWidth(max(self.fontMetrics().averageCharWidth() * 60, layout.minimumSize().width()))
        self._update()
        if self.buttons:
            self.buttons[0].setFocus()

    def chosen(self) -> RecordProblem | None:
        """The problem chosen, or None."""
        number = self.group.checkedId()
        return self._problems[number] if 0 <= number < len(self._problems) else None

    def _update(self) -> None:
        self.ok_button.setEnabled(self.chosen() is not None)

    def _accept_if_chosen(self) -> None:
        if self.chosen() is not None:
            self.accept()
