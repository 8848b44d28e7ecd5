"""Dependencies declared once: the database session, the settings, the mailer, the signed-in user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from cpserver.audit.trail import Origin
from cpserver.config import Settings
from cpserver.domain import detection
from cpserver.domain.notify import Mailer
from cpserver.domain.sessions import authenticate
from cpserver.store.models import Session as LoginSession
from cpserver.store.models import User, utcnow

bearer = HTTPBearer(auto_error=False, description="The token from `POST /sessions`.")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


def get_mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]


@dataclass(frozen=True)
class Actor:
    """The signed-in user of this request, their session, and where they are."""

    user: User
    login: LoginSession
    origin: Origin
    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return self.now.date()


def current_actor(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    now = utcnow()
    login = authenticate(db, credentials.credentials if credentials else None, settings, now)
    address = client_address(request)
    if detection.after_request(db, settings, login, address, now):
        db.commit()
    return Actor(
        user=login.user,
        login=login,
        origin=Origin(workstation=login.workstation, client_address=address),
        now=now,
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]
