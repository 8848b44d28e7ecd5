"""The one exception type the rules raise: a kind of refusal, a stable code and a plain-English message.

The domain says what kind of refusal it is; the API layer (`cpserver.api.errors`) decides the HTTP
status for each kind.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    """What kind of refusal: the API maps each kind to one HTTP status."""

    INVALID = "invalid"  # the request cannot be acted on as it stands (400)
    UNAUTHENTICATED = "unauthenticated"  # nobody (or nobody any more) is signed in (401)
    FORBIDDEN = "forbidden"  # this user may not do this (403)
    NOT_FOUND = "not_found"  # there is no such thing (404)
    CONFLICT = "conflict"  # the thing is not in a state that allows this (409)
    THROTTLED = "throttled"  # too many attempts: wait (429)
    UNAVAILABLE = "unavailable"  # the service cannot do this just now (503)


class DomainError(Exception):
    """A refusal the user can meet; the API turns it into `{"error": {code, message, field}}`.

    Messages never contain personal data: they are read by people and may reach logs.
    `retry_after_seconds` says how long to wait, where the rule knows.
    """

    def __init__(
        self,
        kind: ErrorKind,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(code)
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_seconds = retry_after_seconds


def invalid(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.INVALID, code, message, field=field)


def not_found(code: str, message: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, code, message)


def conflict(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.CONFLICT, code, message, field=field)


def forbidden(code: str, message: str) -> DomainError:
    return DomainError(ErrorKind.FORBIDDEN, code, message)


def not_authenticated(message: str = "Sign in to use ContactPoint.") -> DomainError:
    return DomainError(ErrorKind.UNAUTHENTICATED, "not_authenticated", message)


def session_expired() -> DomainError:
    return DomainError(
        ErrorKind.UNAUTHENTICATED, "session_expired", "Your session has ended. Sign in again to carry on."
    )


def role_not_permitted() -> DomainError:
    return forbidden("role_not_permitted", "Your role does not allow this action.")


def child_not_found() -> DomainError:
    return not_found("child_not_found", "There is no record with that ContactPoint ID.")
