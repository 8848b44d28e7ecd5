"""Every failure as `{"error": {"code", "message"}}` with a stable code, and no input echoed back."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cpserver.api.middleware import SECURITY_HEADERS
from cpserver.audit.trail import Origin
from cpserver.domain import unstorable_text
from cpserver.domain.errors import DomainError, ErrorKind
from cpserver.store.models import utcnow

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
}


# The HTTP status for each kind of refusal the rules raise (the domain knows no HTTP).
STATUS_OF_KIND = {
    ErrorKind.INVALID: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.THROTTLED: 429,
    ErrorKind.UNAVAILABLE: 503,
}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    # The 500 handler runs outside the middleware stack, so the no-store headers are set here too.
    all_headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
    all_headers.update(headers or {})
    return JSONResponse({"error": body}, status_code=status, headers=all_headers)


# Our own field names (and list positions): anything else in a location is not echoed back.
_KNOWN_FIELD = re.compile(r"[a-z_]{1,40}(\.[a-z0-9_]{1,40})*")


def _field_of(location: tuple[object, ...] | list[object]) -> str | None:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {}
    if exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return error_response(STATUS_OF_KIND[exc.kind], exc.code, exc.message, exc.field, headers)


def _count_unstorable(request: Request, body: object) -> None:
    """Audit (and, for a sign-in, throttle) an attempt refused for unstorable text."""
    route = getattr(request.scope.get("route"), "path", request.url.path)
    authorization = request.headers.get("authorization", "")
    token = authorization[7:] if authorization.lower().startswith("bearer ") else None
    username = body.get("username") if isinstance(body, dict) else None
    workstation = body.get("workstation") if isinstance(body, dict) else None
    with request.app.state.session_factory() as session:
        unstorable_text.record_attempt(
            session,
            request.app.state.settings,
            method=request.method,
            route=str(route),
            token=token,
            username=username if isinstance(username, str) else None,
            origin=Origin(
                workstation=workstation if isinstance(workstation, str) else "",
                client_address=request.client.host if request.client else "unknown",
            ),
            now=utcnow(),
        )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "unstorable_text" for error in errors):
        await run_in_threadpool(_count_unstorable, request, exc.body)
        return error_response(400, unstorable_text.CODE, unstorable_text.MESSAGE)
    first = errors[0] if errors else {}
    field = _field_of(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    if first.get("type") == "extra_forbidden" or (field is not None and not _KNOWN_FIELD.fullmatch(field)):
        # An unknown field's name was chosen by the sender and may itself be personal data.
        return error_response(422, "invalid_request", "The request has a field this call does not accept.")
    # Only the location and pydantic's generic text: never the value that was sent.
    text = str(first.get("msg", "is not valid"))
    message = f"The request is not valid: {field or 'body'}: {text}."
    return error_response(422, "invalid_request", message, field)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's own 400 is a body it could not read (not UTF-8, or cut short).
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = {
        404: "There is nothing at this address.",
        405: "This address does not accept that method.",
    }.get(exc.status_code, "The request could not be handled.")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    # The database cannot be reached or written (gone, read-only, full, timed out, or refusing
    # writes: PostgreSQL reports a read-only transaction as an InternalError). Nothing is
    # disclosed: a record view's audit row is written before any data, in the same transaction.
    return error_response(
        503,
        "service_unavailable",
        "ContactPoint cannot reach its database just now. Try again in a few minutes; "
        "if it keeps happening, contact your service desk.",
        headers={"Retry-After": "30"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unavailable in (OperationalError, InterfaceError, InternalError, SqlTimeoutError):
        app.add_exception_handler(unavailable, _store_unavailable)
