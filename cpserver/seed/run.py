"""The seed's entry point: `seed_database` writes the reference data, then streams the children in.

Reference data first, in one transaction; then the children, generated in a thread while the previous
batch is written, one transaction per batch, so memory stays bounded however many are asked for. If
seeding fails part-way, the database is left part-seeded: start again with a new database.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cpserver.seed.background import in_background
from cpserver.seed.children import (
    CARER_COLUMNS,
    CHILD_COLUMNS,
    FORMER_NAME_COLUMNS,
    INVOLVEMENT_COLUMNS,
    ChildStream,
    Counts,
)
from cpserver.seed.data_matching import plant_data_matching
from cpserver.seed.notices import plant_notice_scenarios
from cpserver.seed.reference import write_reference
from cpserver.seed.training_contract import TRAINING_SCENARIOS
from cpserver.store import models
from cpserver.store.bulk_load import BulkLoad, write_rows
from cpserver.store.system import set_mode


@dataclass(frozen=True)
class SeedSummary:
    """What `seed_database` wrote, for the CLI to report."""

    children: int
    shielded: int
    without_education: int
    past_18: int
    users: int
    seconds: float


def seed_database(
    engine: Engine,
    *,
    children: int,
    training: bool,
    random_seed: int = 2009,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Fill a migrated, empty database with fictitious data and mark it training or live.

    Raises ValueError if the database already holds data, or `children` is negative, or the
    database is neither SQLite nor PostgreSQL.
    """
    if children < 0:
        raise ValueError("the number of children cannot be negative")
    if engine.dialect.name not in ("sqlite", "postgresql"):
        raise ValueError(f"seeding supports SQLite and PostgreSQL, not {engine.dialect.name}")
    started = time.perf_counter()
    today = today or dt.date.today()

    with Session(engine) as session, session.begin():
        _refuse_if_seeded(session)
        set_mode(session, "training" if training else "live")
        reference = write_reference(
            session, children=children, training=training, random_seed=random_seed, today=today
        )

    counts = Counts()
    stream = ChildStream(reference, training=training, random_seed=random_seed, today=today)
    with engine.connect() as connection, BulkLoad(connection):
        for batch in in_background(stream.batches(children, counts)):
            with connection.begin():
                write_rows(connection, "children", CHILD_COLUMNS, batch.children)
                write_rows(connection, "carers", CARER_COLUMNS, batch.carers)
                write_rows(connection, "involvements", INVOLVEMENT_COLUMNS, batch.involvements)
                write_rows(connection, "former_names", FORMER_NAME_COLUMNS, batch.former_names)
            if progress is not None:
                progress(batch.done)
    if training:
        plant_notice_scenarios(engine, TRAINING_SCENARIOS, today)
        plant_data_matching(engine, TRAINING_SCENARIOS, today)

    return SeedSummary(
        children=counts.children,
        shielded=counts.shielded,
        without_education=counts.without_education,
        past_18=counts.past_18,
        users=reference.user_count,
        seconds=time.perf_counter() - started,
    )


def _refuse_if_seeded(session: Session) -> None:
    for table in (models.LocalAuthority, models.Child, models.User):
        if session.scalar(select(table.id).limit(1)) is not None:
            raise ValueError(
                "this database already holds data; seed only a new, empty database "
                "(create a new database file or schema and migrate it first)"
            )
