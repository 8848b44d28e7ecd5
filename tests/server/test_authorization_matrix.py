"""The authorisation matrix: every endpoint × every caller against one expected allow/deny table.

`EXPECTED` names, for each route of the app under `/api/v1`, who may call it: `PUBLIC` or the set of
roles allowed. A route without an entry (a new endpoint nobody thought about) fails the test, and
so does an entry without a route. Each route also has a plausible, valid sample request in
`SAMPLES`, so a refusal is a refusal of the caller and not of a broken request.

Callers: no token, a garbage token, an expired token, a logged-out token, a suspended user's token,
and one user of each role.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cpserver.api.app import API_PREFIX
from cpserver.domain.sessions import token_hash
from cpserver.store.models import (
    Alert,
    Child,
    Incident,
    Involvement,
    LockdownAction,
    Notice,
    Organisation,
    RecordReport,
    SystemSetting,
    User,
)
from cpserver.store.models import Session as LoginSession
from tests.server import review_world, world
from tests.server.conftest import login_body

PUBLIC = "public"
ROLES = ("practitioner", "cmt", "national")
ALL_ROLES = frozenset(ROLES)
UNAUTHENTICATED_CODES = {"not_authenticated", "session_expired"}
OVERSEERS = frozenset({"cmt", "national"})
CMT_ONLY = frozenset({"cmt"})
NATIONAL_ONLY = frozenset({"national"})


@dataclass(frozen=True)
class Rule:
    """Who may call a route; `denied_code` is what a role outside `allowed` receives (403)."""

    allowed: str | frozenset[str]
    denied_code: str = "role_not_permitted"
    denied_status: int = 403
    # Why a denial has another code than role_not_permitted, for the reader of a failure.
    note: str = ""


# (method, path template) -> who may call it. Every route must be here, and nothing else.
EXPECTED: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/sessions"): Rule(PUBLIC),
    ("GET", "/api/v1/meta"): Rule(PUBLIC),
    ("DELETE", "/api/v1/sessions/current"): Rule(ALL_ROLES),
    ("GET", "/api/v1/sessions/current"): Rule(ALL_ROLES),
    ("POST", "/api/v1/searches"): Rule(ALL_ROLES),
    ("POST", "/api/v1/children/{cp_id}/views"): Rule(ALL_ROLES),
    ("POST", "/api/v1/children/{cp_id}/involvements"): Rule(frozenset({"practitioner"})),
    ("DELETE", "/api/v1/involvements/{involvement_id}"): Rule(
        frozenset({"practitioner"}),
        denied_code="not_your_involvement",
        note="only practitioners own involvements: anyone else is refused by the ownership rule",
    ),
    # Oversight: the management team acts in its authority; the national team reads every one.
    ("GET", "/api/v1/users"): Rule(OVERSEERS),
    ("GET", "/api/v1/users/expiring-checks"): Rule(OVERSEERS),
    ("POST", "/api/v1/users"): Rule(CMT_ONLY),
    ("PUT", "/api/v1/users/{user_id}/accreditation"): Rule(CMT_ONLY),
    ("POST", "/api/v1/users/{user_id}/suspension"): Rule(CMT_ONLY),
    ("POST", "/api/v1/users/{user_id}/reinstatement"): Rule(CMT_ONLY),
    ("POST", "/api/v1/audit-queries"): Rule(OVERSEERS),
    ("GET", "/api/v1/alerts"): Rule(OVERSEERS),
    ("POST", "/api/v1/alerts/{alert_id}/dismissal"): Rule(CMT_ONLY),
    ("POST", "/api/v1/alerts/{alert_id}/incident"): Rule(CMT_ONLY),
    ("GET", "/api/v1/incidents"): Rule(OVERSEERS),
    ("POST", "/api/v1/incidents"): Rule(CMT_ONLY),
    ("PATCH", "/api/v1/incidents/{incident_id}"): Rule(CMT_ONLY),
    ("POST", "/api/v1/incidents/{incident_id}/notes"): Rule(CMT_ONLY),
    ("POST", "/api/v1/children/{cp_id}/shield"): Rule(CMT_ONLY),
    ("POST", "/api/v1/children/{cp_id}/unshield"): Rule(CMT_ONLY),
    ("GET", "/api/v1/shield-reviews"): Rule(OVERSEERS),
    ("GET", "/api/v1/reports/children-missing-education"): Rule(OVERSEERS),
    ("GET", "/api/v1/reports/yearly-figures"): Rule(NATIONAL_ONLY),
    ("GET", "/api/v1/organisations"): Rule(OVERSEERS),
    ("POST", "/api/v1/organisations/{organisation_id}/accreditation"): Rule(NATIONAL_ONLY),
    ("POST", "/api/v1/organisations/{organisation_id}/withdrawal"): Rule(NATIONAL_ONLY),
    ("GET", "/api/v1/lockdown"): Rule(NATIONAL_ONLY),
    ("POST", "/api/v1/lockdown"): Rule(NATIONAL_ONLY),
    ("POST", "/api/v1/lockdown/restore-requests"): Rule(NATIONAL_ONLY),
    ("POST", "/api/v1/lockdown/restore-requests/{request_id}/confirmation"): Rule(NATIONAL_ONLY),
    # Involvement notices: everyone signed in has an inbox (only practitioners receive notices).
    ("GET", "/api/v1/notices/summary"): Rule(ALL_ROLES),
    ("POST", "/api/v1/notices/views"): Rule(ALL_ROLES),
    ("PUT", "/api/v1/notices/{notice_id}/follow-up"): Rule(frozenset({"practitioner"})),
    ("GET", "/api/v1/notice-settings"): Rule(ALL_ROLES),
    ("PUT", "/api/v1/notice-settings"): Rule(ALL_ROLES),
    ("GET", "/api/v1/reports/notice-follow-up"): Rule(OVERSEERS),
    # Data matching: the queue is the management team's alone (a shielded candidate's details are
    # for its authority's team only); anyone who opened a record may say it is not right.
    ("POST", "/api/v1/match-review-pages"): Rule(CMT_ONLY),
    ("GET", "/api/v1/match-reviews/{review_id}"): Rule(CMT_ONLY),
    ("POST", "/api/v1/match-reviews/{review_id}/decision"): Rule(CMT_ONLY),
    ("POST", "/api/v1/children/{cp_id}/record-reports"): Rule(ALL_ROLES),
    ("POST", "/api/v1/record-report-pages"): Rule(CMT_ONLY),
    ("POST", "/api/v1/record-reports/{report_id}/resolution"): Rule(CMT_ONLY),
    # The machine endpoint: source systems only (their credential; tests/server/test_feed_endpoint.py).
    ("POST", "/api/v1/feeds/batches"): Rule(
        frozenset(),
        denied_code="not_authenticated",
        denied_status=401,
        note="a person's session token is not a source credential",
    ),
}


# --- callers and sample requests ----------------------------------------------------------------


@dataclass
class Request:
    """One sample call: the concrete path, its JSON body, what an allowed caller gets."""

    path: str
    json: Any = None
    # The status an allowed caller receives (a business 4xx would be named here, with why).
    expect: int = 200
    # A token to use instead of the caller's (logging out must not end the caller's session).
    token: str | None = None
    # Undo what an allowed call changed that would spoil later samples (e.g. a lockdown).
    after: Callable[[], None] | None = None


@dataclass
class World:
    """The running app and the logged-in users of one test; each user logs in once."""

    client: TestClient
    db: Session
    tokens: dict[str, str] = field(default_factory=dict)
    owned_involvement: int | None = None
    added_users: int = 0
    services: itertools.cycle[str] = field(
        default_factory=lambda: itertools.cycle(["family_support", "education_welfare", "speech_language"])
    )
    children: itertools.cycle[str] = field(
        default_factory=lambda: itertools.cycle([world.ORDINARY, world.NO_SCHOOL, world.SENSITIVE])
    )

    def log_in(self, username: str) -> str:
        response = self.client.post(f"{API_PREFIX}/sessions", json=login_body(self.db, username))
        assert response.status_code == 201, response.json()
        token: str = response.json()["token"]
        return token

    def token(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = self.log_in(username)
        return self.tokens[username]

    def new_involvement(self) -> int:
        """An open involvement recorded by `world.PRACTITIONER` (through the API)."""
        response = self.client.post(
            f"{API_PREFIX}/children/{next(self.children)}/involvements",
            json={"service_type": next(self.services)},
            headers=bearer(self.token(world.PRACTITIONER)),
        )
        assert response.status_code == 201, response.json()
        involvement_id: int = response.json()["id"]
        return involvement_id

    def practitioners_involvement(self) -> int:
        """One open involvement of `world.PRACTITIONER` that other callers try (and fail) to end."""
        if self.owned_involvement is None:
            self.owned_involvement = self.new_involvement()
        return self.owned_involvement


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


def _login_sample(w: World, _caller: str) -> Request:
    # Public: anyone may try to log in, whatever they send in Authorization.
    return Request(f"{API_PREFIX}/sessions", json=login_body(w.db, world.PRACTITIONER_2), expect=201)


def _logout_sample(w: World, caller: str) -> Request:
    # An allowed caller logs out a second session of their own, so their main token lives on.
    token = w.log_in(world.ROLE_USERS[caller]) if caller in ROLES else None
    return Request(f"{API_PREFIX}/sessions/current", expect=204, token=token)


def _search_sample(_w: World, _caller: str) -> Request:
    body = {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()}
    return Request(f"{API_PREFIX}/searches", json=body)


def _view_sample(_w: World, _caller: str) -> Request:
    return Request(f"{API_PREFIX}/children/{world.ORDINARY}/views", json={"reason": "safeguarding"})


def _add_involvement_sample(w: World, _caller: str) -> Request:
    body = {"service_type": "youth_offending", "lead_professional": False}
    return Request(f"{API_PREFIX}/children/{next(w.children)}/involvements", json=body, expect=201)


def _end_involvement_sample(w: World, caller: str) -> Request:
    # The practitioner ends one of their own; everyone else tries to end the practitioner's.
    involvement_id = w.new_involvement() if caller == "practitioner" else w.practitioners_involvement()
    return Request(f"{API_PREFIX}/involvements/{involvement_id}")


SAMPLES: dict[tuple[str, str], Callable[[World, str], Request]] = {
    ("POST", "/api/v1/sessions"): _login_sample,
    ("GET", "/api/v1/meta"): lambda _w, _c: Request(f"{API_PREFIX}/meta"),
    ("DELETE", "/api/v1/sessions/current"): _logout_sample,
    ("GET", "/api/v1/sessions/current"): lambda _w, _c: Request(f"{API_PREFIX}/sessions/current"),
    ("POST", "/api/v1/searches"): _search_sample,
    ("POST", "/api/v1/children/{cp_id}/views"): _view_sample,
    ("POST", "/api/v1/children/{cp_id}/involvements"): _add_involvement_sample,
    ("DELETE", "/api/v1/involvements/{involvement_id}"): _end_involvement_sample,
}


# --- oversight samples: each arranges what it needs through the database ------------------------

REASON = {"reason": "Recorded for the authorisation matrix test."}


def _user_id(w: World, username: str) -> int:
    w.db.rollback()
    user_id: int = w.db.scalar(sa.select(User.id).where(User.username == username))
    return user_id


def _new_alert(w: World) -> int:
    subject = w.db.scalar(sa.select(User).where(User.username == world.NO_PROCEDURES))
    alert = Alert(
        rule="browsing",
        severity="medium",
        user_id=subject.id,
        local_authority_id=subject.local_authority_id,
        summary="test",
        evidence={},
    )
    w.db.add(alert)
    w.db.commit()
    return alert.id


def _new_incident(w: World) -> int:
    subject = w.db.scalar(sa.select(User).where(User.username == world.NO_PROCEDURES))
    incident = Incident(
        opened_by_id=_user_id(w, world.CMT),
        user_id=subject.id,
        local_authority_id=subject.local_authority_id,
        summary="test incident",
    )
    w.db.add(incident)
    w.db.commit()
    return incident.id


def _lock_in_db(w: World, requested_by: str | None = None) -> int | None:
    """A lockdown (and perhaps a restore request) as if the national team had made them."""
    locker = _user_id(w, world.NATIONAL_2)
    requester = _user_id(w, requested_by) if requested_by is not None else None
    w.db.merge(SystemSetting(key="lockdown", value="on"))
    w.db.add(LockdownAction(action="locked", user_id=locker, reason="test"))
    w.db.flush()
    request = None
    if requester is not None:
        request = LockdownAction(action="restore_requested", user_id=requester, reason="test")
        w.db.add(request)
    w.db.commit()
    return request.id if request is not None else None


def _unlock_in_db(w: World) -> None:
    w.db.merge(SystemSetting(key="lockdown", value="off"))
    w.db.commit()
    w.tokens.clear()  # the lockdown ended the other roles' sessions: they log in again


def _organisation_id(w: World, name: str) -> int:
    organisation_id: int = w.db.scalar(sa.select(Organisation.id).where(Organisation.name == name))
    return organisation_id


def _add_user_sample(w: World, _caller: str) -> Request:
    w.added_users += 1
    body = {
        "username": f"new.user{w.added_users}",
        "given_name": "New",
        "family_name": "Starter",
        "role": "practitioner",
        "job_title": "Youth worker",
        "telephone": "01632 960999",
        "email": "new@staff.example",
        "organisation_id": _organisation_id(w, "Northmere Children's Services"),
        "manager_name": "A Manager",
        "manager_email": "manager@staff.example",
    }
    return Request(f"{API_PREFIX}/users", json=body, expect=201)


def _accreditation_sample(w: World, _caller: str) -> Request:
    body = {
        "crb_checked_on": world.TODAY.isoformat(),
        "training_completed": True,
        "procedures_received": True,
        "agreement_signed": True,
    }
    return Request(f"{API_PREFIX}/users/{_user_id(w, world.NO_AGREEMENT)}/accreditation", json=body)


def _lockdown_sample(w: World, caller: str) -> Request:
    after = (lambda: _unlock_in_db(w)) if caller == "national" else None
    return Request(f"{API_PREFIX}/lockdown", json=REASON, expect=201, after=after)


def _restore_request_sample(w: World, caller: str) -> Request:
    if caller != "national":
        return Request(f"{API_PREFIX}/lockdown/restore-requests", json=REASON, expect=201)
    _lock_in_db(w)
    return Request(
        f"{API_PREFIX}/lockdown/restore-requests", json=REASON, expect=201, after=lambda: _unlock_in_db(w)
    )


def _restore_confirmation_sample(w: World, caller: str) -> Request:
    request_id = _lock_in_db(w, requested_by=world.NATIONAL_2) if caller == "national" else 1
    return Request(
        f"{API_PREFIX}/lockdown/restore-requests/{request_id}/confirmation",
        json=REASON,
        after=(lambda: _unlock_in_db(w)) if caller == "national" else None,
    )


OVERSIGHT_SAMPLES: dict[tuple[str, str], Callable[[World, str], Request]] = {
    ("GET", "/api/v1/users"): lambda _w, _c: Request(f"{API_PREFIX}/users"),
    ("GET", "/api/v1/users/expiring-checks"): lambda _w, _c: Request(f"{API_PREFIX}/users/expiring-checks"),
    ("POST", "/api/v1/users"): _add_user_sample,
    ("PUT", "/api/v1/users/{user_id}/accreditation"): _accreditation_sample,
    ("POST", "/api/v1/users/{user_id}/suspension"): lambda w, _c: Request(
        f"{API_PREFIX}/users/{_user_id(w, world.UNTRAINED)}/suspension", json=REASON
    ),
    ("POST", "/api/v1/users/{user_id}/reinstatement"): lambda w, _c: Request(
        f"{API_PREFIX}/users/{_user_id(w, world.SUSPENDED)}/reinstatement", json=REASON
    ),
    ("POST", "/api/v1/audit-queries"): lambda _w, _c: Request(f"{API_PREFIX}/audit-queries", json={}),
    ("GET", "/api/v1/alerts"): lambda _w, _c: Request(f"{API_PREFIX}/alerts"),
    ("POST", "/api/v1/alerts/{alert_id}/dismissal"): lambda w, _c: Request(
        f"{API_PREFIX}/alerts/{_new_alert(w)}/dismissal", json={"justification": "Checked with the manager."}
    ),
    ("POST", "/api/v1/alerts/{alert_id}/incident"): lambda w, _c: Request(
        f"{API_PREFIX}/alerts/{_new_alert(w)}/incident", json={"summary": "Opened from an alert."}, expect=201
    ),
    ("GET", "/api/v1/incidents"): lambda _w, _c: Request(f"{API_PREFIX}/incidents"),
    ("POST", "/api/v1/incidents"): lambda w, _c: Request(
        f"{API_PREFIX}/incidents",
        expect=201,
        json={"user_id": _user_id(w, world.NO_PROCEDURES), "summary": "Reported by a colleague."},
    ),
    ("PATCH", "/api/v1/incidents/{incident_id}"): lambda w, _c: Request(
        f"{API_PREFIX}/incidents/{_new_incident(w)}", json={"status": "investigating"}
    ),
    ("POST", "/api/v1/incidents/{incident_id}/notes"): lambda w, _c: Request(
        f"{API_PREFIX}/incidents/{_new_incident(w)}/notes",
        json={"text": "Interviewed the user today."},
        expect=201,
    ),
    ("POST", "/api/v1/children/{cp_id}/shield"): lambda _w, _c: Request(
        f"{API_PREFIX}/children/{world.NO_SCHOOL}/shield",
        json={
            "ground": "significant_harm",
            "review_date": (world.TODAY + dt.timedelta(days=90)).isoformat(),
            "reason": "Police advice received today.",
        },
    ),
    ("POST", "/api/v1/children/{cp_id}/unshield"): lambda _w, _c: Request(
        f"{API_PREFIX}/children/{world.SHIELDED}/unshield", json=REASON
    ),
    ("GET", "/api/v1/shield-reviews"): lambda _w, _c: Request(f"{API_PREFIX}/shield-reviews"),
    ("GET", "/api/v1/reports/children-missing-education"): lambda _w, _c: Request(
        f"{API_PREFIX}/reports/children-missing-education"
    ),
    ("GET", "/api/v1/reports/yearly-figures"): lambda _w, _c: Request(f"{API_PREFIX}/reports/yearly-figures"),
    ("GET", "/api/v1/organisations"): lambda _w, _c: Request(f"{API_PREFIX}/organisations"),
    ("POST", "/api/v1/organisations/{organisation_id}/accreditation"): lambda w, _c: Request(
        f"{API_PREFIX}/organisations/{_organisation_id(w, 'Unaccredited Test Org')}/accreditation",
        json=REASON,
    ),
    ("POST", "/api/v1/organisations/{organisation_id}/withdrawal"): lambda w, _c: Request(
        f"{API_PREFIX}/organisations/{_organisation_id(w, 'Southwold Vale Health')}/withdrawal", json=REASON
    ),
    ("GET", "/api/v1/lockdown"): lambda _w, _c: Request(f"{API_PREFIX}/lockdown"),
    ("POST", "/api/v1/lockdown"): _lockdown_sample,
    ("POST", "/api/v1/lockdown/restore-requests"): _restore_request_sample,
    ("POST", "/api/v1/lockdown/restore-requests/{request_id}/confirmation"): _restore_confirmation_sample,
}
SAMPLES.update(OVERSIGHT_SAMPLES)


def _practitioners_notice(w: World) -> int:
    """A notice for `world.PRACTITIONER`: another practitioner joins a child they work with."""
    w.practitioners_involvement()
    w.db.rollback()
    own = w.db.get(Involvement, w.owned_involvement)
    other = w.db.scalar(sa.select(User).where(User.username == world.PRACTITIONER_2))
    assert own is not None and other is not None
    theirs = Involvement(
        child_pk=own.child_pk,
        practitioner_user_id=other.id,
        practitioner_name=other.display_name,
        practitioner_role=other.job_title,
        organisation_name="Northmere Children's Services",
        telephone=other.telephone,
        email=other.email,
        service_type="speech_language",
        started_on=world.TODAY,
    )
    w.db.add(theirs)
    w.db.flush()
    recipient = w.db.scalar(sa.select(User).where(User.username == world.PRACTITIONER))
    assert recipient is not None
    now = dt.datetime.now(dt.UTC)
    notice = Notice(
        recipient_user_id=recipient.id,
        child_pk=own.child_pk,
        involvement_id=theirs.id,
        event="added",
        local_authority_id=recipient.local_authority_id,
        created_at=now,
        follow_up_due_at=now + dt.timedelta(days=14),
    )
    w.db.add(notice)
    w.db.commit()
    return notice.id


SAMPLES.update(
    {
        ("GET", "/api/v1/notices/summary"): lambda _w, _c: Request(f"{API_PREFIX}/notices/summary"),
        ("POST", "/api/v1/notices/views"): lambda _w, _c: Request(f"{API_PREFIX}/notices/views"),
        ("PUT", "/api/v1/notices/{notice_id}/follow-up"): lambda w, _c: Request(
            f"{API_PREFIX}/notices/{_practitioners_notice(w)}/follow-up", json={"answer": "contacted"}
        ),
        ("GET", "/api/v1/notice-settings"): lambda _w, _c: Request(f"{API_PREFIX}/notice-settings"),
        ("PUT", "/api/v1/notice-settings"): lambda _w, _c: Request(
            f"{API_PREFIX}/notice-settings", json={"delivery": "immediate"}
        ),
        ("GET", "/api/v1/reports/notice-follow-up"): lambda _w, _c: Request(
            f"{API_PREFIX}/reports/notice-follow-up"
        ),
        ("POST", "/api/v1/feeds/batches"): lambda _w, _c: Request(
            f"{API_PREFIX}/feeds/batches",
            json={"source_record_id": "M-1", "given_name": "Matrix", "family_name": "Rowe"},
            expect=201,
        ),
    }
)


def _held_row(w: World) -> int:
    """A fresh possible match in Northmere (the management team under test decides it)."""
    w.db.rollback()
    return review_world.hold(w.db, world.ORDINARY, number=next(_HELD_ROWS))


_HELD_ROWS = itertools.count(100)


def _record_report_sample(w: World, caller: str) -> Request:
    # The caller opens the record first (a report is about a record one has opened today).
    if caller in ROLES:
        opened = w.client.post(
            f"{API_PREFIX}/children/{world.ORDINARY}/views",
            json={"reason": "safeguarding"},
            headers=bearer(w.token(world.ROLE_USERS[caller])),
        )
        assert opened.status_code == 200, opened.json()
    return Request(
        f"{API_PREFIX}/children/{world.ORDINARY}/record-reports", json={"problem": "wrong_gp"}, expect=201
    )


def _open_report(w: World) -> int:
    w.db.rollback()
    child = w.db.scalar(sa.select(Child).where(Child.cp_id == world.ORDINARY))
    reporter = w.db.scalar(sa.select(User).where(User.username == world.PRACTITIONER_2))
    assert child is not None and reporter is not None
    report = RecordReport(
        child_pk=child.id,
        reporter_user_id=reporter.id,
        problem="wrong_name",
        local_authority_id=child.local_authority_id,
        status="open",
    )
    w.db.add(report)
    w.db.commit()
    return report.id


SAMPLES.update(
    {
        ("POST", "/api/v1/match-review-pages"): lambda _w, _c: Request(
            f"{API_PREFIX}/match-review-pages", json={}
        ),
        ("GET", "/api/v1/match-reviews/{review_id}"): lambda w, _c: Request(
            f"{API_PREFIX}/match-reviews/{_held_row(w)}"
        ),
        ("POST", "/api/v1/match-reviews/{review_id}/decision"): lambda w, _c: Request(
            f"{API_PREFIX}/match-reviews/{_held_row(w)}/decision", json={"decision": "same_child"}
        ),
        ("POST", "/api/v1/children/{cp_id}/record-reports"): _record_report_sample,
        ("POST", "/api/v1/record-report-pages"): lambda _w, _c: Request(
            f"{API_PREFIX}/record-report-pages", json={}
        ),
        ("POST", "/api/v1/record-reports/{report_id}/resolution"): lambda w, _c: Request(
            f"{API_PREFIX}/record-reports/{_open_report(w)}/resolution", json={"resolution": "corrected"}
        ),
    }
)


def flat_routes(app: Any) -> list[Any]:
    """The app's routes with included routers flattened (FastAPI ≥ 0.165 includes them lazily)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(iterate(app.routes)) if iterate is not None else list(app.routes)


