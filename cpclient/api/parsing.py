"""Turns an HTTP answer (status, headers, body bytes) into a typed model, or into the right `ApiError`.

This is the only place response bodies are interpreted. Whatever arrives (garbage, the wrong
shape, an error body that lies about itself), the result is a model or an `ApiError`; nothing of the
body is ever put into an exception, so personal data cannot leak into a log through an error.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import TypeAdapter, ValidationError

from cpclient.api.errors import (
    ApiError,
    BadResponse,
    Forbidden,
    LoginRefused,
    NotFound,
    RequestRejected,
    ServerBusy,
    ServiceUnavailable,
    SessionExpired,
    Throttled,
)
from cpclient.api.models import ErrorBody, ErrorDetail

T = TypeVar("T")
Context = Literal["login", "session", "public"]

MAX_MESSAGE_CHARS = 600
MAX_CODE_CHARS = 64
MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_ERROR_BODY = TypeAdapter(ErrorBody)
_SESSION_ENDED = frozenset({"session_expired", "not_authenticated", "session_ended", "token_invalid"})


def is_json(headers: Mapping[str, str]) -> bool:
    """True when the Content-Type says JSON."""
    content_type = headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def parse_body(status: int, headers: Mapping[str, str], body: bytes, adapter: TypeAdapter[T]) -> T:
    """The model in a successful answer's body.

    Raises:
        BadResponse: the body is not JSON of the expected shape.
    """
    if is_json(headers):
        try:
            return adapter.validate_json(body, strict=True)
        except (ValidationError, ValueError, RecursionError):
            # Raised below, outside this handler, so the validation error (which quotes the
            # body) is not chained to ours.
            pass
    raise BadResponse(status=status)


def clean_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Server text made safe to show: no control or direction-override characters, bounded length."""
    text = _CONTROL.sub("", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> int | None:
    """The `Retry-After` header as whole seconds (it may be seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = int(value[:9])
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        now = now or dt.datetime.now(dt.UTC)
        seconds = int((when - now).total_seconds() + 0.999)
    return max(0, min(seconds, MAX_RETRY_AFTER_SECONDS))


def error_detail(headers: Mapping[str, str], body: bytes) -> ErrorDetail | None:
    """The `{"error": {...}}` detail of an error answer, cleaned, or None when there is none."""
    if not is_json(headers):
        return None
    detail: ErrorDetail | None = None
    try:
        detail = _ERROR_BODY.validate_json(body, strict=True).error
    except (ValidationError, ValueError, RecursionError):
        detail = None
    if detail is None:
        return None
    code = detail.code.strip()
    if len(code) > MAX_CODE_CHARS or not _CODE.match(code):
        return None
    field = detail.field
    if field is not None and (len(field) > MAX_CODE_CHARS or not _CODE.match(field)):
        field = None
    return ErrorDetail(code=code, message=clean_text(detail.message), field=field)


def error_for(status: int, headers: Mapping[str, str], body: bytes, context: Context) -> ApiError:
    """The `ApiError` for an unsuccessful answer.

    Args:
        status: the HTTP status.
        headers: the response headers (lower-case names).
        body: the (size-capped) body.
        context: "login" for `POST /sessions` (401 and 403 refuse the login), "session" for calls
            made with a token (401 means the session has ended), "public" for calls without one.
    """
    detail = error_detail(headers, body)
    code = detail.code if detail else None
    message = (detail.message or None) if detail else None
    field = detail.field if detail else None

    if status == 429:
        return Throttled(
            code or "too_many_attempts",
            message,
            retry_after=retry_after_seconds(headers.get("retry-after")),
            status=status,
        )
    if status == 503 and code == "server_busy":
        # Our own words, whatever the server sent: the user must read "busy, try again".
        return ServerBusy(retry_after=retry_after_seconds(headers.get("retry-after")), status=status)
    if status >= 500:
        return ServiceUnavailable(code, message, status=status)
    if status == 401:
        if context == "login" and code not in _SESSION_ENDED:
            return LoginRefused(code or "invalid_credentials", message, status=status)
        return SessionExpired(code or "session_expired", message, status=status)
    if status == 403:
        if context == "login":
            return LoginRefused(code or "access_refused", message, status=status)
        return Forbidden(code, message, status=status)
    if status == 404:
        return NotFound(code, message, status=status)
    if status in (400, 409, 413, 422):
        return RequestRejected(code, message, field=field, status=status)
    return BadResponse(status=status)
