"""The training server's demo accounts, their shared password, and their current one-time code.

These exist only in training databases (fictitious data). The one-time code is computed here from
the published demo secret so a trainer need not carry an authenticator for each account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp

# Published on purpose: they work only on training databases (fictitious data).
DEMO_PASSWORD = "training-only"  # noqa: S105
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105


@dataclass(frozen=True)
class DemoAccount:
    """A demo account and what it shows a trainee."""

    username: str
    shows: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo.practitioner", "Practitioner (family support): search, open, record involvement"),
    DemoAccount("demo.cmt", "Management team: sees shielded details, audited"),
    DemoAccount("demo.national", "National team"),
    DemoAccount("demo.healthvisitor", "Practitioner (health visitor)"),
    DemoAccount("demo.schoolnurse", "Practitioner (school nurse): recorded a sensitive service"),
    DemoAccount("demo.socialworker", "Practitioner (social worker)"),
    DemoAccount("demo.othercouncil", "Practitioner in another local authority"),
    DemoAccount("demo.suspended", "Refused: account suspended"),
    DemoAccount("demo.crbexpired", "Refused: criminal records check expired"),
    DemoAccount("demo.untrained", "Refused: mandatory training not completed"),
    DemoAccount("demo.noagreement", "Refused: end-user agreement not signed"),
    DemoAccount("demo.noprocedures", "Refused: security procedures not received"),
    DemoAccount("demo.unaccredited", "Refused: organisation not accredited"),
)


def demo_code(at: float | None = None) -> str:
    """The demo accounts' one-time code now (or at Unix time `at`)."""
    return pyotp.TOTP(DEMO_TOTP_SECRET).at(int(time.time() if at is None else at))
