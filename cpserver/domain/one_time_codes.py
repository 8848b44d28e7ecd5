"""Rule 2: the second factor, a TOTP code (pyotp) that is accepted once only."""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp

from cpserver.store.models import User

STEP_SECONDS = 30
# Accept the previous and next 30-second step too, for clock drift.
DRIFT_STEPS = 1


def accept_code(user: User, code: str, now: dt.datetime) -> bool:
    """True, and the code's step remembered, when `code` is valid and not used before."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            user.totp_last_step = step
            return True
    return False
