"""Rule 8: national lockdown state (the national team's controls come with the oversight work)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.store.models import SystemSetting

LOCKDOWN_KEY = "lockdown"


def is_locked_down(session: Session) -> bool:
    """True while the national team has stopped access for all other users."""
    value = session.scalar(select(SystemSetting.value).where(SystemSetting.key == LOCKDOWN_KEY))
    return value == "on"
