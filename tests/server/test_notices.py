"""Involvement notices: who is told, what they are shown (exactly what the record would show them),
the audit row written first, follow-up and its figures, delivery choices, and who gets nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.domain import notices
from cpserver.store.models import Alert, AuditEvent, Child, Involvement, Notice, User
from tests.server import world
from tests.server.conftest import log_in

API = "/api/v1"
# Detection's out-of-hours rule and the burst rule are not what these tests are about.
CALM = {"working_hours_start": 0, "working_hours_end": 24, "working_days": "0,1,2,3,4,5,6"}


@pytest.fixture
def make_client(database_url) -> Iterator:
    clients: list[TestClient] = []

    def build(**overrides) -> TestClient:
        client = TestClient(
            create_app(Settings(database_url=database_url, **{**CALM, **overrides})),
            raise_server_exceptions=False,
        )
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_client) -> TestClient:
    return make_client()


def add(client, headers, cp_id, service_type, **body):
    response = client.post(
        f"{API}/children/{cp_id}/involvements", json={"service_type": service_type, **body}, headers=headers
    )
    assert response.status_code == 201, response.json()
    return response.json()


def inbox(client, headers) -> list[dict]:
    response = client.post(f"{API}/notices/views", headers=headers)
    assert response.status_code == 200, response.json()
    assert response.headers["cache-control"] == "no-store"
    return response.json()["notices"]


def unread(client, headers) -> int:
    response = client.get(f"{API}/notices/summary", headers=headers)
    assert response.status_code == 200, response.json()
    return response.json()["unread"]


def user_id(db, username) -> int:
    db.rollback()
    return db.scalar(sa.select(User.id).where(User.username == username))


def involve(db, username, cp_id, service_type="education_welfare", **kw) -> Involvement:
    """An open involvement of `username` with a child, put straight into the database."""
    db.rollback()
    user = db.scalar(sa.select(User).where(User.username == username))
    child = db.scalar(sa.select(Child).where(Child.cp_id == cp_id))
    involvement = Involvement(
        child_pk=child.id,
        practitioner_user_id=user.id,
        practitioner_name=user.display_name,
        practitioner_role=user.job_title,
        organisation_name="Northmere Children's Services",
        telephone=user.telephone,
        email=user.email,
        service_type=service_type,
        started_on=world.TODAY - dt.timedelta(days=3),
        **kw,
    )
    db.add(involvement)
    db.commit()
    return involvement


def test_both_sides_are_told_and_each_notice_is_what_the_record_shows(api, db):
    """p.north2 works with the child; p.north joins. Each hears of the other (and of the health
    visitor who has no account), with exactly the entry the record view would give them."""
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    assert unread(api, north) == 0
    added = add(api, north, world.ORDINARY, "family_support")

    assert unread(api, north2) == 1
    (theirs,) = inbox(api, north2)
    assert theirs["event"] == "added" and theirs["unread"] is True
    assert theirs["child"] == {
        "id": world.ORDINARY,
        "given": "Amelia",
        "family": world.ORDINARY_FAMILY,
        "date_of_birth": world.ORDINARY_DOB.isoformat(),
    }
    assert theirs["involvement"]["id"] == added["id"]
    assert theirs["involvement"]["telephone"] == "01632 960555"
    assert theirs["broker"] is None and theirs["withheld"] == []
    record = api.post(
        f"{API}/children/{world.ORDINARY}/views", json={"reason": "who_else_involved"}, headers=north2
    ).json()
    assert theirs["involvement"] in record["involvements"], "the notice must match the record view"
    assert unread(api, north2) == 0
    again = inbox(api, north2)
    assert [n["unread"] for n in again] == [False]

    mine = inbox(api, north)
    assert sorted(n["involvement"]["practitioner_name"] for n in mine) == [
        "Pat Healthworker",
        "Test Secondworker",
    ]
    assert all(n["involvement"]["mine"] is False for n in mine)


def test_the_audit_row_is_written_before_the_notice_is_sent(api, db):
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    add(api, north, world.ORDINARY, "family_support")
    (notice,) = inbox(api, north2)
    db.rollback()
    row = db.get(AuditEvent, notice["audit_id"])
    assert row is not None, "the audit row must be committed by the time the notice arrives"
    assert row.action == "notice_view" and row.outcome == "disclosed"
    assert row.username == world.PRACTITIONER_2, "the recipient is the viewer"
    assert row.reason_code == "notice_new_involvement"
    assert row.reason_text == "Notice of a new involvement"
    assert row.child_pk == db.scalar(sa.select(Child.id).where(Child.cp_id == world.ORDINARY))
    assert row.detail["notice_id"] == notice["id"]
    assert row.shown == ["identity", "involvements"] and row.withheld == []
    # Each showing is a disclosure: the second look is audited again.
    inbox(api, north2)
    db.rollback()
    looks = sa.select(sa.func.count()).where(
        AuditEvent.action == "notice_view", AuditEvent.username == world.PRACTITIONER_2
    )
    assert db.scalar(looks) == 2


def test_if_the_audit_cannot_be_written_nothing_is_disclosed(api, db, monkeypatch):
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    add(api, north, world.ORDINARY, "family_support")

    def broken(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(notices.trail, "record", broken)
    response = api.post(f"{API}/notices/views", headers=north2)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert b"Thistlewood" not in response.content and b"960555" not in response.content
    monkeypatch.undo()
    assert unread(api, north2) == 1, "a notice that was not shown stays unread"


def test_ending_an_involvement_tells_the_others(api, db):
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    added = add(api, north, world.ORDINARY, "family_support")
    inbox(api, north2)
    inbox(api, north)
    assert api.delete(f"{API}/involvements/{added['id']}", headers=north).status_code == 200
    assert unread(api, north) == 0, "the one who ended it is not told"
    (ended,) = [n for n in inbox(api, north2) if n["event"] == "ended"]
    assert ended["involvement"]["id"] == added["id"] and ended["involvement"]["ended_on"] is not None
    db.rollback()
    row = db.get(AuditEvent, ended["audit_id"])
    assert row.reason_code == "notice_ended_involvement"


def test_a_shielded_child_names_the_management_team_and_nothing_else(api, db):
    involve(db, world.PRACTITIONER_2, world.SHIELDED)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    add(api, north, world.SHIELDED, "family_support")
    response = api.post(f"{API}/notices/views", headers=north)
    raw = response.content.lower()
    assert not [marker for marker in world.CANARY_BYTES if marker in raw]
    told = response.json()["notices"]
    assert len(told) == 2  # the canary social worker (no account) and p.north2
    for notice in told:
        assert notice["involvement"] is None
        assert notice["broker"]["name"] == "Northmere ContactPoint Management Team"
        assert "involvements" in notice["withheld"] and "address" in notice["withheld"]
        assert notice["child"]["id"] == world.SHIELDED
    (theirs,) = inbox(api, north2)
    assert theirs["involvement"] is None and theirs["broker"] is not None
    db.rollback()
    row = db.get(AuditEvent, theirs["audit_id"])
    assert row.shielded is True and row.detail["shielded_access"] is False
    assert row.shown == ["identity", "management_contact"] and "involvements" in row.withheld


def test_the_decision_is_made_when_shown_so_a_new_shield_covers_earlier_notices(api, db):
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    add(api, north, world.ORDINARY, "family_support")
    cmt = log_in(api, db, world.CMT)
    shielded = api.post(
        f"{API}/children/{world.ORDINARY}/shield",
        json={
            "ground": "significant_harm",
            "review_date": (world.TODAY + dt.timedelta(days=60)).isoformat(),
            "reason": "Police advice received today.",
        },
        headers=cmt,
    )
    assert shielded.status_code == 200, shielded.json()
    (notice,) = inbox(api, north2)
    assert notice["involvement"] is None and notice["broker"] is not None


def test_sensitive_services_are_told_to_nobody_but_their_recorder(api, db):
    """p.north2 has a sensitive involvement with Sage. p.north joining learns nothing of it; p.north2
    hears of p.north. p.north's own sensitive service is told to nobody."""
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    add(api, north, world.SENSITIVE, "family_support")
    response = api.post(f"{API}/notices/views", headers=north)
    assert response.json()["notices"] == []
    assert b"mental_health" not in response.content and b"secondworker" not in response.content.lower()
    (heard,) = inbox(api, north2)
    assert heard["involvement"]["service_type"] == "family_support"

    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    add(api, north, world.ORDINARY, "substance_misuse", consent_recorded=True)
    assert unread(api, north2) == 0
    assert all(n["involvement"]["service_type"] != "substance_misuse" for n in inbox(api, north2))
    db.rollback()
    p2 = user_id(db, world.PRACTITIONER_2)
    sensitive_ids = db.scalars(sa.select(Involvement.id).where(Involvement.sensitive.is_(True))).all()
    assert not db.scalars(
        sa.select(Notice).where(Notice.involvement_id.in_(sensitive_ids), Notice.recipient_user_id != p2)
    ).all()


