"""Which server addresses the client accepts, and the API base URL for one. Standard library only.

Kept apart from `transport` (which loads requests) so the composition root can refuse a bad
address before anything heavy is imported.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

API_PREFIX = "/api/v1"


class UnsafeServerUrl(ValueError):
    """The server URL is not https (plain http is allowed only on this computer's loopback)."""


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_base(server_url: str) -> str:
    """The API base (`.../api/v1`) for a server URL, after checking that it is safe to use.

    Raises:
        UnsafeServerUrl: not https, or plain http to anything but loopback, or credentials in it.
    """
    parts = urlsplit(server_url.strip())
    host = parts.hostname or ""
    if not host or parts.scheme not in ("https", "http"):
        raise UnsafeServerUrl("the server address must start with https://")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise UnsafeServerUrl("the server address must use https:// (http is only for this computer)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafeServerUrl("the server address must not carry a user name, query or fragment")
    path = parts.path.rstrip("/")
    if not path.endswith(API_PREFIX):
        path += API_PREFIX
    return f"{parts.scheme}://{parts.netloc}{path}"
