"""Whether a server address is safe to send credentials to: the one check the policy and the transport share.

Live servers must use ``https://``. Plain ``http://`` is accepted only for a loopback address
(``localhost``, ``127.0.0.0/8``, ``::1``), which the embedded training server uses. An address may not
carry a user name, password, query or fragment, and its port, if given, must be a real one.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class UnsafeServerUrl(ValueError):
    """The server URL is not safe to use; the message says why (it never repeats the address)."""


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_url_problem(url: str) -> str | None:
    """Say what is wrong with a server address, or return None when it is acceptable."""
    try:
        parts = urlsplit(url.strip())
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return "it is not a valid web address"
    if parts.scheme not in ("https", "http"):
        return "it must start with https://"
    if not parts.hostname:
        return "it must name a server"
    if not port_ok:
        return "its port number is not valid"
    if parts.username is not None or parts.password is not None:
        return "it must not contain a user name or password"
    if parts.query or parts.fragment:
        return "it must not contain a query (?) or fragment (#)"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return "it must start with https:// (http:// is allowed only for this computer's own address)"
    return None


def check_server_url(url: str) -> None:
    """Raise `UnsafeServerUrl` saying what is wrong with `url`, if anything is."""
    problem = server_url_problem(url)
    if problem is not None:
        raise UnsafeServerUrl(problem)
