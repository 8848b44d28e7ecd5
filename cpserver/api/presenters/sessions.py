"""A signed-in user and their new session, as sent to the client."""

from __future__ import annotations

from cpserver.api.presenters.records import management_contact
from cpserver.api.schemas import SessionPublic, UserPublic
from cpserver.config import Settings
from cpserver.domain.sessions import NewSession
from cpserver.store.models import User


def user_public(user: User) -> UserPublic:
    la = user.local_authority
    return UserPublic(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        job_title=user.job_title,
        organisation=user.organisation.name,
        local_authority=la.name if la else None,
        management_contact=management_contact(la) if la else None,
        may_override_shield=user.may_override_shield,
    )


def session_public(new: NewSession, user: User, settings: Settings) -> SessionPublic:
    return SessionPublic(
        token=new.token,
        expires_at=new.row.expires_at,
        idle_timeout_seconds=settings.session_idle_minutes * 60,
        user=user_public(user),
    )
