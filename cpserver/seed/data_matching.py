"""The training data matching scenario: possible matches and a report waiting for `demo.cmt`.

A fictitious school census has sent rows that resemble children planted for the other scenarios:
Oliver Thistlewood with his given name spelt "Olivier" (a possible match), Tom Ellerby at a new
address (a possible match) and Skye Wrenfield at another address (held because she is shielded:
never made a new visible record without a person). demo.practitioner has reported that Oliver's
address is wrong. Fictitious data only, training databases only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cpserver.domain.feeds.rows import FeedCarer, FeedRow
from cpserver.store.models import Child, FeedBatch, FeedSource, MatchReview, RecordReport, User

SOURCE = "Training school census"


def _child(session: Session, family: str, born: str) -> Child | None:
    return session.scalar(
        select(Child).where(Child.family_name == family, Child.date_of_birth == dt.date.fromisoformat(born))
    )


def _row(child: Child, number: int, today: dt.date, **changes: str) -> FeedRow:
    carers = tuple(
        FeedCarer(
            carer.given_name,
            carer.family_name,
            carer.relationship_to_child,
            carer.parental_responsibility,
            changes.get("address_line1", carer.address_line1),
            "" if "address_line1" in changes else carer.address_line2,
            changes.get("town", carer.town),
            changes.get("postcode", carer.postcode),
            carer.telephone,
        )
        for carer in child.carers
    )
    return FeedRow(
        source_record_id=f"TRAIN-CENSUS-{number:04d}",
        given_name=changes.get("given_name", child.given_name),
        middle_names=child.middle_names,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        gender=child.gender,
        as_of=today,
        address_line1=changes.get("address_line1", child.address_line1),
        address_line2="" if "address_line1" in changes else child.address_line2,
        town=changes.get("town", child.town),
        postcode=changes.get("postcode", child.postcode),
        local_authority=child.local_authority.code,
        telephone=child.telephone,
        carers=carers,
    )


def plant_data_matching(engine: Engine, scenarios: dict[str, dict[str, str]], today: dt.date) -> int:
    """Hold three rows for the management team and file one report; returns how many items were held."""
    received = dt.datetime.combine(today, dt.time(6, 30), tzinfo=dt.UTC) - dt.timedelta(days=1)
    with Session(engine) as session:
        oliver = _child(session, "Thistlewood", scenarios["ordinary"]["date_of_birth"])
        tom = _child(session, "Ellerby", scenarios["missing_education"]["date_of_birth"])
        skye = _child(session, "Wrenfield", scenarios["shielded"]["date_of_birth"])
        reporter = session.scalar(select(User).where(User.username == "demo.practitioner"))
        if oliver is None or tom is None or skye is None or reporter is None:
            return 0
        source = FeedSource(name=SOURCE, kind="national", priority=50, created_at=received)
        session.add(source)
        session.flush()
        batch = FeedBatch(
            source_id=source.id,
            via="file",
            digest="0" * 64,
            status="done",
            received_at=received,
            finished_at=received,
            rows_read=3,
            rows_held=3,
        )
        session.add(batch)
        session.flush()
        held = (
            (oliver, "possible_match", 0.82, {"given_name": "Olivier"}),
            (tom, "possible_match", 0.71, {"address_line1": "14 Quarry Lane", "postcode": "ZZ1 9QL"}),
            (skye, "shielded_candidate", 0.64, {"address_line1": "3 Mill Cottages", "postcode": "ZZ1 7MC"}),
        )
        for number, (child, why, probability, changes) in enumerate(held, start=1):
            row = _row(child, number, today, **changes)
            session.add(
                MatchReview(
                    batch_id=batch.id,
                    source_id=source.id,
                    row_number=number,
                    source_record_id=row.source_record_id,
                    incoming=row.to_json(),
                    candidate_child_pk=child.id,
                    match_probability=probability,
                    held_because=why,
                    local_authority_id=child.local_authority_id,
                    status="open",
                    created_at=received,
                )
            )
        session.add(
            RecordReport(
                child_pk=oliver.id,
                reporter_user_id=reporter.id,
                problem="wrong_address",
                local_authority_id=oliver.local_authority_id,
                status="open",
                created_at=received,
            )
        )
        session.commit()
        return len(held)
