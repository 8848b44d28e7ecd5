"""The training server's demo accounts, their shared password, and their current one-time code.

These exist only in training databases (fictitious data). The accounts, the password and the secret
come from the seed's training contract (`cpserver.seed.training_contract`), which writes them; the
one-time code is computed here from the published demo secret so a trainer need not carry an
authenticator for each account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cpserver.seed.training_contract import DEMO_PASSWORD, DEMO_TOTP_SECRET, DEMO_USERS

__all__ = ["DEMO_PASSWORD", "DEMO_TOTP_SECRET", "SHOWS", "DemoAccount", "demo_accounts", "demo_code"]


@dataclass(frozen=True)
class DemoAccount:
    """A demo account and what it shows a trainee."""

    username: str
    shows: str


# What each demo account shows a trainee, by username.
SHOWS: dict[str, str] = {demo.username: demo.shows for demo in DEMO_USERS}


def demo_accounts() -> list[DemoAccount]:
    """The training seed's demo accounts, in its order."""
    return [DemoAccount(demo.username, demo.shows) for demo in DEMO_USERS]


def demo_code(at: float | None = None) -> str:
    """The demo accounts' one-time code now (or at Unix time `at`)."""
    import pyotp  # here, not at import: the sign-in window is shown before it is needed

    return pyotp.TOTP(DEMO_TOTP_SECRET).at(int(time.time() if at is None else at))