@pytest.mark.parametrize(
    "username", [world.SUSPENDED, world.CRB_EXPIRED, world.UNTRAINED, world.UNACCREDITED]
)
def test_nothing_for_a_user_outside_the_rules(api, db, username):
    involve(db, username, world.ORDINARY)
    add(api, log_in(api, db, world.PRACTITIONER), world.ORDINARY, "family_support")
    db.rollback()
    assert not db.scalars(sa.select(Notice).where(Notice.recipient_user_id == user_id(db, username))).all()


def test_a_notice_made_before_a_suspension_is_not_shown_to_the_suspended_user(api, db):
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north2 = log_in(api, db, world.PRACTITIONER_2)
    add(api, log_in(api, db, world.PRACTITIONER), world.ORDINARY, "family_support")
    cmt = log_in(api, db, world.CMT)
    suspended = api.post(
        f"{API}/users/{user_id(db, world.PRACTITIONER_2)}/suspension",
        json={"reason": "Under investigation."},
        headers=cmt,
    )
    assert suspended.status_code == 200
    for method, path in (("GET", "/notices/summary"), ("POST", "/notices/views")):
        response = api.request(method, f"{API}{path}", headers=north2)
        assert response.status_code in (401, 403) and b"Thistlewood" not in response.content
    db.rollback()
    assert not db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notice_view")).all()