def api_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path template) the app serves under the API prefix, of any route class."""
    found: set[tuple[str, str]] = set()
    for route in flat_routes(client.app):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path and (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            assert methods, f"{path}: a route under the API with no HTTP methods (websocket or mount?)"
            found.update((method, path) for method in set(methods) - {"HEAD", "OPTIONS"})
    return found


def test_the_route_enumeration_sees_fastapi_routes(client: TestClient) -> None:
    originals = [getattr(route, "original_route", route) for route in flat_routes(client.app)]
    assert any(isinstance(route, APIRoute) for route in originals)


def call(w: World, key: tuple[str, str], caller: str, token: str | None) -> tuple[Request, Any]:
    method, _template = key
    sample = SAMPLES[key](w, caller)
    headers = bearer(sample.token if sample.token is not None else token)
    response = w.client.request(method, sample.path, json=sample.json, headers=headers)
    if sample.after is not None:
        sample.after()
    return sample, response


def error_code(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return code if isinstance(code, str) else None
    return None


# --- the tests ----------------------------------------------------------------------------------


def test_every_route_has_an_entry_and_every_entry_a_route(client: TestClient) -> None:
    routes = api_routes(client)
    assert routes, "no API routes found: the enumeration itself is broken"
    missing = sorted(routes - EXPECTED.keys())
    assert not missing, f"routes with no entry in the authorisation table (add one): {missing}"
    stale = sorted(EXPECTED.keys() - routes)
    assert not stale, f"table entries with no route (remove or fix them): {stale}"
    no_sample = sorted(EXPECTED.keys() - SAMPLES.keys())
    assert not no_sample, f"routes with no sample request in SAMPLES: {no_sample}"


def assert_still_open(db: Session, involvement_id: int | None) -> None:
    """The refused callers did not end the practitioner's involvement."""
    assert involvement_id is not None, "the sample requests never used the practitioner's involvement"
    db.rollback()
    involvement = db.get(Involvement, involvement_id)
    assert involvement is not None and involvement.ended_on is None, "a refused call ended the involvement"
    db.rollback()


