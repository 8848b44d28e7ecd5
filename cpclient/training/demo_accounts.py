"""The training server's demo accounts, their shared password, and their current one-time code.

These exist only in training databases (fictitious data). The one-time code is computed here from
the published demo secret so a trainer need not carry an authenticator for each account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# Published on purpose: they work only on training databases (fictitious data).
DEMO_PASSWORD = "training-only"  # noqa: S105
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105


@dataclass(frozen=True)
class DemoAccount:
    """A demo account and what it shows a trainee."""

    username: str
    shows: str


# What each demo account shows a trainee; the list of accounts itself comes from the training seed.
SHOWS: dict[str, str] = {
    "demo.practitioner": "Practitioner (family support): search, open, record involvement",
    "demo.cmt": "Management team: sees shielded details, audited",
    "demo.national": "National team: lockdown, organisations, yearly figures",
    "demo.national2": "Second national team member: confirms a restore after lockdown",
    "demo.healthvisitor": "Practitioner (health visitor)",
    "demo.schoolnurse": "Practitioner (school nurse): recorded a sensitive service",
    "demo.socialworker": "Practitioner (social worker)",
    "demo.othercouncil": "Practitioner in another local authority",
    "demo.emergency": "Practitioner (emergency duty) who may override shielding, with a warning",
    "demo.suspended": "Refused: account suspended",
    "demo.crbexpired": "Refused: criminal records check expired",
    "demo.untrained": "Refused: mandatory training not completed",
    "demo.noagreement": "Refused: end-user agreement not signed",
    "demo.noprocedures": "Refused: security procedures not received",
    "demo.unaccredited": "Refused: organisation not accredited",
}


def demo_accounts() -> list[DemoAccount]:
    """The training seed's demo accounts, in its order (the ones described here if it is absent)."""
    usernames: tuple[str, ...] = tuple(SHOWS)
    try:
        from cpserver import seed
    except ImportError:
        pass
    else:
        usernames = tuple(seed.DEMO_ACCOUNTS)
    return [DemoAccount(name, SHOWS.get(name, "Demo account")) for name in usernames]


def demo_code(at: float | None = None) -> str:
    """The demo accounts' one-time code now (or at Unix time `at`)."""
    import pyotp

    return pyotp.TOTP(DEMO_TOTP_SECRET).at(int(time.time() if at is None else at))
