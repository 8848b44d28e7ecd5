"""A council feed's services, diffed, and the practitioners working with the child told (both databases).

A service the council sends again keeps its row and id; a new one is inserted and told to the
practitioners working with the child, as a practitioner's new involvement is (the same decision of
what each may see: a shielded child's details withheld, a sensitive service told to nobody); one
the council no longer sends is ended, not deleted, so the notices about it stay valid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.store.models import Child, FeedSource, Involvement, Notice, SourceRecord, User
from tests.server import world
from tests.server.conftest import log_in
from tests.server.feeds_support import jsonl, load, row, source

API = "/api/v1"
# Detection's out-of-hours and burst rules are not what these tests are about.
CALM = {"working_hours_start": 0, "working_hours_end": 24, "working_days": "0,1,2,3,4,5,6"}
SERVICE: dict[str, Any] = {
    "service_type": "family_support",
    "organisation_name": "Brambleford Family Centre",
    "practitioner_name": "Robin Ashdown",
    "practitioner_role": "Family support worker",
    "telephone": "01632 960888",
    "email": "robin.ashdown@brambleford.example",
    "started_on": "2026-01-05",
}
LATER_SERVICE: dict[str, Any] = {
    "service_type": "education_welfare",
    "organisation_name": "Northmere Education Welfare",
    "practitioner_name": "Kit Yarrow",
    "telephone": "01632 960444",
    "email": "kit.yarrow@northmere.example",
    "started_on": "2026-02-01",
}
SENSITIVE_SERVICE: dict[str, Any] = {
    "service_type": "mental_health",
    "organisation_name": "Northmere Wellbeing",
    "practitioner_name": "Lee Marchbank",
    "telephone": "01632 960333",
    "consent_recorded": True,
}
# What the feed says about its services: none of it may reach someone the record would withhold it from.
SERVICE_BYTES = [b"robin ashdown", b"960888", b"kit yarrow", b"960444", b"lee marchbank", b"mental_health"]


def day(offset: int) -> str:
    return (world.TODAY + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(database_url=database_url, **CALM)), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.fixture
def council(db: Session) -> FeedSource:
    found, _ = source(db, "northmere-cs", kind="local_authority", priority=60, authority="NMR")
    return found


def cp_id_of(db: Session, feed: FeedSource, record_id: str = "CB-000001") -> str:
    db.expire_all()
    found = db.scalar(
        sa.select(Child.cp_id)
        .join(SourceRecord, SourceRecord.child_pk == Child.id)
        .where(SourceRecord.source_id == feed.id, SourceRecord.source_record_id == record_id)
    )
    assert found is not None
    return found


def user_id(db: Session, username: str) -> int:
    db.rollback()
    found = db.scalar(sa.select(User.id).where(User.username == username))
    assert found is not None
    return found


def involve(db: Session, username: str, cp_id: str, **kw: Any) -> None:
    """An involvement of `username` with the child, put straight into the database (no notices)."""
    db.rollback()
    user = db.scalar(sa.select(User).where(User.username == username))
    child = db.scalar(sa.select(Child).where(Child.cp_id == cp_id))
    assert user is not None and child is not None
    db.add(
        Involvement(
            child_pk=child.id,
            practitioner_user_id=user.id,
            practitioner_name=user.display_name,
            practitioner_role=user.job_title,
            organisation_name="Northmere Children's Services",
            telephone=user.telephone,
            email=user.email,
            service_type="education_support",
            started_on=world.TODAY - dt.timedelta(days=30),
            **kw,
        )
    )
    db.commit()


def join(client: TestClient, headers: dict[str, str], cp_id: str) -> None:
    response = client.post(
        f"{API}/children/{cp_id}/involvements", json={"service_type": "health_visitor"}, headers=headers
    )
    assert response.status_code == 201, response.json()


def inbox(client: TestClient, headers: dict[str, str]) -> tuple[list[dict[str, Any]], bytes]:
    response = client.post(f"{API}/notices/views", headers=headers)
    assert response.status_code == 200, response.json()
    return response.json()["notices"], response.content.lower()


def fed(db: Session, feed: FeedSource) -> dict[tuple[str, str], tuple[int, dt.date | None]]:
    """The source's involvements: (service type, practitioner) → (id, ended on)."""
    db.expire_all()
    return {
        (inv.service_type, inv.practitioner_name): (inv.id, inv.ended_on)
        for inv in db.scalars(sa.select(Involvement).where(Involvement.source_id == feed.id))
    }


def notices_about(db: Session, involvement_id: int) -> list[tuple[int, str]]:
    db.expire_all()
    return sorted(
        (notice.recipient_user_id, notice.event)
        for notice in db.scalars(sa.select(Notice).where(Notice.involvement_id == involvement_id))
    )


def notice_count(db: Session) -> int:
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(Notice)) or 0


