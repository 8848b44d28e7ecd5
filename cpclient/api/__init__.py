"""The cpserver API client: HTTP on requests, typed models, user-facing errors. No Qt here."""

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import (
    ApiError,
    BadResponse,
    CertificateRejected,
    ConnectionFailed,
    Forbidden,
    LoginRefused,
    NotFound,
    RequestRejected,
    ServerMismatch,
    ServiceUnavailable,
    SessionExpired,
    Throttled,
    TimedOut,
)
from cpclient.api.server_url import UnsafeServerUrl
from cpclient.api.transport import Transport

__all__ = [
    "ApiError",
    "BadResponse",
    "CertificateRejected",
    "ConnectionFailed",
    "ContactPointClient",
    "Forbidden",
    "LoginRefused",
    "NotFound",
    "RequestRejected",
    "ServerMismatch",
    "ServiceUnavailable",
    "SessionExpired",
    "Throttled",
    "TimedOut",
    "Transport",
    "UnsafeServerUrl",
]
