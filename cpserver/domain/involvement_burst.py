"""Rule 7 on the notice path: a burst of involvements on unrelated children is flagged and stopped.

Recording an involvement brings notices naming every other practitioner working with the child, so
recording involvements with many unrelated children is a way to harvest contact details. Siblings
(one household: the same postcode, or the same family name where no postcode is held) count once.
Kept apart from `detection`, which other work changes, and called beside it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.config import Settings
from cpserver.domain.detection import raise_alert
from cpserver.store.models import AuditEvent, Child, User

RULE = "involvement_burst"


def households(session: Session, child_pks: set[int]) -> int:
    """How many distinct households these children belong to."""
    rows = session.execute(
        select(Child.postcode_norm, Child.family_norm).where(Child.id.in_(child_pks))
    ).all()
    return len({postcode or f"family:{family}" for postcode, family in rows})


def after_involvement_added(
    session: Session, settings: Settings, user: User, event: AuditEvent, now: dt.datetime
) -> None:
    """Raise a high-severity alert (which suspends) when the user's recent involvements reach the
    limit in distinct households within the window."""
    window = now - dt.timedelta(minutes=settings.involvement_burst_minutes)
    # Bounded: a few times the limit is all the rule needs to look at.
    recent = session.execute(
        select(AuditEvent.seq, AuditEvent.child_pk)
        .where(
            AuditEvent.user_id == user.id,
            AuditEvent.action == "involvement_added",
            AuditEvent.occurred_at >= window,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(settings.involvement_burst_limit * 4)
    ).all()
    children = {child_pk for _, child_pk in recent if child_pk is not None}
    if len(children) < settings.involvement_burst_limit:
        return
    count = households(session, children)
    if count < settings.involvement_burst_limit:
        return
    raise_alert(
        session,
        settings,
        user,
        rule=RULE,
        severity="high",
        summary=f"Recorded involvements with {count} unrelated children in "
        f"{settings.involvement_burst_minutes} minutes (possible harvesting of contact details "
        "through involvement notices).",
        evidence={"audit_seq": sorted(seq for seq, _ in recent)[-20:], "households": count},
        now=now,
    )