def test_a_practitioner_joining_is_told_of_the_feeds_current_services(
    api: TestClient, db: Session, council: FeedSource
) -> None:
    finished = {**LATER_SERVICE, "ended_on": "2026-03-01"}
    load(db, council, jsonl(row(services=[SERVICE, finished])))
    cp_id = cp_id_of(db, council)
    north = log_in(api, db, world.PRACTITIONER)
    join(api, north, cp_id)
    told, _raw = inbox(api, north)
    assert [(n["event"], n["involvement"]["practitioner_name"]) for n in told] == [
        ("added", "Robin Ashdown")
    ], "told of the feed's current service, not of the one that has ended"
    record = api.post(f"{API}/children/{cp_id}/views", json={"reason": "who_else_involved"}, headers=north)
    assert told[0]["involvement"] in record.json()["involvements"], "the notice must match the record view"


def test_the_same_services_sent_again_keep_their_rows_and_tell_nobody(
    api: TestClient, db: Session, council: FeedSource
) -> None:
    undated = {**LATER_SERVICE, "started_on": None}
    first = jsonl(row(services=[SERVICE, undated]))
    load(db, council, first)
    cp_id = cp_id_of(db, council)
    join(api, log_in(api, db, world.PRACTITIONER), cp_id)
    before, notices_before = fed(db, council), notice_count(db)
    assert notices_before == 2

    again = load(db, council, first)
    assert (again.rows_unchanged, again.rows_updated) == (1, 0)
    assert (fed(db, council), notice_count(db)) == (before, notices_before)

    # A newer row with the same services (the undated one's start date defaults to the row's
    # as_of, which has moved on), and a new telephone for one: same rows, same ids, no notice.
    retold = {**SERVICE, "telephone": "01632 960889"}
    newer = load(db, council, jsonl(row(services=[retold, undated], as_of=day(1))))
    assert (newer.rows_updated, newer.rows_rejected) == (1, 0)
    assert (fed(db, council), notice_count(db)) == (before, notices_before)
    db.expire_all()
    kept = db.get(Involvement, before[("family_support", "Robin Ashdown")][0])
    undated_kept = db.get(Involvement, before[("education_welfare", "Kit Yarrow")][0])
    assert kept is not None and kept.telephone == "01632 960889"
    assert undated_kept is not None and undated_kept.started_on == world.TODAY, "it keeps its first start"


def test_a_service_added_in_the_next_batch_tells_those_working_with_the_child(
    api: TestClient, db: Session, council: FeedSource
) -> None:
    load(db, council, jsonl(row(services=[SERVICE])))
    cp_id = cp_id_of(db, council)
    involve(db, world.PRACTITIONER, cp_id)
    involve(db, world.PRACTITIONER_2, cp_id)
    involve(db, world.SUSPENDED, cp_id)  # outside the rules: told nothing
    involve(db, world.PRACTITIONER_SOUTH, cp_id, ended_on=world.TODAY - dt.timedelta(days=1))  # left
    assert notice_count(db) == 0

    load(db, council, jsonl(row(services=[SERVICE, LATER_SERVICE], as_of=day(1))))
    services = fed(db, council)
    new_id, _ = services[("education_welfare", "Kit Yarrow")]
    assert notices_about(db, new_id) == sorted(
        [(user_id(db, world.PRACTITIONER), "added"), (user_id(db, world.PRACTITIONER_2), "added")]
    )
    assert notice_count(db) == 2, "nothing about the service the council sent before"
    north = log_in(api, db, world.PRACTITIONER)
    (notice,), _raw = inbox(api, north)
    assert notice["involvement"]["id"] == new_id and notice["involvement"]["mine"] is False
    record = api.post(f"{API}/children/{cp_id}/views", json={"reason": "who_else_involved"}, headers=north)
    assert notice["involvement"] in record.json()["involvements"], "the notice must match the record view"
    # Another authority's practitioner, who never worked with the child, hears nothing.
    south_told, _raw = inbox(api, log_in(api, db, world.PRACTITIONER_SOUTH))
    assert south_told == []


