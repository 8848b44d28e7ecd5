"""The training scenarios (example searches a trainer can demonstrate), as search criteria.

They come from the seed's training contract (`cpserver.seed.training_contract.TRAINING_SCENARIOS` and
its notes), so the searches always match the fictitious children the embedded training server holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from cpclient.api.models import Gender, SearchCriteria
from cpserver.seed.training_contract import TRAINING_SCENARIO_NOTES, TRAINING_SCENARIOS


@dataclass(frozen=True)
class TrainingScenario:
    """One example search and what it demonstrates."""

    name: str
    note: str
    criteria: SearchCriteria

    @property
    def title(self) -> str:
        """The scenario's name in words."""
        return self.name.replace("_", " ").capitalize()


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def criteria_from(fields: dict[str, str]) -> SearchCriteria:
    """Search criteria from a scenario's `POST /searches` fields."""
    gender = fields.get("gender")
    return SearchCriteria(
        family=fields.get("family", ""),
        given=fields.get("given", ""),
        date_of_birth=_date(fields.get("date_of_birth")),
        date_of_birth_from=_date(fields.get("date_of_birth_from")),
        date_of_birth_to=_date(fields.get("date_of_birth_to")),
        gender=cast(Gender, gender) if gender in ("female", "male", "not_specified") else None,
        postcode=fields.get("postcode", ""),
        exact=fields.get("exact") == "true",
    )


def training_scenarios() -> list[TrainingScenario]:
    """The scenarios of the training seed, in its order."""
    return [
        TrainingScenario(name, TRAINING_SCENARIO_NOTES.get(name, ""), criteria_from(fields))
        for name, fields in TRAINING_SCENARIOS.items()
    ]
