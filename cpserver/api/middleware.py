"""ASGI middleware: no-store headers, a cap on body size, a bound on concurrent requests, lock timing."""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cpserver.audit.chain import LockTiming, request_lock_timing
from cpserver.store.database import StatementCount, request_statements

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class NoStoreMiddleware:
    """Every response says `Cache-Control: no-store`: nothing is kept by a proxy or the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in SECURITY_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = headers + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes with 413 `request_too_large`, before parsing.

    `paths` gives a path its own limit and code (the feed endpoint takes whole batches).
    """

    def __init__(
        self, app: ASGIApp, limit: int = 64 * 1024, paths: dict[str, tuple[int, str]] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, code = self.paths.get(scope.get("path", ""), (self.limit, "request_too_large"))
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(send, code)
                return
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused, started
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 now; the app is told the client went away, so it stops reading.
                    refused = True
                    if not started:
                        started = True
                        await self._refuse(send, code)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(send: Send, code: str) -> None:
        body = json.dumps({"error": {"code": code, "message": "The request is too large."}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class ContainErrorsMiddleware:
    """Answer an unexpected exception with a bare 500 here, so it never reaches the ASGI server.

    Starlette re-raises after its own 500 handler, and uvicorn then logs the exception with its
    text, which can quote personal data (a database error quotes its parameters). Only the
    exception's type is logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            logging.getLogger("cpserver").error("unexpected error: %s", type(error).__name__)
            if started:
                return
            body = json.dumps(
                {
                    "error": {
                        "code": "internal_error",
                        "message": "Something went wrong on the server. Try again later.",
                    }
                }
            ).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers + SECURITY_HEADERS})
            await send({"type": "http.response.body", "body": body})


BUSY_BODY = json.dumps(
    {
        "error": {
            "code": "server_busy",
            "message": "ContactPoint is very busy just now. Wait a few seconds, then try again.",
        }
    }
).encode()


class ConcurrencyLimitMiddleware:
    """At most `limit` requests in progress at once; the rest wait at most `queue_timeout` seconds.

    A request that cannot start in time, or arrives when `max_waiting` are already waiting, is
    answered at once with 503 `server_busy` and `Retry-After`: under overload the server says so
    fast, instead of queueing callers for a database connection until their own timeouts fire.
    With `limit` no larger than the database pool, a request that starts always gets a connection.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        queue_timeout: float,
        retry_after: int,
        max_waiting: int | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.queue_timeout = queue_timeout
        self.retry_after = str(retry_after).encode()
        self.max_waiting = max_waiting if max_waiting is not None else 8 * limit
        self.waiting = 0
        self.refused = 0
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        if slots.locked():
            if self.waiting >= self.max_waiting:
                await self._refuse(send)
                return
            self.waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.queue_timeout)
            except TimeoutError:
                await self._refuse(send)
                return
            finally:
                self.waiting -= 1
        else:
            await slots.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    async def _refuse(self, send: Send) -> None:
        self.refused += 1
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BUSY_BODY)).encode()),
            (b"retry-after", self.retry_after),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers + SECURITY_HEADERS})
        await send({"type": "http.response.body", "body": BUSY_BODY})


class ServerTimingMiddleware:
    """Adds `Server-Timing: chain;dur=<ms>, statements;desc=<n>` (benchmarks only).

    This request's time obtaining audit chains, and how many SQL statements it sent (counted when
    the app's engine has `cpserver.store.database.count_statements`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The route runs in a worker thread on a copy of this context: it adds to this same object.
        timing = LockTiming()
        token = request_lock_timing.set(timing)
        counted = StatementCount()
        counting = request_statements.set(counted)

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = (
                    f"chain;dur={timing.seconds * 1000:.3f}, statements;desc={counted.statements}".encode()
                )
                message["headers"] = [*message.get("headers", []), (b"server-timing", value)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            request_statements.reset(counting)
            request_lock_timing.reset(token)
