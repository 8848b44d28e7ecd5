"""Facts about the database as a whole: training or live, and whether it is locked down."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.store.models import SystemSetting

Mode = Literal["training", "live"]
MODE_KEY = "mode"
LOCKDOWN_KEY = "lockdown"


def get_mode(session: Session) -> Mode | None:
    """ "training", "live", or None for a database never seeded or marked."""
    value = session.scalar(select(SystemSetting.value).where(SystemSetting.key == MODE_KEY))
    if value == "training":
        return "training"
    if value == "live":
        return "live"
    return None


def set_mode(session: Session, mode: Mode) -> None:
    """Mark the database as training or live; a database's mode never changes once set."""
    current = get_mode(session)
    if current is not None and current != mode:
        raise ValueError(f"this is a {current} database; it cannot become {mode}")
    if current is None:
        session.add(SystemSetting(key=MODE_KEY, value=mode))


def is_locked_down(session: Session) -> bool:
    """True while the national team has stopped access for all other users (rule 8)."""
    value = session.scalar(select(SystemSetting.value).where(SystemSetting.key == LOCKDOWN_KEY))
    return value == "on"
