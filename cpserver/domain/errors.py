"""The one exception type the rules raise: an HTTP status, a stable code and a plain-English message."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can meet; the API turns it into `{"error": {code, message, field}}`.

    Messages never contain personal data: they are read by people and may reach logs.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def not_authenticated(message: str = "Sign in to use ContactPoint.") -> DomainError:
    return DomainError(401, "not_authenticated", message)


def session_expired() -> DomainError:
    return DomainError(401, "session_expired", "Your session has ended. Sign in again to carry on.")


def role_not_permitted() -> DomainError:
    return DomainError(403, "role_not_permitted", "Your role does not allow this action.")
