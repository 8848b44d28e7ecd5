"""The machine-to-machine endpoint: a source system sends a batch of feed rows, and gets its report.

Authenticated as the source (`Authorization: Source <credential>`), never as a person: no user's
token works here, and no source credential works on any user route.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from cpserver.api.deps import client_address
from cpserver.api.presenters.feeds import batch_report_public
from cpserver.api.schemas import ERROR_RESPONSES, FeedBatchReport
from cpserver.domain.feeds.receive import receive_batch, source_of
from cpserver.store.models import FeedSource

router = APIRouter(tags=["feeds"], responses=ERROR_RESPONSES)

BATCH_PATH = "/feeds/batches"


@router.post(
    BATCH_PATH,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def send_batch(request: Request) -> FeedBatchReport:
    """Load one batch (JSON Lines or CSV, docs/feed-format.md); answers the batch's report."""
    factory = request.app.state.session_factory
    mailer = request.app.state.mailer
    settings = request.app.state.settings
    authorization = request.headers.get("authorization")
    address = client_address(request)
    with factory() as session:

        def authenticate() -> FeedSource:
            return source_of(session, authorization, address)

        source = await run_in_threadpool(authenticate)  # before a byte of the body is read
        body = await request.body()

        def load() -> FeedBatchReport:
            report = receive_batch(
                session,
                source,
                body=body,
                content_type=request.headers.get("content-type", ""),
                mailer=mailer,
                settings=settings,
            )
            return batch_report_public(report)

        try:
            return await run_in_threadpool(load)
        except BaseException:
            session.rollback()
            raise
