"""Helpers for the feed tests: sources, rows, a mailer that keeps what it is given, and loading."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cpserver.domain.feeds.format import Format
from cpserver.domain.feeds.load import LoadReport, load_feed
from cpserver.domain.feeds.sources import add_source
from cpserver.store.models import EducationSetting, FeedSource, GpPractice
from tests.server import world

AS_OF = world.TODAY
# A child no world record resembles (a new family name, a ZZ postcode, a drama telephone number).
NEW_CHILD: dict[str, Any] = {
    "source_record_id": "CB-000001",
    "given_name": "Pippa",
    "middle_names": "Jane",
    "family_name": "Fernsworth",
    "date_of_birth": dt.date(world.TODAY.year - 6, 4, 1).isoformat(),
    "gender": "female",
    "as_of": AS_OF.isoformat(),
    "address_line1": "12 Larch Close",
    "town": "Brambleford",
    "postcode": "zz1 7xy",
    "telephone": "01632 960777",
    "local_authority": "NMR",
    "carers": [
        {
            "given_name": "Hazel",
            "family_name": "Fernsworth",
            "relationship_to_child": "Mother",
            "parental_responsibility": True,
            "address_line1": "12 Larch Close",
            "town": "Brambleford",
            "postcode": "ZZ1 7XY",
            "telephone": "07700 900777",
        }
    ],
    "former_names": [{"given_name": "Pippa", "family_name": "Oakhurst"}],
}
SCHOOL_CODE = "9100001"
GP_CODE = "Z90001"


@dataclass
class KeptMail:
    """A `Mailer` that keeps every message (a real implementation of the protocol, for tests)."""

    sent: list[dict[str, str]] = field(default_factory=list)

    def send(self, *, to: str, subject: str, body: str) -> str:
        self.sent.append({"to": to, "subject": subject, "body": body})
        return "sent"


def source(
    db: Session,
    name: str = "census",
    *,
    kind: str = "national",
    priority: int = 50,
    authority: str | None = None,
) -> tuple[FeedSource, str]:
    found, credential = add_source(db, name=name, kind=kind, priority=priority, local_authority=authority)
    db.commit()
    return found, credential


def give_codes(db: Session) -> None:
    """Give the world's ordinary school and GP the national codes feeds name them by."""
    db.execute(
        sa.update(EducationSetting)
        .where(EducationSetting.name == "Brambleford Primary School")
        .values(code=SCHOOL_CODE)
    )
    db.execute(sa.update(GpPractice).where(GpPractice.name == "Brambleford Surgery").values(code=GP_CODE))
    db.commit()


def row(**overrides: Any) -> dict[str, Any]:
    return {**NEW_CHILD, **overrides}


def jsonl(*rows: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in rows)


def load(
    db: Session,
    feed_source: FeedSource,
    data: bytes,
    *,
    fmt: Format = "jsonl",
    mailer: KeptMail | None = None,
    chunk_rows: int = 1000,
) -> LoadReport:
    return load_feed(
        db,
        source=feed_source,
        stream=io.BytesIO(data),
        fmt=fmt,
        via="file",
        mailer=mailer or KeptMail(),
        chunk_rows=chunk_rows,
    )


FAMILIES = [
    "Ashcombe",
    "Birchwood",
    "Calloway",
    "Dunmore",
    "Eastleigh",
    "Fairbrook",
    "Garside",
    "Holloway",
    "Ivesley",
    "Jessop",
    "Kingsley",
    "Lockhart",
    "Merriman",
    "Norwood",
    "Oakridge",
    "Pembury",
    "Quenby",
    "Radcliffe",
    "Stanmore",
    "Thornbury",
    "Upwood",
    "Varley",
    "Whitmore",
    "Yardley",
    "Ansell",
    "Blackwell",
    "Coverdale",
    "Danby",
    "Elsworth",
    "Fenwick",
]
GIVEN = [
    "Ada",
    "Ben",
    "Cora",
    "Dan",
    "Ella",
    "Finn",
    "Gwen",
    "Hugo",
    "Iris",
    "Jack",
    "Kate",
    "Leo",
    "Mia",
    "Ned",
    "Olive",
    "Paul",
    "Rosa",
    "Sam",
    "Tess",
    "Will",
    "Zara",
    "Alfie",
    "Bella",
    "Carl",
    "Daisy",
    "Eddie",
    "Faye",
    "Gus",
    "Hana",
    "Ivan",
]


def distinct_rows(count: int, prefix: str = "CB") -> list[dict[str, Any]]:
    """`count` rows of children unlike each other and the world's (names, birthdays and homes)."""
    assert count <= len(FAMILIES)
    return [
        row(
            source_record_id=f"{prefix}-{n:03d}",
            given_name=GIVEN[n],
            middle_names="",
            family_name=FAMILIES[n],
            date_of_birth=dt.date(world.TODAY.year - 3 - n % 12, 1 + n % 12, 1 + n).isoformat(),
            postcode=f"ZZ{n + 30} {n % 10}AB",
            telephone="",
            carers=[],
            former_names=[],
        )
        for n in range(count)
    ]
