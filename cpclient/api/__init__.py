"""The cpserver API client: HTTP on requests, typed models, user-facing errors. No Qt here.

The names below are loaded on first use (PEP 562), so importing one light submodule (say
`cpclient.api.errors`) does not load requests and pydantic: the client's window is shown first.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ContactPointClient": "cpclient.api.client",
    "Transport": "cpclient.api.transport",
    "UnsafeServerUrl": "cpclient.api.server_url",
    **{
        name: "cpclient.api.errors"
        for name in (
            "ApiError",
            "BadResponse",
            "CertificateRejected",
            "ConnectionFailed",
            "Forbidden",
            "LoginRefused",
            "NotFound",
            "RequestRejected",
            "ServerBusy",
            "ServerMismatch",
            "ServiceUnavailable",
            "SessionExpired",
            "Throttled",
            "TimedOut",
        )
    },
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