def _expire(db: Session, token: str) -> None:
    db.execute(
        sa.update(LoginSession)
        .where(LoginSession.token_hash == token_hash(token))
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    )
    db.commit()


def _suspend(db: Session, username: str) -> None:
    db.execute(
        sa.update(User).where(User.username == username).values(suspended=True, suspended_reason="test")
    )
    db.commit()


def test_unauthenticated_callers_are_refused_on_every_protected_route(
    client: TestClient, db: Session
) -> None:
    w = World(client, db)
    expired = w.log_in(world.PRACTITIONER_2)
    _expire(db, expired)
    logged_out = w.log_in(world.CMT_SOUTH)
    assert client.delete(f"{API_PREFIX}/sessions/current", headers=bearer(logged_out)).status_code == 204
    suspended = w.log_in(world.PRACTITIONER_SOUTH)
    _suspend(db, world.PRACTITIONER_SOUTH)
    callers: dict[str, str | None] = {
        "no token": None,
        "garbage token": "not-a-real-token-" + "x" * 30,
        "expired token": expired,
        "logged-out token": logged_out,
        "suspended user": suspended,
    }

    failures: list[str] = []
    for key in sorted(EXPECTED):
        rule = EXPECTED[key]
        for name, token in callers.items():
            sample, response = call(w, key, name, token)
            where = f"{key[0]} {key[1]} as {name}"
            if rule.allowed == PUBLIC:
                if response.status_code != sample.expect:
                    failures.append(f"{where}: public route gave {response.status_code}, not {sample.expect}")
                continue
            code = error_code(response)
            if response.status_code != 401 or code not in UNAUTHENTICATED_CODES:
                failures.append(
                    f"{where}: {response.status_code} {code}, expected 401 not_authenticated/expired"
                )
    assert not failures, "\n".join(failures)
    assert_still_open(db, w.owned_involvement)


