"""The machine-to-machine endpoint `POST /api/v1/feeds/batches`: a source system, never a person.

A source credential loads a batch and gets its report; a person's session token is refused here,
and a source credential is refused on every route a person uses. Audited as `feed_batch` with the
username `source:<name>`; too large a batch is 413 `batch_too_large`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.api.app import API_PREFIX, create_app
from cpserver.config import Settings
from cpserver.domain.feeds.sources import rotate_credential
from cpserver.store.models import AuditEvent, Child, FeedBatch, SourceRecord
from tests.server import world
from tests.server.conftest import HARVESTING_LIMITS_LIFTED
from tests.server.feeds_support import jsonl, row, source
from tests.server.test_authorization_matrix import EXPECTED, PUBLIC, SAMPLES, World, api_routes

BATCHES = f"{API_PREFIX}/feeds/batches"
NDJSON = {"Content-Type": "application/x-ndjson"}


def as_source(credential: str) -> dict[str, str]:
    return {"Authorization": f"Source {credential}"}


def test_a_source_sends_a_batch_and_gets_its_report(client: TestClient, db: Session) -> None:
    census, credential = source(db)
    response = client.post(
        BATCHES,
        content=jsonl(row(), row(source_record_id="CB-2", gender="unknown")),
        headers={**as_source(credential), **NDJSON},
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["rows_read"], report["rows_created"], report["rows_rejected"]) == (2, 1, 1)
    assert report["rejections"] == [{"row": 2, "code": "unknown_gender"}]
    assert response.headers["cache-control"] == "no-store"
    db.expire_all()
    batch = db.get(FeedBatch, report["batch_id"])
    assert batch is not None and (batch.via, batch.source_id, batch.status) == ("api", census.id, "done")
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "feed_batch"))
    assert audit is not None and (audit.username, audit.user_id, audit.outcome) == (
        "source:census",
        None,
        "done",
    )
    assert audit.detail["batch_id"] == report["batch_id"]
    assert b"Pippa" not in response.content and b"Fernsworth" not in response.content


def test_csv_with_its_content_type(client: TestClient, db: Session) -> None:
    _census, credential = source(db)
    csv = b"source_record_id,given_name,family_name,date_of_birth,gender,as_of,local_authority\n"
    csv += f"CB-9,Tamsin,Greywell,2018-05-05,female,{world.TODAY.isoformat()},SWV\n".encode()
    response = client.post(
        BATCHES, content=csv, headers={**as_source(credential), "Content-Type": "text/csv"}
    )
    assert response.status_code == 201 and response.json()["rows_created"] == 1
    wrong = client.post(
        BATCHES, content=b"name\nTamsin\n", headers={**as_source(credential), "Content-Type": "text/csv"}
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_header"
    other = client.post(
        BATCHES, content=csv, headers={**as_source(credential), "Content-Type": "application/xml"}
    )
    assert other.status_code == 400 and other.json()["error"]["code"] == "unsupported_content_type"


def test_a_persons_session_token_is_refused(client: TestClient, db: Session, as_role: Any) -> None:
    source(db)
    before = db.scalar(select(Child.id).order_by(Child.id.desc()))
    for role in ("practitioner", "cmt", "national"):
        headers = as_role(role)
        token = headers["Authorization"].removeprefix("Bearer ")
        for attempt in (headers, as_source(token), {"Authorization": f"Source {token}"}):
            response = client.post(BATCHES, content=jsonl(row()), headers={**attempt, **NDJSON})
            assert response.status_code == 401, (role, response.text)
            assert response.json()["error"]["code"] == "not_authenticated"
    for attempt in ({}, as_source("cpsrc_" + "x" * 43), {"Authorization": "Source "}):
        assert client.post(BATCHES, content=jsonl(row()), headers={**attempt, **NDJSON}).status_code == 401
    db.expire_all()
    assert db.scalar(select(Child.id).order_by(Child.id.desc())) == before
    refused = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused:not_authenticated")).all()
    assert len(refused) >= 12


def test_a_source_credential_is_refused_on_every_route_a_person_uses(client: TestClient, db: Session) -> None:
    _census, credential = source(db)
    w = World(client, db)
    failures = []
    for key in sorted(api_routes(client)):
        if key == ("POST", BATCHES) or EXPECTED[key].allowed == PUBLIC:
            continue
        method, _template = key
        sample = SAMPLES[key](w, "source")
        for headers in ({"Authorization": f"Bearer {credential}"}, as_source(credential)):
            response = client.request(method, sample.path, json=sample.json, headers=headers)
            if response.status_code != 401:
                scheme = headers["Authorization"].split()[0]
                failures.append(f"{method} {sample.path} with {scheme}: {response.status_code}")
    assert not failures, failures


def test_a_rotated_credential_stops_working(client: TestClient, db: Session) -> None:
    _census, credential = source(db)
    fresh = rotate_credential(db, "census")
    db.commit()
    assert (
        client.post(BATCHES, content=jsonl(row()), headers={**as_source(credential), **NDJSON}).status_code
        == 401
    )
    assert (
        client.post(BATCHES, content=jsonl(row()), headers={**as_source(fresh), **NDJSON}).status_code == 201
    )


@pytest.fixture
def small_client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, feed_batch_max_bytes=4096, **HARVESTING_LIMITS_LIFTED)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_too_large_a_batch_is_413_and_loads_nothing(small_client: TestClient, db: Session) -> None:
    _census, credential = source(db)
    rows = [row(source_record_id=f"CB-{n}") for n in range(20)]
    body = jsonl(*rows)
    assert len(body) > 4096
    response = small_client.post(BATCHES, content=body, headers={**as_source(credential), **NDJSON})
    assert response.status_code == 413 and response.json()["error"]["code"] == "batch_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for item in rows:
            yield jsonl(item)

    streamed = small_client.post(BATCHES, content=chunks(), headers={**as_source(credential), **NDJSON})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "batch_too_large"
    db.expire_all()
    assert db.scalar(select(SourceRecord.id)) is None
    # Other routes keep their own, smaller limit.
    other = small_client.post(
        f"{API_PREFIX}/searches", content=b"x" * 70_000, headers={"Content-Type": "application/json"}
    )
    assert other.status_code == 413 and other.json()["error"]["code"] == "request_too_large"


def test_unstorable_text_in_a_batch_rejects_its_row(client: TestClient, db: Session) -> None:
    _census, credential = source(db)
    escaped = jsonl(row(given_name="Pip\u0000pa"))  # written as the JSON escape \\u0000
    raw_nul = jsonl(row(source_record_id="CB-2")).replace(b"Pippa", b"Pip\x00pa")
    surrogate = jsonl(row(source_record_id="CB-3")).replace(b"Pippa", b"Pip\\ud800pa")
    response = client.post(
        BATCHES, content=escaped + raw_nul + surrogate, headers={**as_source(credential), **NDJSON}
    )
    assert response.status_code == 201, response.text
    # A raw control character inside a JSON string is not JSON at all.
    codes = [item["code"] for item in response.json()["rejections"]]
    assert codes == ["unstorable_text", "bad_json", "unstorable_text"]
    assert b"\x00" not in response.content
