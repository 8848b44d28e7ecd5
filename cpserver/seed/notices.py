"""The training notice scenarios (`TRAINING_SCENARIOS["notices"]`), acted out through the domain functions.

After the training seed has planted its children, demo practitioners record and end involvements on
days before `today`, so `demo.practitioner` signs in to notices of every kind: a new service with a
child they lead on, an ended one, a shielded child (the management team named as broker), and a
child with a sensitive service (which is never mentioned). Some are answered, some are not, so the
management team's follow-up figures have something to show.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cpserver.audit.trail import Origin
from cpserver.config import Settings
from cpserver.domain import notices
from cpserver.domain.involvements import add_involvement, end_involvement
from cpserver.store.models import Child, Notice, User

ORIGIN = Origin(workstation="TRAINING-SEED", client_address="127.0.0.1")


def _child(session: Session, family: str, born: str) -> Child | None:
    return session.scalar(
        select(Child).where(Child.family_name == family, Child.date_of_birth == dt.date.fromisoformat(born))
    )


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None, f"the demo account {username} is seeded first"
    return user


def plant_notice_scenarios(engine: Engine, scenarios: dict[str, dict[str, str]], today: dt.date) -> int:
    """Act out the notice scenarios; returns how many notices were made (0 if a child is missing)."""
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), training=True)
    noon = dt.datetime.combine(today, dt.time(12, 0), tzinfo=dt.UTC)

    def days_ago(days: int) -> dt.datetime:
        return noon - dt.timedelta(days=days)

    with Session(engine) as session:
        oliver = _child(session, "Thistlewood", scenarios["ordinary"]["date_of_birth"])
        skye = _child(session, "Wrenfield", scenarios["shielded"]["date_of_birth"])
        maya = _child(session, "Brackenbury", scenarios["sensitive"]["date_of_birth"])
        if oliver is None or skye is None or maya is None:
            return 0
        practitioner = _user(session, "demo.practitioner")
        health_visitor = _user(session, "demo.healthvisitor")
        social_worker = _user(session, "demo.socialworker")

        def record(user: User, child: Child, service: str, when: dt.datetime) -> int:
            involvement = add_involvement(
                session,
                user,
                ORIGIN,
                child.cp_id,
                service_type=service,
                started_on=when.date(),
                lead_professional=False,
                assessment_completed=False,
                consent_recorded=False,
                settings=settings,
                now=when,
            )
            return involvement.id

        # Three weeks ago a social worker joined Oliver; demo.practitioner (his lead) contacted them
        # two days later, in time. The social worker never answered theirs.
        social_care = record(social_worker, oliver, "social_care", days_ago(21))
        notices.show_inbox(session, practitioner, ORIGIN, settings, days_ago(19))
        notices.show_inbox(session, social_worker, ORIGIN, settings, days_ago(19))
        for notice in session.scalars(select(Notice).where(Notice.recipient_user_id == practitioner.id)):
            notices.answer_follow_up(
                session, practitioner, ORIGIN, notice.id, "contacted", settings, days_ago(19)
            )
        # Waiting for demo.practitioner at first sign-in:
        record(health_visitor, oliver, "health_visitor", days_ago(3))
        record(practitioner, maya, "family_support", days_ago(2))
        record(health_visitor, skye, "health_visitor", days_ago(2))
        end_involvement(session, social_worker, ORIGIN, social_care, settings=settings, now=days_ago(1))
        session.commit()
        return session.scalar(select(func.count()).select_from(Notice)) or 0