def test_roles_against_the_table(client: TestClient, db: Session) -> None:
    w = World(client, db)
    failures: list[str] = []
    for key in sorted(EXPECTED):
        rule = EXPECTED[key]
        for role in ROLES:
            token = w.token(world.ROLE_USERS[role])
            sample, response = call(w, key, role, token)
            where = f"{key[0]} {key[1]} as {role}"
            code = error_code(response)
            if rule.allowed == PUBLIC or role in rule.allowed:
                if response.status_code != sample.expect:
                    failures.append(f"{where}: allowed, but got {response.status_code} {code}")
            elif response.status_code != rule.denied_status or code != rule.denied_code:
                why = f" ({rule.note})" if rule.note else ""
                failures.append(
                    f"{where}: {response.status_code} {code}, expected {rule.denied_status} "
                    f"{rule.denied_code}{why}"
                )
    assert not failures, "\n".join(failures)
    assert_still_open(db, w.owned_involvement)
    # The roles' own sessions are still alive (logout sampled a second session each).
    for role in ROLES:
        response = client.get(f"{API_PREFIX}/meta", headers=bearer(w.token(world.ROLE_USERS[role])))
        assert response.status_code == 200
        search = client.post(
            f"{API_PREFIX}/searches",
            json={"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()},
            headers=bearer(w.token(world.ROLE_USERS[role])),
        )
        assert search.status_code == 200, (role, search.json())


def test_nobody_ends_another_practitioners_involvement(client: TestClient, db: Session) -> None:
    w = World(client, db)
    theirs = w.practitioners_involvement()
    other = w.token(world.PRACTITIONER_2)
    response = client.delete(f"{API_PREFIX}/involvements/{theirs}", headers=bearer(other))
    assert response.status_code == 403
    assert error_code(response) == "not_your_involvement"
    assert_still_open(db, theirs)
    # The owner still can; then it is ended, once.
    mine = client.delete(f"{API_PREFIX}/involvements/{theirs}", headers=bearer(w.token(world.PRACTITIONER)))
    assert mine.status_code == 200, mine.json()
    assert mine.json()["ended_on"] is not None and mine.json()["mine"] is True
    again = client.delete(f"{API_PREFIX}/involvements/{theirs}", headers=bearer(w.token(world.PRACTITIONER)))
    assert again.status_code == 409 and error_code(again) == "involvement_already_ended"


@pytest.mark.parametrize("how", ["suspended", "expired", "logged_out"])
def test_a_dead_session_is_refused_on_the_very_next_request(
    client: TestClient, db: Session, how: str
) -> None:
    w = World(client, db)
    token = w.log_in(world.PRACTITIONER)
    headers = bearer(token)
    search = {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()}
    assert client.post(f"{API_PREFIX}/searches", json=search, headers=headers).status_code == 200
    if how == "suspended":
        _suspend(db, world.PRACTITIONER)
    elif how == "expired":
        _expire(db, token)
    else:
        assert client.delete(f"{API_PREFIX}/sessions/current", headers=headers).status_code == 204
    for _ in range(2):  # the next request, and the one after it
        response = client.post(f"{API_PREFIX}/searches", json=search, headers=headers)
        assert response.status_code == 401, response.json()
        assert error_code(response) in UNAUTHENTICATED_CODES
        assert b"results" not in response.content
    db.rollback()
    row = db.scalar(sa.select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    assert row is not None and row.ended_at is not None, "the server did not end the session"
    if how == "suspended":
        again = client.post(f"{API_PREFIX}/sessions", json=login_body(db, world.PRACTITIONER))
        assert again.status_code == 403 and error_code(again) == "account_suspended"
