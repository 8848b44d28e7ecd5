"""What can go wrong talking to the server, as typed errors whose `message` is written for the user.

Every error carries a stable `code` (the server's, or one of ours for transport problems), a
plain-English `message` for the screen, the `field` a problem belongs to (when the server names one)
and, for throttling, `retry_after` seconds. `str(error)` is only the class, code and HTTP status, so
an error that reaches a log or a traceback never carries a server message, a request or a response
body (which could hold personal data).
"""

from __future__ import annotations

CONTACT_HELPDESK = "If this keeps happening, contact your ContactPoint management team."


class ApiError(Exception):
    """Base of every error the API client raises.

    Args:
        code: a stable machine code (the server's error code, or one of the codes below).
        message: the plain-English text to show the user.
        field: the request field the problem belongs to, when the server names one.
        retry_after: seconds to wait before trying again (throttling), when known.
        status: the HTTP status, or None when no response arrived.
    """

    default_code = "error"
    default_message = "Something went wrong talking to ContactPoint. " + CONTACT_HELPDESK

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        field: str | None = None,
        retry_after: int | None = None,
        status: int | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.field = field
        self.retry_after = retry_after
        self.status = status
        super().__init__(self.code)

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{type(self).__name__}: {self.code}{status}"

    __repr__ = __str__


class ConnectionFailed(ApiError):
    """The server could not be reached (refused, DNS, TLS, proxy)."""

    default_code = "connection_failed"
    default_message = (
        "ContactPoint cannot be reached. Check that this computer is connected to the network, "
        "then try again. " + CONTACT_HELPDESK
    )


class CertificateRejected(ConnectionFailed):
    """The server's TLS certificate was not trusted: possibly someone intercepting the connection."""

    default_code = "certificate_rejected"
    default_message = (
        "The connection to ContactPoint is not secure: the server's certificate was not accepted. "
        "Do not continue. Contact your IT service desk."
    )


class TimedOut(ApiError):
    """The server did not answer in time."""

    default_code = "timed_out"
    default_message = "ContactPoint took too long to answer. Try again in a moment. " + CONTACT_HELPDESK


class BadResponse(ApiError):
    """The server's answer was not what the contract says (malformed, truncated, too large, wrong shape)."""

    default_code = "bad_response"
    default_message = (
        "ContactPoint sent an answer this program could not understand, so nothing is shown. "
        "Try again. " + CONTACT_HELPDESK
    )


class ServiceUnavailable(ApiError):
    """The service failed or refused to disclose (e.g. the audit trail could not be written)."""

    default_code = "service_unavailable"
    default_message = (
        "ContactPoint is not available at the moment, so nothing was shown. Try again later. "
        + CONTACT_HELPDESK
    )


class ServerBusy(ServiceUnavailable):
    """The server is saturated and refused at once (503 `server_busy`): try again in `retry_after` s."""

    default_code = "server_busy"
    default_message = "ContactPoint is busy just now. Wait a few seconds, then try again."


class SessionExpired(ApiError):
    """The session has ended on the server (timed out, logged out elsewhere, suspended)."""

    default_code = "session_expired"
    default_message = "Your session has ended. Sign in again to continue."


class LoginRefused(ApiError):
    """The server refused to sign the user in: wrong details, or an unmet condition of access."""

    default_code = "invalid_credentials"
    default_message = "The username, password or one-time code is not right. Check them and try again."


class Throttled(ApiError):
    """Too many attempts: wait `retry_after` seconds."""

    default_code = "too_many_attempts"
    default_message = "There have been too many attempts to sign in. Wait, then try again."


class Forbidden(ApiError):
    """The user may not do this (e.g. end someone else's involvement, or the service is locked down)."""

    default_code = "forbidden"
    default_message = "You are not allowed to do that. " + CONTACT_HELPDESK


class NotFound(ApiError):
    """The thing asked for does not exist (or is no longer available)."""

    default_code = "not_found"
    default_message = "That record is no longer available. Search again."


class RequestRejected(ApiError):
    """The server rejected what was sent; `field` says which part when it knows."""

    default_code = "invalid_request"
    default_message = "ContactPoint could not accept that. Check what you entered and try again."


class ServerMismatch(ApiError):
    """A training client met a live server, or a live client met a training server."""

    default_code = "server_mismatch"
    default_message = (
        "This program is connected to the wrong kind of ContactPoint server. " + CONTACT_HELPDESK
    )