def test_a_fed_service_on_a_shielded_child_is_told_without_its_details(
    api: TestClient, db: Session, council: FeedSource
) -> None:
    """The council sends the shielded child (matched to the record, which keeps its shield) with a
    service: a practitioner working with the child hears of it with the management team as the
    contact, and nothing of the service, the child's home or the feed's row."""
    involve(db, world.PRACTITIONER_2, world.SHIELDED)
    shielded = row(
        source_record_id="CB-SHIELDED",
        given_name="Rowan",
        middle_names="",
        family_name=world.SHIELDED_FAMILY,
        date_of_birth=world.SHIELDED_DOB.isoformat(),
        address_line1="FEEDSECRETADDR",
        postcode="ZZ95 5FD",
        telephone="01632 995555",
        carers=[],
        former_names=[],
        services=[SERVICE],
    )
    # Held for the management team (it may be the shielded child), who decide it is: the row's
    # service is applied to the record then, and told.
    report = load(db, council, jsonl(shielded))
    assert (report.rows_matched, report.rows_held) == (0, 1)
    cmt = log_in(api, db, world.CMT)
    (review,) = api.post(f"{API}/match-review-pages", json={}, headers=cmt).json()["items"]
    decided = api.post(
        f"{API}/match-reviews/{review['id']}/decision", json={"decision": "same_child"}, headers=cmt
    )
    assert decided.status_code == 200, decided.json()
    assert cp_id_of(db, council, "CB-SHIELDED") == world.SHIELDED
    ((fed_id, _),) = fed(db, council).values()
    assert notices_about(db, fed_id) == [(user_id(db, world.PRACTITIONER_2), "added")]
    # The council's next batch adds a service: told the same way, by the loader.
    load(db, council, jsonl({**shielded, "services": [SERVICE, LATER_SERVICE], "as_of": day(1)}))
    later_id, _ = fed(db, council)[("education_welfare", "Kit Yarrow")]
    assert notices_about(db, later_id) == [(user_id(db, world.PRACTITIONER_2), "added")]

    told, raw = inbox(api, log_in(api, db, world.PRACTITIONER_2))
    assert len(told) == 2
    for notice in told:
        assert notice["involvement"] is None and notice["broker"] is not None
        assert "involvements" in notice["withheld"] and "address" in notice["withheld"]
    secrets = [*world.CANARY_BYTES, *SERVICE_BYTES, b"feedsecretaddr", b"zz95 5fd", b"995555"]
    assert not [marker for marker in secrets if marker in raw]

    # A practitioner joining the shielded child is told of the fed service the same way.
    north = log_in(api, db, world.PRACTITIONER)
    join(api, north, world.SHIELDED)
    told, raw = inbox(api, north)
    north_id = user_id(db, world.PRACTITIONER)
    theirs = db.scalars(sa.select(Notice.involvement_id).where(Notice.recipient_user_id == north_id))
    assert {fed_id, later_id} <= set(theirs)
    assert len(told) >= 3 and all(n["involvement"] is None and n["broker"] is not None for n in told)
    assert not [marker for marker in secrets if marker in raw]


def test_a_fed_sensitive_service_is_told_to_nobody(api: TestClient, db: Session, council: FeedSource) -> None:
    load(db, council, jsonl(row(services=[SERVICE])))
    cp_id = cp_id_of(db, council)
    involve(db, world.PRACTITIONER, cp_id)
    load(db, council, jsonl(row(services=[SERVICE, SENSITIVE_SERVICE], as_of=day(1))))
    sensitive_id, _ = fed(db, council)[("mental_health", "Lee Marchbank")]
    assert notices_about(db, sensitive_id) == []
    told, raw = inbox(api, log_in(api, db, world.PRACTITIONER))
    assert told == [] and not [marker for marker in SERVICE_BYTES if marker in raw]

    # Nor is a practitioner joining the child told of it (only of the ordinary service).
    north2 = log_in(api, db, world.PRACTITIONER_2)
    join(api, north2, cp_id)
    told, raw = inbox(api, north2)
    assert sorted(n["involvement"]["service_type"] for n in told) == ["education_support", "family_support"]
    assert b"mental_health" not in raw and b"lee marchbank" not in raw
    assert notices_about(db, sensitive_id) == []


def test_a_dropped_service_is_ended_and_the_notices_about_it_stay_valid(
    api: TestClient, db: Session, council: FeedSource
) -> None:
    """The scenario that failed on PostgreSQL with a foreign-key violation when a load deleted and
    re-inserted a council's services: a practitioner joins (a notice points at the fed service),
    then the council sends the child without it."""
    load(db, council, jsonl(row(services=[SERVICE])))
    cp_id = cp_id_of(db, council)
    north = log_in(api, db, world.PRACTITIONER)
    join(api, north, cp_id)
    ((fed_id, ended_on),) = fed(db, council).values()
    assert ended_on is None
    assert notices_about(db, fed_id) == [(user_id(db, world.PRACTITIONER), "added")]

    report = load(db, council, jsonl(row(services=[], as_of=day(2))))
    assert (report.rows_updated, report.rows_rejected, report.status) == (1, 0, "done")
    assert fed(db, council) == {("family_support", "Robin Ashdown"): (fed_id, world.TODAY + dt.timedelta(2))}
    assert notices_about(db, fed_id) == sorted(
        [(user_id(db, world.PRACTITIONER), "added"), (user_id(db, world.PRACTITIONER), "ended")]
    )
    told, _raw = inbox(api, north)
    assert sorted((n["event"], n["involvement"]["id"]) for n in told) == [
        ("added", fed_id),
        ("ended", fed_id),
    ]
    assert all(n["involvement"]["ended_on"] == day(2) for n in told)

    # Sent again later, the same service is reopened on its row, and told as new.
    load(db, council, jsonl(row(services=[SERVICE], as_of=day(3))))
    assert fed(db, council) == {("family_support", "Robin Ashdown"): (fed_id, None)}
    assert notices_about(db, fed_id).count((user_id(db, world.PRACTITIONER), "added")) == 2
