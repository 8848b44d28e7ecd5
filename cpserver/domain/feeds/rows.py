"""One feed row, parsed: the contract between the feed format, the matcher and the queue.

The format (docs/feed-format.md) is one row per child per source. Everything a row may carry is
here and nothing else: a feed never carries case notes, and a field outside this schema refuses
the row. `cpserver.domain.feeds.format` turns CSV and JSON Lines into these; the loader applies
them; a row held for review is stored as `FeedRow.to_json()` and read back with `from_json`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FeedName:
    """A former name (given may be empty). `closed_for_adoption`: an identity left on adoption."""

    family_name: str
    given_name: str = ""
    closed_for_adoption: bool = False


@dataclass(frozen=True)
class FeedCarer:
    given_name: str
    family_name: str
    relationship_to_child: str
    parental_responsibility: bool = False
    address_line1: str = ""
    address_line2: str = ""
    town: str = ""
    postcode: str = ""
    telephone: str = ""


@dataclass(frozen=True)
class FeedService:
    """A service involved with the child (local authority sources only): who, never what about."""

    service_type: str
    organisation_name: str
    practitioner_name: str
    practitioner_role: str = ""
    telephone: str = ""
    email: str = ""
    started_on: dt.date | None = None
    ended_on: dt.date | None = None
    lead_professional: bool = False
    assessment_completed: bool = False
    consent_recorded: bool = False


@dataclass(frozen=True)
class FeedRow:
    """A child as one source knows it on `as_of`."""

    source_record_id: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    gender: str
    as_of: dt.date
    middle_names: str = ""
    former_names: tuple[FeedName, ...] = ()
    address_line1: str = ""
    address_line2: str = ""
    town: str = ""
    postcode: str = ""
    telephone: str = ""
    # The local authority's code (a move between authorities is a new code for the same child).
    local_authority: str = ""
    carers: tuple[FeedCarer, ...] = ()
    # National references: a school's URN, a GP practice's ODS code.
    education_setting: str = ""
    gp_practice: str = ""
    services: tuple[FeedService, ...] = ()
    consent_to_25: bool = False
    # An adopted child's new identity: never matched to (or linked with) any existing record.
    new_identity: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (dates as ISO strings), for the possible-match queue."""
        return {key: _jsonable(value) for key, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedRow:
        return cls(
            **{
                **data,
                "date_of_birth": dt.date.fromisoformat(data["date_of_birth"]),
                "as_of": dt.date.fromisoformat(data["as_of"]),
                "former_names": tuple(FeedName(**name) for name in data.get("former_names", ())),
                "carers": tuple(FeedCarer(**carer) for carer in data.get("carers", ())),
                "services": tuple(
                    FeedService(
                        **{
                            **service,
                            "started_on": _date_or_none(service.get("started_on")),
                            "ended_on": _date_or_none(service.get("ended_on")),
                        }
                    )
                    for service in data.get("services", ())
                ),
            }
        )


def _date_or_none(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
