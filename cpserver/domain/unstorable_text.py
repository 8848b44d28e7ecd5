"""Text the database cannot store (a NUL character, a lone surrogate) is refused, and still counted.

PostgreSQL cannot store U+0000 in text, and neither database can encode half of a surrogate
pair: such text is refused before any rule runs, with 400 `invalid_characters`. The attempt is
not thereby invisible: a sign-in attempt counts against the throttles as a failure, and every
other attempt is audited under its action (so searches and views count towards the rate limits).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain import throttle
from cpserver.domain.errors import DomainError
from cpserver.domain.sessions import authenticate

CODE = "invalid_characters"
MESSAGE = (
    "The request contains characters ContactPoint cannot store (such as a NUL character). "
    "Remove them and try again."
)


def unstorable(text: str) -> bool:
    """True when `text` holds U+0000 or a lone surrogate (U+D800 to U+DFFF)."""
    return any(char == "\x00" or "\ud800" <= char <= "\udfff" for char in text)


def holds_unstorable(value: object) -> bool:
    """Whether any string anywhere in a parsed JSON value (keys included) is unstorable."""
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, Mapping):
        return any(holds_unstorable(key) or holds_unstorable(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(holds_unstorable(item) for item in value)
    return False


def storable(text: str, limit: int) -> str:
    """`text` without the characters that cannot be stored, cut to `limit` (for audit rows)."""
    return "".join(char for char in text if not unstorable(char))[:limit]


def _counted_as(method: str, route: str) -> tuple[str, str]:
    """The action and outcome of the audit row: searches and record views under their own action
    (so the rate limits count them), anything else as a refused request."""
    if (method, route) == ("POST", "/searches"):
        return "search", "refused:" + CODE
    if method == "POST" and route.startswith("/children/") and route.endswith("/views"):
        return "view", "denied:" + CODE
    return "request_refused", CODE


def record_attempt(
    session: Session,
    settings: Settings,
    *,
    method: str,
    route: str,
    token: str | None,
    username: str | None,
    origin: trail.Origin,
    now: dt.datetime,
) -> None:
    """Count and audit a refused request whose body held unstorable text, and commit.

    `route` is the route's path template, with or without the `/api/v1` prefix.
    """
    route = route.removeprefix("/api/v1")
    if (method, route) == ("POST", "/sessions"):
        keys = [throttle.address_key(origin.client_address)]
        if username:
            keys.append(throttle.account_key(storable(username, 100)))
        limits = [settings.throttle_address_failures, settings.throttle_account_failures]
        for key, limit in zip(keys, limits, strict=False):
            throttle.record_failure(session, key, limit, settings, now)
        trail.record(
            session,
            action="login",
            outcome="failed:" + CODE,
            origin=trail.Origin(storable(origin.workstation, 100), origin.client_address),
        )
        session.commit()
        return
    try:
        login = authenticate(session, token, settings, now)
    except DomainError:
        return  # not signed in: refused before it could reach anything
    action, outcome = _counted_as(method, route)
    trail.record(
        session,
        action=action,
        outcome=outcome,
        origin=trail.Origin(login.workstation, origin.client_address),
        user=login.user,
        detail={"route": f"{method} {route}"[:200]},
    )
    session.commit()
