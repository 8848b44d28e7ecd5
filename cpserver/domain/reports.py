"""Reports on screen, never exported: children missing education (rule 11) and yearly figures."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from cpserver.audit import trail
from cpserver.domain.oversight_scope import authority_filter, list_shown, require_national, require_overseer
from cpserver.domain.retention import in_service_clause
from cpserver.store.models import Alert, Child, Incident, LocalAuthority, User

CME_LIMIT = 5000


def children_missing_education(
    session: Session, actor: User, origin: trail.Origin, *, today: dt.date, age: int, consent_age: int
) -> tuple[list[Child], int]:
    """Children in service with no education setting recorded, in the actor's authority (audited)."""
    require_overseer(actor)
    where = (
        Child.education_setting_id.is_(None),
        authority_filter(actor, Child.local_authority_id),
        in_service_clause(today, age, consent_age),
    )
    total = session.scalar(select(func.count()).select_from(Child).where(*where)) or 0
    children = session.scalars(
        select(Child)
        .where(*where)
        .options(joinedload(Child.local_authority))
        .order_by(Child.family_name, Child.given_name, Child.id)
        .limit(CME_LIMIT)
    ).all()
    list_shown(session, actor, origin, "children_missing_education", list(children))
    return list(children), total


@dataclass
class Figures:
    year: int
    local_authority: str
    incidents: int = 0
    disciplined: int = 0
    procedures_not_followed: int = 0
    training_required: int = 0
    no_misuse: int = 0
    alerts_raised: int = 0
    alerts_dismissed: int = 0


def yearly_figures(session: Session, actor: User) -> list[Figures]:
    """Per year and authority: incidents and their outcomes, alerts raised and dismissed (national team)."""
    require_national(actor)
    names = dict(session.execute(select(LocalAuthority.id, LocalAuthority.name)).tuples().all())
    table: dict[tuple[int, str], Figures] = {}

    def row(year: int, la_id: int | None) -> Figures:
        name = names.get(la_id, "National partners") if la_id is not None else "National partners"
        return table.setdefault((year, name), Figures(year=year, local_authority=name))

    for incident in session.scalars(select(Incident)):
        figures = row(incident.opened_at.year, incident.local_authority_id)
        figures.incidents += 1
        if incident.outcome in ("disciplined", "procedures_not_followed", "training_required", "no_misuse"):
            setattr(figures, incident.outcome, getattr(figures, incident.outcome) + 1)
    counted: dict[tuple[int, int | None], list[int]] = defaultdict(lambda: [0, 0])
    for alert in session.scalars(select(Alert)):
        key = (alert.raised_at.year, alert.local_authority_id)
        counted[key][0] += 1
        if alert.status == "dismissed":
            counted[key][1] += 1
    for (year, la_id), (raised, dismissed) in counted.items():
        figures = row(year, la_id)
        figures.alerts_raised += raised
        figures.alerts_dismissed += dismissed
    return sorted(table.values(), key=lambda f: (-f.year, f.local_authority))
