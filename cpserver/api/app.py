"""The FastAPI application: routes under `/api/v1`, errors, headers, and the start-up checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import Engine

from cpserver.api import errors
from cpserver.api.middleware import (
    BodyLimitMiddleware,
    ConcurrencyLimitMiddleware,
    ContainErrorsMiddleware,
    NoStoreMiddleware,
    ServerTimingMiddleware,
)
from cpserver.api.routes import children, feeds, meta, notices, oversight, searches, sessions
from cpserver.audit.scheduler import start_checkpoints
from cpserver.config import Settings, get_settings
from cpserver.domain.notify import Mailer
from cpserver.mail import SmtpMailer
from cpserver.retention_schedule import start_retention
from cpserver.store.database import count_statements, make_engine, make_session_factory
from cpserver.store.migrate import is_current
from cpserver.store.system import get_mode

API_PREFIX = "/api/v1"


class StartupRefused(RuntimeError):
    """The server must not start on this database (wrong mode, or schema not migrated)."""


def check_database(engine: Engine, settings: Settings) -> None:
    """Refuse a training database as live, a live one as training, and an unmigrated one."""
    if not is_current(engine):
        raise StartupRefused("The database schema is not up to date: run `cpserver migrate` first.")
    factory = make_session_factory(engine)
    with factory() as session:
        mode = get_mode(session)
    wanted = "training" if settings.training else "live"
    if mode is None:
        raise StartupRefused(
            "The database has not been set up: run `cpserver seed` (or load live data) first."
        )
    if mode != wanted:
        raise StartupRefused(
            f"This is a {mode} database; a {wanted} server refuses to serve it."
            + (" Start the server with --training." if mode == "training" else "")
        )


def pool_sizes(settings: Settings) -> dict[str, Any]:
    """One connection for each request allowed in progress, two for background work, no overflow.

    A request holds one connection from authentication to its answer; it never waits for one,
    because no more requests run than there are connections (ConcurrencyLimitMiddleware).

    No pre-ping: it would cost every request a round trip. After a database restart a request on
    a dead connection fails once with 503 (a disconnect invalidates the whole pool, so the next
    requests get new connections): nothing is disclosed, and the client says try again.
    """
    if settings.database_url.startswith("sqlite"):
        return {}
    return {
        "pool_size": settings.max_concurrent_requests + 2,
        "max_overflow": 0,
        "pool_timeout": 5,
        "pool_pre_ping": False,
    }


class ServerOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: str


def server_options(settings: Settings) -> ServerOptions:
    """uvicorn's options for `settings`: X-Forwarded-For only from the proxies named in settings.

    uvicorn believes the header from 127.0.0.1 unless told otherwise, which would let any local
    process choose the address that throttling, the audit trail and detection see.
    """
    if settings.forwarded_allow_ips:
        return ServerOptions(proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)
    return ServerOptions(proxy_headers=False, forwarded_allow_ips="")


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, mailer: Mailer | None = None
) -> FastAPI:
    """The application for `settings` (the environment's by default) on `engine` (or its URL).

    E-mail goes through `mailer`, by default SMTP to the server the settings name.
    """
    settings = settings or get_settings()
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url, **pool_sizes(settings))
    try:
        check_database(engine, settings)
    except StartupRefused:
        if own_engine:
            engine.dispose()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Every request in progress may hold a worker thread: never fewer threads than requests.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.max_concurrent_requests + 8)
        checkpointing = start_checkpoints(engine, settings)
        app.state.retention = start_retention(engine, settings)
        try:
            yield
        finally:
            if app.state.retention is not None:
                await app.state.retention.stop()
            if checkpointing is not None:
                await checkpointing.stop()
            if own_engine:
                engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="cpserver",
        version="1",
        description="The ContactPoint directory's backend API.",
        openapi_url=None if settings.production else "/openapi.json",
        docs_url=None if settings.production else "/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.mailer = mailer or SmtpMailer(settings)
    errors.install(app)
    for router in (
        sessions.router,
        meta.router,
        searches.router,
        children.router,
        notices.router,
        feeds.router,
        *oversight.routers(),
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.add_middleware(
        BodyLimitMiddleware,
        paths={API_PREFIX + feeds.BATCH_PATH: (settings.feed_batch_max_bytes, "batch_too_large")},
    )
    if settings.server_timing:
        count_statements(engine)
        app.add_middleware(ServerTimingMiddleware)
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.max_concurrent_requests,
        queue_timeout=settings.queue_timeout_seconds,
        retry_after=settings.busy_retry_after_seconds,
    )
    app.add_middleware(NoStoreMiddleware)
    # Outermost of ours (added last): nothing the app raises reaches uvicorn's logs.
    app.add_middleware(ContainErrorsMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """The application for the `CPSERVER_*` environment: what each `--workers` process serves."""
    return create_app(Settings())
