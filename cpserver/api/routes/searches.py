"""`POST /searches`: find children by name and date of birth (criteria never go in a URL)."""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.presenters.searches import search_response
from cpserver.api.schemas import ERROR_RESPONSES, SearchRequest, SearchResponse
from cpserver.domain import search as searching

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)


@router.post("/searches")
def search(body: SearchRequest, actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> SearchResponse:
    """At most `max_results` children; shielded children are never matched on postcode."""
    criteria = searching.Criteria(**body.model_dump())
    outcome = searching.search(db, actor.user, actor.origin, criteria, settings=settings, now=actor.now)
    db.commit()
    return search_response(outcome, settings.search_max_results)