def test_nothing_during_a_lockdown(api, db):
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north2 = log_in(api, db, world.PRACTITIONER_2)
    add(api, log_in(api, db, world.PRACTITIONER), world.ORDINARY, "family_support")
    national = log_in(api, db, world.NATIONAL)
    locked = api.post(f"{API}/lockdown", json={"reason": "Suspected compromise."}, headers=national)
    assert locked.status_code == 201
    response = api.post(f"{API}/notices/views", headers=north2)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("service_locked_down", "session_expired")
    assert b"Thistlewood" not in response.content
    # And nothing is made while locked, even by a path that skips the API.
    db.rollback()
    settings = Settings(database_url="sqlite://")
    involvement = db.scalar(sa.select(Involvement).where(Involvement.practitioner_name == "Pat Healthworker"))
    made = notices.after_involvement_ended(db, settings, involvement, dt.datetime.now(dt.UTC))
    assert made == []
    db.rollback()


def test_follow_up_answers_and_the_management_teams_figures(api, db):
    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    add(api, north, world.ORDINARY, "family_support")
    (theirs,) = inbox(api, north2)
    mine = inbox(api, north)
    assert theirs["follow_up"] is None
    due = dt.datetime.fromisoformat(theirs["follow_up_due"])
    assert dt.timedelta(days=10) <= due - dt.datetime.now(dt.UTC) <= dt.timedelta(days=17)

    answer = api.put(f"{API}/notices/{theirs['id']}/follow-up", json={"answer": "contacted"}, headers=north2)
    assert answer.status_code == 200 and answer.json()["follow_up"] == "contacted"
    # Someone else's notice: no such notice. A made-up answer: refused.
    other = api.put(f"{API}/notices/{theirs['id']}/follow-up", json={"answer": "contacted"}, headers=north)
    assert other.status_code == 404 and other.json()["error"]["code"] == "notice_not_found"
    bad = api.put(f"{API}/notices/{mine[0]['id']}/follow-up", json={"answer": "maybe"}, headers=north)
    assert bad.status_code == 422
    # One of p.north's answered late: its window closed before the answer.
    db.rollback()
    late = db.get(Notice, mine[0]["id"])
    late.follow_up_due_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    never = db.get(Notice, mine[1]["id"])
    never.follow_up_due_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    db.commit()
    assert (
        api.put(
            f"{API}/notices/{mine[0]['id']}/follow-up", json={"answer": "not_needed"}, headers=north
        ).status_code
        == 200
    )
    assert (
        api.put(
            f"{API}/notices/{mine[1]['id']}/follow-up", json={"answer": "not_yet"}, headers=north
        ).status_code
        == 200
    )
    db.rollback()
    answers = db.scalars(sa.select(AuditEvent.outcome).where(AuditEvent.action == "notice_follow_up")).all()
    assert sorted(answers) == ["contacted", "not_needed", "not_yet"]

    report = api.get(f"{API}/reports/notice-follow-up", headers=log_in(api, db, world.CMT))
    assert report.status_code == 200
    (northmere,) = report.json()
    assert northmere == {
        "local_authority": "Northmere Council",
        "notices": 3,
        "followed_up_in_time": 1,
        "contacted_in_time": 1,
        "followed_up_late": 1,
        "not_followed_up": 1,
        "window_open": 0,
        "window_working_days": 10,
        "period_days": 365,
    }
    assert api.get(f"{API}/reports/notice-follow-up", headers=log_in(api, db, world.CMT_SOUTH)).json() == []
    national = log_in(api, db, world.NATIONAL)
    assert [
        row["local_authority"] for row in api.get(f"{API}/reports/notice-follow-up", headers=national).json()
    ] == ["Northmere Council"]
    figures = api.get(f"{API}/reports/yearly-figures", headers=national).json()
    this_year = [
        f for f in figures if f["local_authority"] == "Northmere Council" and f["year"] == world.TODAY.year
    ]
    assert (
        this_year and this_year[0]["notices_sent"] == 3 and this_year[0]["notices_followed_up_in_time"] == 1
    )


