"""Server test fixtures: a fresh real database per test, on SQLite and on PostgreSQL.

Each backend builds a migrated template holding `world.build_world` once per run; every test gets
a copy (a file copy for SQLite, `CREATE DATABASE ... TEMPLATE` for PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.migrate import upgrade
from cpserver.store.models import User
from tests.server import world

# Most server tests act out many searches and views by one user within seconds, which is what the
# rate limits and the volume escalation exist to stop. They are lifted here; tests/server/
# test_harvesting.py (and test_detection.py's normal day) exercise them at their real values.
HARVESTING_LIMITS_LIFTED: dict[str, int] = {
    "search_limit_minute": 10**6,
    "search_limit_hour": 10**6,
    "search_limit_day": 10**6,
    "view_limit_minute": 10**6,
    "view_limit_hour": 10**6,
    "view_limit_day": 10**6,
    "view_volume_high_hour": 10**6,
    "view_volume_high_day": 10**6,
    "search_volume_hour": 10**6,
    "search_volume_high_hour": 10**6,
    "search_volume_high_day": 10**6,
}
POSTGRES_URL = os.environ.get("CPSERVER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
WORKSTATION = "WS-TEST-0001"


def _postgres_admin() -> Engine | None:
    engine = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError:
        engine.dispose()
        return None
    return engine


def _pg_url(name: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}", sqlite_immediate=False)
    upgrade(engine)
    with make_session_factory(engine).begin() as session:
        world.build_world(session)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    admin = _postgres_admin()
    if admin is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}, and CI is set: it must run there.")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (set CI to make this a failure)")
    name = f"cp_tmpl_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_pg_url(name))
    upgrade(engine)
    with make_session_factory(engine).begin() as session:
        world.build_world(session)
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the world, on each backend in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "cp.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"cp_t_{uuid.uuid4().hex[:10]}"
    admin = _postgres_admin()
    assert admin is not None
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    yield _pg_url(name)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's own engine, for arranging and checking; the app under test has its own.

    Deferred transactions (not `BEGIN IMMEDIATE`), so a test that only looks never holds the
    write lock the server's requests need.
    """
    engine = make_engine(database_url, sqlite_immediate=False)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on the test database, for arranging and checking (commit what you change)."""
    factory: sessionmaker[Session] = make_session_factory(engine)
    with factory() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, **HARVESTING_LIMITS_LIFTED)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def fresh_code(db: Session, username: str) -> str:
    """A one-time code the server has not seen for this user (codes work once: forget the last)."""
    db.execute(sa.update(User).where(User.username == username).values(totp_last_step=0))
    db.commit()
    return pyotp.TOTP(world.TOTP_SECRET).now()


def login_body(db: Session, username: str, /, **overrides: Any) -> dict[str, Any]:
    body = {
        "username": username,
        "password": world.PASSWORD,
        "otp": fresh_code(db, username),
        "workstation": WORKSTATION,
    }
    body.update(overrides)
    return body


def log_in(client: TestClient, db: Session, username: str) -> dict[str, str]:
    """Log `username` in and return the Authorization header."""
    response = client.post("/api/v1/sessions", json=login_body(db, username))
    assert response.status_code == 201, response.json()
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def as_role(client: TestClient, db: Session) -> Any:
    """`as_role("practitioner")` → headers for a logged-in user of that role (or a username)."""

    def headers(role_or_username: str) -> dict[str, str]:
        username = world.ROLE_USERS.get(role_or_username, role_or_username)
        return log_in(client, db, username)

    return headers
