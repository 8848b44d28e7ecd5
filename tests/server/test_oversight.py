"""Rules 5, 7, 8 and 11 through the real API: the management team's and national team's work."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from email import message_from_bytes

import pyotp
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from cpserver.api.app import create_app
from cpserver.config import Settings
from cpserver.store.models import Alert, AuditEvent, Incident, User
from tests.server import world
from tests.server.conftest import WORKSTATION, log_in, login_body

API = "/api/v1"
REASON = {"reason": "Recorded during the oversight tests."}


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def mail_client(database_url, smtp) -> Iterator[TestClient]:
    _inbox, port = smtp
    app = create_app(Settings(database_url=database_url, smtp_host="127.0.0.1", smtp_port=port))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def user_id(db, username):
    db.rollback()
    return db.scalar(sa.select(User.id).where(User.username == username))


# --- users ---------------------------------------------------------------------------------------


def test_cmt_sees_own_authority_users_national_sees_all(client, as_role):
    north = {u["username"] for u in client.get(f"{API}/users", headers=as_role("cmt")).json()}
    assert world.PRACTITIONER in north and world.PRACTITIONER_SOUTH not in north
    everyone = {u["username"] for u in client.get(f"{API}/users", headers=as_role("national")).json()}
    assert {world.PRACTITIONER, world.PRACTITIONER_SOUTH} <= everyone
    problems = {
        u["username"]: u["problems"] for u in client.get(f"{API}/users", headers=as_role("cmt")).json()
    }
    assert problems[world.UNTRAINED] == ["training_incomplete"]
    assert problems[world.PRACTITIONER] == []


def test_new_user_cannot_work_until_accredited_then_can(client, db, as_role):
    cmt = as_role("cmt")
    org = db.scalar(sa.text("SELECT id FROM organisations WHERE name = 'Northmere Children''s Services'"))
    created = client.post(
        f"{API}/users",
        headers=cmt,
        json={
            "username": "new.starter",
            "given_name": "New",
            "family_name": "Starter",
            "role": "practitioner",
            "job_title": "Youth worker",
            "telephone": "01632 960999",
            "email": "new@staff.example",
            "organisation_id": org,
            "manager_name": "A Manager",
            "manager_email": "manager@staff.example",
        },
    )
    assert created.status_code == 201, created.json()
    enrolment = created.json()
    assert enrolment["user"]["problems"][0] == "crb_check_missing"
    assert enrolment["totp_uri"].startswith("otpauth://totp/")
    secret = enrolment["totp_secret"]
    assert len(secret) >= 32  # 160 bits
    body = {
        "username": "new.starter",
        "password": enrolment["initial_password"],
        "otp": pyotp.TOTP(secret).now(),
        "workstation": WORKSTATION,
    }
    refused = client.post(f"{API}/sessions", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "crb_check_missing"
    new_id = enrolment["user"]["id"]
    accredited = client.put(
        f"{API}/users/{new_id}/accreditation",
        headers=cmt,
        json={
            "crb_checked_on": world.TODAY.isoformat(),
            "training_completed": True,
            "procedures_received": True,
            "agreement_signed": True,
        },
    )
    assert accredited.json()["problems"] == []
    body["otp"] = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    assert client.post(f"{API}/sessions", json=body).status_code == 201


def test_duplicate_username_and_foreign_organisation_are_refused(client, db, as_role):
    cmt = as_role("cmt")
    south_org = db.scalar(sa.text("SELECT id FROM organisations WHERE name = 'Southwold Vale Health'"))
    body = {
        "username": world.PRACTITIONER,
        "given_name": "A",
        "family_name": "B",
        "role": "practitioner",
        "job_title": "C",
        "telephone": "",
        "email": "a@b.example",
        "organisation_id": south_org,
        "manager_name": "M",
        "manager_email": "m@b.example",
    }
    assert (
        client.post(f"{API}/users", headers=cmt, json=body).json()["error"]["code"] == "organisation_unknown"
    )


def test_suspension_ends_sessions_at_once_and_reinstatement_restores(client, db, as_role):
    victim = log_in(client, db, world.PRACTITIONER_2)
    cmt = as_role("cmt")
    target = user_id(db, world.PRACTITIONER_2)
    suspended = client.post(f"{API}/users/{target}/suspension", headers=cmt, json=REASON)
    assert suspended.status_code == 200 and suspended.json()["suspended"] is True
    assert (
        client.post(
            f"{API}/searches", headers=victim, json={"family": "X", "date_of_birth": "2015-01-01"}
        ).status_code
        == 401
    )
    refused = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER_2))
    assert refused.json()["error"]["code"] == "account_suspended"
    client.post(f"{API}/users/{target}/reinstatement", headers=cmt, json=REASON)
    assert client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER_2)).status_code == 201


def test_a_cmt_acts_only_in_its_own_authority_and_learns_nothing_of_anothers_ids(client, db, as_role):
    """Another authority's account, alert or incident is answered exactly as a number that does not
    exist: a different answer would tell a management team which numbers exist elsewhere."""
    cmt = as_role("cmt")
    south_user = user_id(db, world.PRACTITIONER_SOUTH)
    missing_user = db.scalar(sa.select(sa.func.max(User.id))) + 1000
    for action in ("suspension", "reinstatement"):
        theirs = client.post(f"{API}/users/{south_user}/{action}", headers=cmt, json=REASON)
        nobody = client.post(f"{API}/users/{missing_user}/{action}", headers=cmt, json=REASON)
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.json()["error"]["code"] == "user_not_found"
        assert theirs.content == nobody.content
    assert db.scalar(sa.select(User.suspended).where(User.id == south_user)) is False

    # A south practitioner's search raises an alert in the south authority.
    client.post(
        f"{API}/searches",
        headers=as_role(world.PRACTITIONER_SOUTH),
        json={"family": "Practitioner", "date_of_birth": "2015-01-01"},
    )
    alert = db.scalar(sa.select(Alert).where(Alert.status == "open").order_by(Alert.id.desc()))
    assert alert is not None and alert.local_authority_id != world_authority(db, world.CMT)
    missing_alert = alert.id + 1000
    body = {"justification": "A colleague of the same name asked for help."}
    theirs = client.post(f"{API}/alerts/{alert.id}/dismissal", headers=cmt, json=body)
    nobody = client.post(f"{API}/alerts/{missing_alert}/dismissal", headers=cmt, json=body)
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.content == nobody.content
    db.refresh(alert)
    assert alert.status == "open"


def world_authority(db, username):
    return db.scalar(sa.select(User.local_authority_id).where(User.username == username))


def test_checks_expiring_within_60_days_are_listed(client, db, as_role):
    db.execute(
        sa.update(User)
        .where(User.username == world.PRACTITIONER_2)
        .values(crb_checked_on=world.TODAY.replace(year=world.TODAY.year - 3) + dt.timedelta(days=30))
    )
    db.commit()
    due = {u["username"] for u in client.get(f"{API}/users/expiring-checks", headers=as_role("cmt")).json()}
    assert world.PRACTITIONER_2 in due and world.PRACTITIONER not in due


# --- audit trail ---------------------------------------------------------------------------------


def test_audit_trail_review_is_scoped_filtered_and_itself_audited(client, db, as_role):
    practitioner = as_role("practitioner")
    client.post(
        f"{API}/children/{world.ORDINARY}/views",
        headers=practitioner,
        json={"reason": "other", "reason_text": "Checking a referral from school"},
    )
    south = as_role(world.PRACTITIONER_SOUTH)
    client.post(
        f"{API}/children/{world.SHIELDED_SOUTH}/views", headers=south, json={"reason": "safeguarding"}
    )
    page = client.post(f"{API}/audit-queries", headers=as_role("cmt"), json={"action": "view"}).json()
    rows = page["rows"]
    assert {r["username"] for r in rows} == {world.PRACTITIONER}
    row = rows[0]
    assert row["child_id"] == world.ORDINARY and row["reason_text"] == "Checking a referral from school"
    assert row["workstation"] == WORKSTATION and row["shielded"] is False
    by_child = client.post(
        f"{API}/audit-queries", headers=as_role("national"), json={"child_id": world.SHIELDED_SOUTH}
    ).json()["rows"]
    assert by_child[0]["shielded"] is True and by_child[0]["username"] == world.PRACTITIONER_SOUTH
    reviewed = db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit_reviewed")).all()
    assert len(reviewed) == 2


# --- shielding -----------------------------------------------------------------------------------


def test_shielding_takes_effect_for_everyone_at_once(client, db, as_role):
    practitioner = as_role("practitioner")
    cmt = as_role("cmt")
    review = (world.TODAY + dt.timedelta(days=20)).isoformat()
    shield = {
        "ground": "adoption_placement",
        "review_date": review,
        "reason": "Adoption placement agreed today.",
    }
    assert client.post(f"{API}/children/{world.ORDINARY}/shield", headers=cmt, json=shield).status_code == 200
    record = client.post(
        f"{API}/children/{world.ORDINARY}/views", headers=practitioner, json={"reason": "safeguarding"}
    ).json()
    assert record["kind"] == "shielded" and b"Orchard" not in str(record).encode()
    found = client.post(
        f"{API}/searches",
        headers=practitioner,
        json={"given": "Amelia", "family": world.ORDINARY_FAMILY, "postcode": world.ORDINARY_POSTCODE},
    )
    assert found.json()["results"] == []
    due = client.get(f"{API}/shield-reviews", headers=cmt).json()
    assert world.ORDINARY in {c["id"] for c in due["children"]}
    assert (
        client.post(f"{API}/children/{world.ORDINARY}/unshield", headers=cmt, json=REASON).status_code == 200
    )
    again = client.post(
        f"{API}/children/{world.ORDINARY}/views", headers=practitioner, json={"reason": "safeguarding"}
    ).json()
    assert again["kind"] == "full"


def test_shielding_needs_a_statutory_ground_and_future_review(client, as_role):
    cmt = as_role("cmt")
    past = {"ground": "significant_harm", "review_date": "2000-01-01", "reason": "A reason of enough length."}
    assert client.post(f"{API}/children/{world.ORDINARY}/shield", headers=cmt, json=past).status_code == 400
    bad = {"ground": "celebrity", "review_date": "2999-01-01", "reason": "A reason of enough length."}
    assert client.post(f"{API}/children/{world.ORDINARY}/shield", headers=cmt, json=bad).status_code == 422
    south = as_role(world.CMT_SOUTH)
    good = {"ground": "serious_crime", "review_date": "2999-01-01", "reason": "A reason of enough length."}
    assert client.post(f"{API}/children/{world.ORDINARY}/shield", headers=south, json=good).status_code == 403


def test_override_shows_details_raises_a_high_alert_and_suspends(client, db, as_role):
    db.execute(
        sa.update(User).where(User.username == world.PRACTITIONER_SOUTH).values(may_override_shield=True)
    )
    db.commit()
    headers = as_role(world.PRACTITIONER_SOUTH)
    record = client.post(
        f"{API}/children/{world.SHIELDED}/views",
        headers=headers,
        json={"reason": "safeguarding", "override_shield": True},
    ).json()
    assert record["kind"] == "full" and record["address"]["postcode"] == world.CANARIES["postcode"]
    alert = db.scalar(sa.select(Alert).where(Alert.rule == "shield_override"))
    assert alert.severity == "high" and alert.auto_suspended is True
    assert (
        client.post(
            f"{API}/searches", headers=headers, json={"family": "X", "date_of_birth": "2015-01-01"}
        ).status_code
        == 401
    )


def test_override_without_the_permission_is_refused_and_audited(client, db, as_role):
    response = client.post(
        f"{API}/children/{world.SHIELDED}/views",
        headers=as_role("practitioner"),
        json={"reason": "safeguarding", "override_shield": True},
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "override_not_permitted"
    assert world.CANARIES["postcode"].encode() not in response.content
    outcomes = db.scalars(sa.select(AuditEvent.outcome).where(AuditEvent.action == "view")).all()
    assert outcomes == ["denied:override_not_permitted"]


# --- children missing education ------------------------------------------------------------------


def test_children_missing_education_list(client, as_role):
    report = client.get(f"{API}/reports/children-missing-education", headers=as_role("cmt")).json()
    ids = {c["id"] for c in report["children"]}
    assert world.NO_SCHOOL in ids and world.ORDINARY not in ids and world.PAST_18 not in ids
    south = client.get(f"{API}/reports/children-missing-education", headers=as_role(world.CMT_SOUTH)).json()
    assert world.NO_SCHOOL not in {c["id"] for c in south["children"]}


# --- alerts and incidents ------------------------------------------------------------------------


def test_incident_suspends_notifies_the_manager_by_smtp_and_is_reported_nationally(mail_client, db, smtp):
    inbox, _port = smtp
    cmt = log_in(mail_client, db, world.CMT)
    victim = log_in(mail_client, db, world.PRACTITIONER_2)
    target = user_id(db, world.PRACTITIONER_2)
    created = mail_client.post(
        f"{API}/incidents",
        headers=cmt,
        json={"user_id": target, "summary": "Shared login details with a colleague."},
    )
    assert created.status_code == 201, created.json()
    incident = created.json()
    assert incident["manager_notification"] == "sent" and incident["manager_notified_at"]
    assert incident["reported_nationally_at"]
    assert len(inbox.messages) == 1
    recipients, content = inbox.messages[0]
    assert recipients == ["manager@staff.example"]
    message = message_from_bytes(content)
    assert f"incident {incident['id']}" in message["Subject"]
    assert "Test Secondworker" in message.get_payload()
    assert (
        mail_client.post(
            f"{API}/searches", headers=victim, json={"family": "X", "date_of_birth": "2015-01-01"}
        ).status_code
        == 401
    )
    national = log_in(mail_client, db, world.NATIONAL)
    register = mail_client.get(f"{API}/incidents", headers=national).json()
    assert [i["id"] for i in register] == [incident["id"]]
    # open → investigating → closed with an outcome; notes about the investigation.
    path = f"{API}/incidents/{incident['id']}"
    assert (
        mail_client.patch(path, headers=cmt, json={"status": "investigating"}).json()["status"]
        == "investigating"
    )
    noted = mail_client.post(f"{path}/notes", headers=cmt, json={"text": "Interviewed the user and manager."})
    assert noted.json()["notes"][0]["text"] == "Interviewed the user and manager."
    no_outcome = mail_client.patch(path, headers=cmt, json={"status": "closed"})
    assert no_outcome.json()["error"]["code"] == "outcome_required"
    closed = mail_client.patch(path, headers=cmt, json={"status": "closed", "outcome": "disciplined"})
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert mail_client.patch(path, headers=cmt, json={"status": "investigating"}).status_code == 409
    figures = mail_client.get(f"{API}/reports/yearly-figures", headers=national).json()
    north = next(f for f in figures if f["local_authority"] == "Northmere Council")
    assert north["incidents"] == 1 and north["disciplined"] == 1


def test_incident_stands_when_the_mail_server_is_down(client, db, as_role, database_url):
    app = create_app(Settings(database_url=database_url, smtp_host="127.0.0.1", smtp_port=1))
    with TestClient(app) as down:
        cmt = log_in(down, db, world.CMT)
        target = user_id(db, world.PRACTITIONER_2)
        response = down.post(
            f"{API}/incidents", headers=cmt, json={"user_id": target, "summary": "Suspected misuse."}
        )
    assert response.status_code == 201
    assert response.json()["manager_notification"].startswith("not sent")
    assert db.scalar(sa.select(Incident.id)) is not None
    assert db.scalar(sa.select(User.suspended).where(User.id == target)) is True


def test_alert_is_dismissed_with_a_justification_or_becomes_an_incident(client, db, as_role):
    practitioner = as_role("practitioner")
    client.post(
        f"{API}/searches",
        headers=practitioner,
        json={"family": "Practitioner", "date_of_birth": "2015-01-01"},
    )
    cmt = as_role("cmt")
    alerts = client.get(f"{API}/alerts", headers=cmt).json()
    family = next(a for a in alerts if a["rule"] == "family_name_search")
    assert family["username"] == world.PRACTITIONER and family["severity"] == "medium"
    short = client.post(f"{API}/alerts/{family['id']}/dismissal", headers=cmt, json={"justification": "ok"})
    assert short.status_code == 422
    dismissed = client.post(
        f"{API}/alerts/{family['id']}/dismissal",
        headers=cmt,
        json={"justification": "A colleague of the same name asked for help."},
    )
    assert dismissed.json()["status"] == "dismissed"
    assert family["id"] not in {a["id"] for a in client.get(f"{API}/alerts", headers=cmt).json()}
    south = as_role(world.CMT_SOUTH)
    assert client.get(f"{API}/alerts", headers=south).json() == [] or all(
        a["local_authority"] != "Northmere Council" for a in client.get(f"{API}/alerts", headers=south).json()
    )


# --- national lockdown ---------------------------------------------------------------------------


def test_lockdown_and_two_person_restore(client, db, as_role):
    practitioner = as_role("practitioner")
    first = as_role("national")
    second = log_in(client, db, world.NATIONAL_2)
    locked = client.post(f"{API}/lockdown", headers=first, json={"reason": "Suspected credential theft."})
    assert locked.status_code == 201 and locked.json()["locked"] is True
    ended = client.post(
        f"{API}/searches", headers=practitioner, json={"family": "X", "date_of_birth": "2015-01-01"}
    )
    assert ended.status_code == 401
    refused = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "service_locked_down"
    requested = client.post(
        f"{API}/lockdown/restore-requests", headers=first, json={"reason": "Keys rotated."}
    )
    request_id = requested.json()["restore_request_id"]
    alone = client.post(
        f"{API}/lockdown/restore-requests/{request_id}/confirmation",
        headers=first,
        json={"reason": "Confirming my own request."},
    )
    assert alone.status_code == 403 and alone.json()["error"]["code"] == "second_person_required"
    restored = client.post(
        f"{API}/lockdown/restore-requests/{request_id}/confirmation",
        headers=second,
        json={"reason": "Checked the rotation myself."},
    )
    assert restored.status_code == 200 and restored.json()["locked"] is False
    assert client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER)).status_code == 201
    actions = db.scalars(sa.select(AuditEvent.outcome).where(AuditEvent.action == "lockdown")).all()
    assert actions == ["locked", "restore_requested", "restored"]


def test_withdrawing_accreditation_stops_the_organisations_users_at_once(client, db, as_role):
    south = log_in(client, db, world.PRACTITIONER_SOUTH)
    org = db.scalar(sa.text("SELECT id FROM organisations WHERE name = 'Southwold Vale Health'"))
    national = as_role("national")
    assert (
        client.post(f"{API}/organisations/{org}/withdrawal", headers=national, json=REASON).status_code == 200
    )
    assert (
        client.post(
            f"{API}/searches", headers=south, json={"family": "X", "date_of_birth": "2015-01-01"}
        ).status_code
        == 401
    )
    refused = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER_SOUTH))
    assert refused.json()["error"]["code"] == "organisation_not_accredited"


def test_a_cmt_lists_its_own_organisations_to_add_users_to(client, as_role):
    own = {o["name"] for o in client.get(f"{API}/organisations", headers=as_role("cmt")).json()}
    assert own == {"Northmere Children's Services", "Unaccredited Test Org"}
    everyone = {o["name"] for o in client.get(f"{API}/organisations", headers=as_role("national")).json()}
    assert "Southwold Vale Health" in everyone


def test_session_says_who_may_override_shielding(client, db):
    db.execute(sa.update(User).where(User.username == world.PRACTITIONER).values(may_override_shield=True))
    db.commit()
    body = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER)).json()
    assert body["user"]["may_override_shield"] is True
    other = client.post(f"{API}/sessions", json=login_body(db, world.PRACTITIONER_2)).json()
    assert other["user"]["may_override_shield"] is False
