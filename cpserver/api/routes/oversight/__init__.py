"""The oversight area (management teams and the national team): one route module per concept.

The national team may read every authority's lists; acting on them is the local team's job.
"""

from __future__ import annotations

from fastapi import APIRouter

from cpserver.api.routes.oversight import (
    alerts,
    audit_review,
    cme,
    data_matching,
    figures,
    incidents,
    lockdown,
    organisations,
    shielding,
    users,
)

CONCEPTS = (
    users,
    audit_review,
    alerts,
    incidents,
    shielding,
    cme,
    figures,
    organisations,
    lockdown,
    data_matching,
)


def routers() -> list[APIRouter]:
    return [concept.router for concept in CONCEPTS]
