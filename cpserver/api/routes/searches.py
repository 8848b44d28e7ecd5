"""`POST /searches`: find children by name and date of birth (criteria never go in a URL)."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.schemas import (
    ERROR_RESPONSES,
    SearchRequest,
    SearchResponse,
    SearchResultPublic,
)
from cpserver.audit import trail
from cpserver.domain import detection, harvesting, rate_limits
from cpserver.domain.search import Criteria, check_criteria, find_children

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)


@router.post("/searches")
def search(body: SearchRequest, actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> SearchResponse:
    """At most `max_results` children; shielded children are never matched on postcode."""
    typed = body.model_dump(mode="json", exclude_none=True)
    rate_limits.check(db, settings, actor.user, actor.origin, "search", actor.now, detail={"criteria": typed})
    criteria = Criteria(**body.model_dump())
    check_criteria(criteria, max_range_days=settings.search_max_dob_range_days, today=actor.today)
    outcome = find_children(
        db,
        criteria,
        today=actor.today,
        age=settings.retention_age_years,
        consent_age=settings.retention_consent_age_years,
        max_results=settings.search_max_results,
        user=actor.user,
    )
    # The criteria are kept in the audit trail (never in logs) for misuse investigations.
    event = trail.record(
        db,
        action="search",
        outcome="results" if outcome.results else "no_results",
        origin=actor.origin,
        user=actor.user,
        detail={"criteria": typed, "count": len(outcome.results)},
    )
    if settings.detection_enabled:
        detection.after_search(
            db, settings, actor.user, event, body.family, actor.now, postcode=body.postcode
        )
        harvesting.after_access(db, settings, actor.user, "search", actor.now)
    db.commit()
    return SearchResponse(
        results=[
            SearchResultPublic(
                id=found.cp_id,
                given=found.given,
                family=found.family,
                date_of_birth=found.date_of_birth,
                gender=found.gender,
                locality=found.locality,
                shielded=found.shielded,
                exact_match=found.exact_match,
            )
            for found in outcome.results
        ],
        more=outcome.more,
        max_results=settings.search_max_results,
        user=actor.user,
    )