def test_ten_working_days_skip_the_weekend():
    settings = Settings(database_url="sqlite://")
    friday = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
    # Ten working days after Friday 27 November end with Friday 11 December (local midnight after).
    assert notices.follow_up_due(settings, friday) == dt.datetime(2026, 12, 12, 0, 0, tzinfo=dt.UTC)


def test_delivery_choices_within_the_policy(make_client, db):
    api = make_client()
    north2 = log_in(api, db, world.PRACTITIONER_2)
    current = api.get(f"{API}/notice-settings", headers=north2).json()
    assert current == {
        "delivery": "immediate",
        "allowed": ["immediate", "daily_digest"],
        "lead_always_immediate": True,
    }
    off = api.put(f"{API}/notice-settings", json={"delivery": "off"}, headers=north2)
    assert off.status_code == 400 and off.json()["error"]["code"] == "notice_delivery_not_allowed"
    assert api.put(f"{API}/notice-settings", json={"delivery": "never"}, headers=north2).status_code == 422
    digest = api.put(f"{API}/notice-settings", json={"delivery": "daily_digest"}, headers=north2)
    assert digest.status_code == 200 and digest.json()["delivery"] == "daily_digest"

    involve(db, world.PRACTITIONER_2, world.ORDINARY)
    involve(db, world.PRACTITIONER_2, world.NO_SCHOOL, lead_professional=True)
    north = log_in(api, db, world.PRACTITIONER)
    add(api, north, world.ORDINARY, "family_support")
    add(api, north, world.NO_SCHOOL, "family_support")
    held = inbox(api, north2)
    assert [n["child"]["id"] for n in held] == [world.NO_SCHOOL], "a child one leads on comes at once"
    assert held[0]["lead"] is True
    # The digest: once the daily digest time has passed, the held notice arrives.
    db.rollback()
    waiting = db.scalar(sa.select(Notice).where(Notice.digest.is_(True)))
    waiting.created_at -= dt.timedelta(days=1, hours=1)
    db.commit()
    assert unread(api, north2) == 1
    assert {n["child"]["id"] for n in inbox(api, north2)} == {world.ORDINARY, world.NO_SCHOOL}

    # Where the policy allows "off", it still never silences a child one leads on.
    relaxed = make_client(notice_deliveries="immediate,daily_digest,off")
    north2 = log_in(relaxed, db, world.PRACTITIONER_2)
    assert relaxed.put(f"{API}/notice-settings", json={"delivery": "off"}, headers=north2).status_code == 200
    north = log_in(relaxed, db, world.PRACTITIONER)
    add(relaxed, north, world.ORDINARY, "speech_language")
    add(relaxed, north, world.NO_SCHOOL, "speech_language")
    fresh = [n for n in inbox(relaxed, north2) if n["unread"]]
    assert [n["child"]["id"] for n in fresh] == [world.NO_SCHOOL]


