"""Rule 9: records leave search at the 18th birthday (25th with the young person's consent)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, or_

from cpserver.store.models import Child


def years_before(today: dt.date, years: int) -> dt.date:
    """The date `years` years before `today` (28 February for a 29 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def in_service_clause(today: dt.date, age: int, consent_age: int) -> ColumnElement[bool]:
    """SQL condition: the child is findable today (under 18, or under 25 with consent, not archived)."""
    return and_(
        Child.archived_at.is_(None),
        or_(
            Child.date_of_birth > years_before(today, age),
            and_(Child.consent_to_25.is_(True), Child.date_of_birth > years_before(today, consent_age)),
        ),
    )


def in_service(child: Child, today: dt.date, age: int, consent_age: int) -> bool:
    """The same rule for one loaded child."""
    if child.archived_at is not None:
        return False
    limit = years_before(today, consent_age if child.consent_to_25 else age)
    return child.date_of_birth > limit
