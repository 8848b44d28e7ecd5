"""Organisation accreditation (rule 1): the national team accredits and withdraws; management teams see
their own authority's organisations, to add users to them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from cpserver.audit import trail
from cpserver.domain.errors import not_found
from cpserver.domain.oversight_scope import authority_filter, refuse_national_lockout, require_national
from cpserver.store.models import Organisation, User


@dataclass(frozen=True)
class OrganisationSummary:
    """An organisation and how many user accounts it has."""

    organisation: Organisation
    users: int


def organisations(session: Session, actor: User) -> list[OrganisationSummary]:
    """Every organisation for the national team; a management team's own authority's."""
    query = (
        select(Organisation)
        .where(authority_filter(actor, Organisation.local_authority_id))
        .options(joinedload(Organisation.local_authority))
        .order_by(Organisation.name)
    )
    found = list(session.scalars(query))
    counts = _user_counts(session)
    return [OrganisationSummary(organisation=o, users=counts.get(o.id, 0)) for o in found]


def set_accreditation(
    session: Session,
    actor: User,
    origin: trail.Origin,
    organisation_id: int,
    *,
    accredited: bool,
    reason: str,
    today: dt.date,
) -> OrganisationSummary:
    """Accredit or withdraw; a withdrawn organisation's users are stopped at their next request."""
    require_national(actor)
    organisation = session.get(Organisation, organisation_id, with_for_update=True)
    if organisation is None:
        raise not_found("organisation_not_found", "There is no organisation with that number.")
    if not accredited:
        refuse_national_lockout(session, organisation.id)
    organisation.accredited = accredited
    organisation.accredited_on = today if accredited else None
    trail.record(
        session,
        action="organisation_accredited" if accredited else "organisation_withdrawn",
        outcome="recorded",
        origin=origin,
        user=actor,
        detail={"organisation_id": organisation.id, "reason": reason},
    )
    users = _user_counts(session, organisation.id).get(organisation.id, 0)
    return OrganisationSummary(organisation=organisation, users=users)


def _user_counts(session: Session, organisation_id: int | None = None) -> dict[int, int]:
    """User accounts per organisation (of one organisation, if given)."""
    query = select(User.organisation_id, func.count()).group_by(User.organisation_id)
    if organisation_id is not None:
        query = query.where(User.organisation_id == organisation_id)
    return dict(session.execute(query).tuples().all())