def test_the_meta_policy_names_the_choices(api):
    policy = api.get(f"{API}/meta").json()["policy"]
    assert policy["notice_deliveries"] == ["immediate", "daily_digest"]
    assert policy["notice_follow_up_working_days"] == 10 and policy["notice_poll_seconds"] == 60


# --- detection: harvesting contacts through notices ---------------------------------------------


def unrelated_children(db, count: int) -> list[str]:
    """`count` children of different households (own postcode and family name) in Northmere."""
    db.rollback()
    template = db.scalar(sa.select(Child).where(Child.cp_id == world.ORDINARY))
    made = []
    for number in range(count):
        cp_id = f"CP80000000{number:02d}"
        db.add(
            Child(
                cp_id=cp_id,
                given_name="Harvest",
                family_name=f"Family{number}",
                family_norm=f"FAMILY{number}",
                family_key="F540",
                given_norm="HARVEST",
                given_key="H612",
                gender="male",
                date_of_birth=world.ORDINARY_DOB,
                postcode=f"ZZ7 {number}AB",
                postcode_norm=f"ZZ7{number}AB",
                local_authority_id=template.local_authority_id,
            )
        )
        made.append(cp_id)
    db.commit()
    return made


def test_a_burst_of_involvements_on_unrelated_children_is_flagged_and_stopped(make_client, db):
    api = make_client(involvement_burst_limit=4)
    children = unrelated_children(db, 4)
    involve(db, world.PRACTITIONER_2, children[-1])
    north = log_in(api, db, world.PRACTITIONER)
    for cp_id in children:
        add(api, north, cp_id, "family_support")
    db.rollback()
    (alert,) = db.scalars(sa.select(Alert).where(Alert.rule == "involvement_burst")).all()
    assert alert.severity == "high" and alert.auto_suspended is True
    assert "4 unrelated children" in alert.summary
    assert b"Family" not in str(alert.evidence).encode()
    north_id = user_id(db, world.PRACTITIONER)
    assert db.get(User, north_id).suspended is True
    # The harvester receives nothing for the involvement that tripped the rule, nor afterwards.
    assert not db.scalars(sa.select(Notice).where(Notice.recipient_user_id == north_id)).all()
    assert api.post(f"{API}/notices/views", headers=north).status_code in (401, 403)


def test_siblings_count_once_and_a_normal_day_raises_nothing(make_client, db):
    api = make_client(involvement_burst_limit=3)
    north = log_in(api, db, world.PRACTITIONER)
    # Three children of one household (the world's children share a postcode), one elsewhere.
    for cp_id in (world.ORDINARY, world.NO_SCHOOL, world.SENSITIVE, world.SHIELDED):
        add(api, north, cp_id, "family_support")
    db.rollback()
    assert not db.scalars(sa.select(Alert).where(Alert.rule == "involvement_burst")).all()


def test_a_household_shield_covers_notices_as_it_covers_the_record(api, db):
    """The sibling is not shielded, but lives with a shielded child: the record view withholds its
    details, and so does the notice, naming the shielded child's management team (one decision)."""
    involve(db, world.PRACTITIONER_2, world.SIBLING)
    north, north2 = log_in(api, db, world.PRACTITIONER), log_in(api, db, world.PRACTITIONER_2)
    add(api, north, world.SIBLING, "family_support")
    record = api.post(
        f"{API}/children/{world.SIBLING}/views", json={"reason": "safeguarding"}, headers=north2
    )
    assert record.json()["kind"] == "shielded"
    response = api.post(f"{API}/notices/views", headers=north2)
    assert not [marker for marker in world.CANARY_BYTES if marker in response.content.lower()]
    (notice,) = response.json()["notices"]
    assert notice["involvement"] is None
    assert notice["broker"] == record.json()["management_contact"]
    db.rollback()
    row = db.get(AuditEvent, notice["audit_id"])
    assert row.shielded is True and "involvements" in row.withheld
