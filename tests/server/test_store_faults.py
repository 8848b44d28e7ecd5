"""Faults in the store: a read-only or vanished database answers 503 and discloses nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings
from tests.server import world
from tests.server.conftest import POSTGRES_URL, log_in

RECORD_FRAGMENTS = (b"Amelia", b"Orchard", b"01632", b"Brambleford", world.ORDINARY_FAMILY.encode())


def _assert_unavailable(response, code="service_unavailable"):
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == code
    assert response.headers["cache-control"] == "no-store"
    for fragment in RECORD_FRAGMENTS:
        assert fragment not in response.content


def test_read_only_store_answers_503_and_discloses_nothing(client, db, database_url, tmp_path):
    headers = log_in(client, db, world.PRACTITIONER)
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        read_only = Settings(database_url=f"sqlite:///file:{path}?mode=ro&uri=true")
    else:
        name = database_url.rsplit("/", 1)[1]
        db.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        db.commit()
        read_only = Settings(database_url=database_url)
    with TestClient(create_app(read_only), raise_server_exceptions=False) as frozen:
        view = frozen.post(
            f"/api/v1/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, headers=headers
        )
        # The session touch or the audit row is the first write; either way nothing leaves.
        assert view.status_code == 503
        assert view.json()["error"]["code"] in {"service_unavailable", "audit_unavailable"}
        _assert_unavailable(view, view.json()["error"]["code"])
        search = frozen.post(
            "/api/v1/searches",
            json={"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()},
            headers=headers,
        )
        _assert_unavailable(search)


def test_vanished_database_answers_503(database_url, db):
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "dropping a live database is a PostgreSQL scenario; SQLite is covered by the read-only test"
        )
    app = create_app(Settings(database_url=database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = log_in(client, db, world.PRACTITIONER)
        db.close()
        admin = sa.create_engine(
            POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
        view = client.post(
            f"/api/v1/children/{world.ORDINARY}/views", json={"reason": "safeguarding"}, headers=headers
        )
        _assert_unavailable(view)
