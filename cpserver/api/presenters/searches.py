"""Search results as sent: a shielded child's locality is already null in the domain's answer."""

from __future__ import annotations

from cpserver.api.schemas import SearchResponse, SearchResultPublic
from cpserver.domain.search import Outcome


def search_response(outcome: Outcome, max_results: int) -> SearchResponse:
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
        max_results=max_results,
    )
