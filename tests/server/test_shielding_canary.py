"""The shielding canary (rule 5).

Every hidden field of the shielded children in `world` holds a unique marker. Every response that
a user who may not see shielded details can obtain (login, meta, searches, views with every reason,
refused views, involvements, errors) is collected as raw bytes, headers included, and scanned for
the markers. The positive control proves the markers are real: the management team of the child's
own authority does receive them, and its access is audited as shielded access.

Also here: sensitive-service involvements are shown only to the recording practitioner and the
management team; everyone else does not learn that they exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cpserver.store.models import AuditEvent, Child, Involvement, User
from tests.server import review_world, world
from tests.server.conftest import login_body

API = "/api/v1"
SHIELDED_IDS = (world.SHIELDED, world.SHIELDED_SOUTH)
# Children served shielded to whoever may not see the Northmere shielded child: itself, the
# sibling who shares its home and mother, the half-sibling who lives with its father.
NORTH_HOUSEHOLD = world.NORTH_HOUSEHOLD
CANARY_VALUES = [value.lower().encode() for value in world.CANARIES.values()]


@dataclass
class Collector:
    """Every response one user obtained, labelled by the request that produced it."""

    client: TestClient
    username: str
    # Fail at the first response holding a marker (off for a user who may see them).
    scan: bool = True
    # The markers this user may not receive (every shielded household's, unless told otherwise).
    markers: list[bytes] = field(default_factory=lambda: list(world.CANARY_BYTES))
    headers: dict[str, str] = field(default_factory=dict)
    seen: list[tuple[str, int, bytes]] = field(default_factory=list)

    def keep(self, label: str, response: Any) -> Any:
        header_bytes = b"\n".join(f"{name}: {value}".encode() for name, value in response.headers.items())
        entry = (f"{self.username}: {label}", response.status_code, response.content + b"\n" + header_bytes)
        self.seen.append(entry)
        if self.scan:
            found = leaks([entry], self.markers)
            assert not found, "canary markers reached a user who may not see them: " + "; ".join(found)
        return response

    def request(self, label: str, method: str, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", self.headers)
        return self.keep(label, self.client.request(method, API + path, **kwargs))


def leaks(collected: list[tuple[str, int, bytes]], markers: list[bytes] | None = None) -> list[str]:
    """Which marker appeared in which request (the markers are fictitious: safe to print)."""
    found: list[str] = []
    for label, status, raw in collected:
        lowered = raw.lower()
        found.extend(
            f"{marker.decode()!r} in {label} ({status})"
            for marker in (world.CANARY_BYTES if markers is None else markers)
            if marker in lowered
        )
    return found


def log_in(collector: Collector, db: Session) -> None:
    response = collector.request(
        "login", "POST", "/sessions", json=login_body(db, collector.username), headers={}
    )
    assert response.status_code == 201, response.json()
    collector.headers = {"Authorization": f"Bearer {response.json()['token']}"}


def reasons(collector: Collector) -> list[dict[str, Any]]:
    response = collector.request("meta", "GET", "/meta")
    assert response.status_code == 200
    listed: list[dict[str, Any]] = response.json()["reasons"]
    assert listed and any(reason["needs_text"] for reason in listed)
    return listed


def searches(collector: Collector) -> None:
    dob = world.SHIELDED_DOB
    by_dob = collector.request(
        "search family+dob",
        "POST",
        "/searches",
        json={"family": world.SHIELDED_FAMILY, "date_of_birth": dob.isoformat()},
    )
    assert by_dob.status_code == 200, by_dob.json()
    found = {result["id"]: result for result in by_dob.json()["results"]}
    assert set(SHIELDED_IDS) <= found.keys(), (
        "the shielded children must be findable by name and date of birth"
    )
    for cp_id in SHIELDED_IDS:
        assert found[cp_id]["shielded"] is True
        assert found[cp_id]["locality"] is None
    for label, postcode in (
        ("canary postcode", world.CANARIES["postcode"]),
        ("canary postcode, no space", "zz999qx"),
    ):
        for given in ("Rowan", "Linden"):
            response = collector.request(
                f"search given+family+{label}",
                "POST",
                "/searches",
                json={"given": given, "family": world.SHIELDED_FAMILY, "postcode": postcode},
            )
            assert response.status_code == 200, response.json()
            ids = {result["id"] for result in response.json()["results"]}
            assert not ids & set(SHIELDED_IDS), "a shielded child was found by its hidden postcode"
    carer = collector.request(
        "search by carer postcode",
        "POST",
        "/searches",
        json={
            "given": "Rowan",
            "family": world.SHIELDED_FAMILY,
            "postcode": world.CANARIES["carer_postcode"],
        },
    )
    assert carer.status_code == 200 and not carer.json()["results"]
    ranged = collector.request(
        "search family+dob range",
        "POST",
        "/searches",
        json={
            "family": world.SHIELDED_FAMILY,
            "date_of_birth_from": dob.replace(day=1).isoformat(),
            "date_of_birth_to": dob.replace(day=28).isoformat(),
        },
    )
    assert ranged.status_code == 200
    assert {result["id"] for result in ranged.json()["results"]} >= set(SHIELDED_IDS)
    household(collector)
    phonetic = collector.request(
        "search phonetic",
        "POST",
        "/searches",
        json={"family": "Quilfeather", "date_of_birth": dob.isoformat()},
    )
    assert phonetic.status_code == 200
    too_broad = collector.request(
        "search too broad", "POST", "/searches", json={"family": world.SHIELDED_FAMILY}
    )
    assert too_broad.status_code == 400


def household(collector: Collector) -> None:
    """The shielded child's sibling and half-sibling: found by name, as shielded, with no locality;
    never found by a postcode of the shielded household (theirs, or a carer's)."""
    for label, family, given, dob in (
        ("sibling", world.SHIELDED_FAMILY, "Ash", world.SIBLING_DOB),
        ("half-sibling", world.HALF_SIBLING_FAMILY, "Birch", world.HALF_SIBLING_DOB),
    ):
        found = collector.request(
            f"search {label} family+dob",
            "POST",
            "/searches",
            json={"family": family, "date_of_birth": dob.isoformat()},
        )
        assert found.status_code == 200, found.json()
        results = found.json()["results"]
        assert results, f"the {label} must be findable by name and date of birth"
        if collector.username == world.CMT:
            # The household's own management team: the positive control of the rule below.
            assert [r["locality"] for r in results] == [
                world.CANARIES["town" if label == "sibling" else "father_town"]
            ]
            continue
        for result in results:
            assert result["shielded"] is True and result["locality"] is None, (label, collector.username)
        for postcode in (
            world.CANARIES["postcode"],
            world.CANARIES["carer_postcode"],
            world.CANARIES["father_postcode"],
            "zz944qx",
        ):
            response = collector.request(
                f"search {label} by a household postcode",
                "POST",
                "/searches",
                json={"given": given, "family": family, "postcode": postcode},
            )
            assert response.status_code == 200, response.json()
            assert response.json()["results"] == [], (
                f"the {label} was found by a shielded household's postcode"
            )


def oversight_views(collector: Collector) -> None:
    """What a management or national team member who may not see the household is shown about it:
    audit rows (searches as typed included), alerts, incidents, lists and reports."""
    for label, body in (
        ("audit all", {}),
        ("audit searches", {"action": "search"}),
        ("audit views", {"action": "view"}),
        *[
            (f"audit child {cp_id}", {"child_id": cp_id})
            for cp_id in (*NORTH_HOUSEHOLD, world.SHIELDED_SOUTH)
        ],
    ):
        response = collector.request(label, "POST", "/audit-queries", json=body)
        assert response.status_code == 200, response.json()
    for label, path in (
        ("alerts", "/alerts"),
        ("incidents", "/incidents"),
        ("shield reviews", "/shield-reviews"),
        ("children missing education", "/reports/children-missing-education"),
        ("users", "/users"),
    ):
        assert collector.request(label, "GET", path).status_code == 200, label


def views(collector: Collector, cp_id: str, listed: list[dict[str, Any]]) -> None:
    """Every reason, and every way of getting the reason wrong."""
    for reason in listed:
        body = {"reason": reason["code"]}
        if reason["needs_text"]:
            body["reason_text"] = "Checking who to contact about a referral"
        response = collector.request(
            f"view {cp_id} reason {reason['code']}", "POST", f"/children/{cp_id}/views", json=body
        )
        assert response.status_code == 200, response.json()
        record = response.json()
        assert record["kind"] == "shielded" and record["shielded"] is True
        assert "address" not in record and "involvements" not in record and "telephone" not in record
        assert record["withheld"], "the response should say what was withheld"
    wrong: list[tuple[str, Any, int]] = [
        ("no reason", {}, 400),
        ("null reason", {"reason": None}, 400),
        ("unknown reason", {"reason": "curiosity"}, 400),
        ("other without text", {"reason": "other"}, 400),
        ("other, short text", {"reason": "other", "reason_text": "because"}, 400),
        ("other, text too long", {"reason": "other", "reason_text": "x" * 600}, 400),
        ("unknown field", {"reason": "safeguarding", "include": "address"}, 422),
        ("wrong type", {"reason": ["safeguarding"]}, 422),
        ("body is a list", ["safeguarding"], 422),
    ]
    for label, body, status in wrong:
        response = collector.request(f"view {cp_id} {label}", "POST", f"/children/{cp_id}/views", json=body)
        assert response.status_code == status, (label, response.status_code)
    malformed = collector.request(
        f"view {cp_id} malformed json",
        "POST",
        f"/children/{cp_id}/views",
        content=b'{"reason": "safeguarding"',
        headers={**collector.headers, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400


def odd_requests(collector: Collector) -> None:
    """404s for ids that do not exist, and validation errors on every route."""
    for label, method, path, body in [
        ("view unknown child", "POST", "/children/CP9999999999/views", {"reason": "safeguarding"}),
        ("view bad id", "POST", "/children/not%20an%20id/views", {"reason": "safeguarding"}),
        ("view id too long", "POST", "/children/" + "9" * 40 + "/views", {"reason": "safeguarding"}),
        ("GET a record", "GET", f"/children/{world.SHIELDED}/views", None),
        ("GET a record by id", "GET", f"/children/{world.SHIELDED}", None),
        ("end unknown involvement", "DELETE", "/involvements/999999", None),
        ("end involvement bad id", "DELETE", "/involvements/abc", None),
        ("end involvement zero", "DELETE", "/involvements/0", None),
        (
            "add involvement unknown child",
            "POST",
            "/children/CP9999999999/involvements",
            {"service_type": "social_care"},
        ),
        ("search wrong types", "POST", "/searches", {"family": 7, "date_of_birth": "soon"}),
        ("search unknown field", "POST", "/searches", {"family": world.SHIELDED_FAMILY, "address": "x"}),
        (
            "search dob in the future",
            "POST",
            "/searches",
            {"family": world.SHIELDED_FAMILY, "date_of_birth": "2999-01-01"},
        ),
    ]:
        response = collector.request(label, method, path, json=body)
        assert 400 <= response.status_code < 500, (label, response.status_code)


def involvements(collector: Collector, db: Session, cp_id: str) -> None:
    """A practitioner records, re-records (409), sees, and ends their own involvement on a shielded child."""
    added = collector.request(
        "add involvement", "POST", f"/children/{cp_id}/involvements", json={"service_type": "family_support"}
    )
    assert added.status_code == 201, added.json()
    involvement = added.json()
    assert involvement["mine"] is True
    again = collector.request(
        "add involvement again",
        "POST",
        f"/children/{cp_id}/involvements",
        json={"service_type": "family_support"},
    )
    assert again.status_code == 409
    for label, body in [
        ("add unknown service", {"service_type": "chess_club"}),
        ("add sensitive without consent", {"service_type": "mental_health"}),
        ("add future start", {"service_type": "housing_support", "started_on": "2999-01-01"}),
    ]:
        assert (
            collector.request(label, "POST", f"/children/{cp_id}/involvements", json=body).status_code == 400
        )
    notices(collector, cp_id)
    view = collector.request(
        "view after add", "POST", f"/children/{cp_id}/views", json={"reason": "recording_involvement"}
    )
    assert view.status_code == 200
    own = view.json()["own_involvements"]
    assert [item["id"] for item in own] == [involvement["id"]]
    # The canary involvement is someone else's: trying to end it is refused and reveals nothing.
    db.rollback()
    theirs = db.scalar(
        sa.select(Involvement.id)
        .join(Child)
        .where(Child.cp_id == cp_id, Involvement.practitioner_user_id.is_(None))
    )
    assert theirs is not None
    refused = collector.request("end someone else's involvement", "DELETE", f"/involvements/{theirs}")
    assert refused.status_code == 403
    ended = collector.request("end own involvement", "DELETE", f"/involvements/{involvement['id']}")
    assert ended.status_code == 200 and ended.json()["ended_on"] is not None
    twice = collector.request("end own involvement again", "DELETE", f"/involvements/{involvement['id']}")
    assert twice.status_code == 409
    after = collector.request(
        "view after end", "POST", f"/children/{cp_id}/views", json={"reason": "who_else_involved"}
    )
    assert after.status_code == 200 and after.json()["own_involvements"][0]["ended_on"] is not None


def notices(collector: Collector, cp_id: str) -> None:
    """Joining a shielded child brings a notice of the other service: the management team brokers it."""
    summary = collector.request("notice summary", "GET", "/notices/summary")
    assert summary.status_code == 200 and summary.json()["unread"] >= 1
    inbox = collector.request("notice inbox", "POST", "/notices/views")
    assert inbox.status_code == 200
    about = [notice for notice in inbox.json()["notices"] if notice["child"]["id"] == cp_id]
    assert about, "the practitioner should have been told of the other service"
    for notice in about:
        assert notice["involvement"] is None and notice["broker"] is not None
        assert "involvements" in notice["withheld"]
    for answer in ("not_yet", "contacted"):
        replied = collector.request(
            f"notice follow-up {answer}",
            "PUT",
            f"/notices/{about[0]['id']}/follow-up",
            json={"answer": answer},
        )
        assert replied.status_code == 200
    for label, path, body in (
        ("follow-up unknown notice", "/notices/999999/follow-up", {"answer": "contacted"}),
        ("follow-up bad answer", f"/notices/{about[0]['id']}/follow-up", {"answer": "address"}),
    ):
        assert 400 <= collector.request(label, "PUT", path, json=body).status_code < 500
    assert collector.request("notice settings", "GET", "/notice-settings").status_code == 200


def refused_involvements(collector: Collector, db: Session, cp_id: str) -> None:
    """Management and national users may not add involvements, nor end anyone's."""
    added = collector.request(
        "add involvement (not a practitioner)",
        "POST",
        f"/children/{cp_id}/involvements",
        json={"service_type": "social_care"},
    )
    assert added.status_code == 403
    db.rollback()
    theirs = db.scalar(sa.select(Involvement.id).join(Child).where(Child.cp_id == cp_id))
    ended = collector.request("end an involvement (not a practitioner)", "DELETE", f"/involvements/{theirs}")
    assert ended.status_code == 403


def data_matching(collector: Collector, items: dict[str, int], shielded_from: tuple[str, ...]) -> None:
    """The possible-match queue and "this is not right": what each user can obtain about the shielded
    children through them (the queue items of another authority answer 404, like missing ones)."""
    collector.request("match reviews", "POST", "/match-review-pages", json={})
    collector.request("record reports", "POST", "/record-report-pages", json={})
    own = {world.CMT: ("ordinary", "shielded"), world.CMT_SOUTH: ("south",)}.get(collector.username, ())
    for label, item_id in (*items.items(), ("missing", 999999)):
        collector.request(f"match review {label}", "GET", f"/match-reviews/{item_id}")
        if label not in own:  # a decision this user may not make: refused, saying nothing
            collector.request(
                f"match review {label} decision",
                "POST",
                f"/match-reviews/{item_id}/decision",
                json={"decision": "different_children"},
            )
    for cp_id in shielded_from:  # each was opened by `views` just before
        for label in ("report", "report again"):
            response = collector.request(
                f"{label} {cp_id}",
                "POST",
                f"/children/{cp_id}/record-reports",
                json={"problem": "wrong_address"},
            )
            assert response.status_code == (201 if label == "report" else 409), response.json()
    collector.request(
        "report unknown", "POST", "/children/CP9999999999/record-reports", json={"problem": "wrong_gp"}
    )
    collector.request(
        "report bad", "POST", f"/children/{world.SHIELDED}/record-reports", json={"problem": "x"}
    )


def log_out(collector: Collector) -> None:
    assert collector.request("logout", "DELETE", "/sessions/current").status_code == 204
    after = collector.request(
        "view after logout", "POST", f"/children/{world.SHIELDED}/views", json={"reason": "safeguarding"}
    )
    assert after.status_code == 401


# Who may not see which shielded household's details: the records served shielded to them, and
# the markers they must never receive.
EVERY_HOUSEHOLD = (*NORTH_HOUSEHOLD, world.SHIELDED_SOUTH)
NO_ACCESS: dict[str, tuple[tuple[str, ...], list[bytes]]] = {
    world.PRACTITIONER: (EVERY_HOUSEHOLD, world.CANARY_BYTES),
    world.PRACTITIONER_SOUTH: (EVERY_HOUSEHOLD, world.CANARY_BYTES),
    world.NATIONAL: (EVERY_HOUSEHOLD, world.CANARY_BYTES),
    # Each management team may see its own authority's shielded household, not the other's.
    world.CMT_SOUTH: (NORTH_HOUSEHOLD, world.NORTH_CANARY_BYTES),
    world.CMT: ((world.SHIELDED_SOUTH,), world.SOUTH_CANARY_BYTES),
}
# Children holding someone else's involvement, which a practitioner may try to end.
WITH_INVOLVEMENTS = {world.SHIELDED, world.SHIELDED_SOUTH, world.SIBLING}


def test_no_canary_in_any_response_a_user_without_access_can_obtain(client: TestClient, db: Session) -> None:
    collected: dict[str, list[tuple[str, int, bytes]]] = {}
    items = review_world.queue(db)
    for username, (shielded_from, markers) in NO_ACCESS.items():
        collector = Collector(client, username, markers=list(markers))
        log_in(collector, db)
        listed = reasons(collector)
        searches(collector)
        for cp_id in shielded_from:
            views(collector, cp_id, listed)
            if username in (world.PRACTITIONER, world.PRACTITIONER_SOUTH) and cp_id in WITH_INVOLVEMENTS:
                involvements(collector, db, cp_id)
            elif (
                username not in (world.PRACTITIONER, world.PRACTITIONER_SOUTH) and cp_id in WITH_INVOLVEMENTS
            ):
                refused_involvements(collector, db, cp_id)
        if username in (world.NATIONAL, world.CMT_SOUTH, world.CMT):
            oversight_views(collector)
        odd_requests(collector)
        data_matching(collector, items, shielded_from)
        assert collector.request("notice inbox", "POST", "/notices/views").status_code == 200
        log_out(collector)
        assert len(collector.seen) > 40
        collected[username] = collector.seen

    found = [leak for username, seen in collected.items() for leak in leaks(seen, NO_ACCESS[username][1])]
    assert not found, "canary markers reached a user who may not see them:\n" + "\n".join(found)

    # Every view they made was of a shielded household, audited as such, with the withheld sections listed.
    db.rollback()
    for username in NO_ACCESS:
        rows = db.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.username == username,
                AuditEvent.action == "view",
                AuditEvent.outcome == "disclosed",
            )
        ).all()
        assert rows, username
        for row in rows:
            assert row.shielded is True, username
            assert row.detail.get("shielded_access") is False, username
            assert set(row.withheld) >= {"address", "telephone", "carer_contacts", "involvements"}, username


def test_the_childs_own_management_team_receives_the_details(client: TestClient, db: Session) -> None:
    """The positive control: the markers are real, and the authority's team sees them, audited."""
    collector = Collector(client, world.CMT, scan=False)
    log_in(collector, db)
    household_raw = b""
    for cp_id in (world.SIBLING, world.HALF_SIBLING):
        seen = collector.request(
            "cmt view", "POST", f"/children/{cp_id}/views", json={"reason": "safeguarding"}
        )
        assert seen.status_code == 200 and seen.json()["kind"] == "full", seen.json()
        assert seen.json()["shielded"] is False and seen.json()["shielded_access"] is True
        household_raw += seen.content.lower()
    found = collector.request(
        "cmt postcode search",
        "POST",
        "/searches",
        json={"given": "Ash", "family": world.SHIELDED_FAMILY, "postcode": world.CANARIES["postcode"]},
    )
    assert [r["id"] for r in found.json()["results"]] == [world.SIBLING]
    response = collector.request(
        "cmt view", "POST", f"/children/{world.SHIELDED}/views", json={"reason": "safeguarding"}
    )
    assert response.status_code == 200, response.json()
    record = response.json()
    assert record["kind"] == "full"
    assert record["shielded"] is True and record["shielded_access"] is True
    assert record["address"]["postcode"] == world.CANARIES["postcode"]
    assert record["telephone"] == world.CANARIES["telephone"]
    assert record["carers"][0]["telephone"] == world.CANARIES["carer_telephone"]
    assert record["former_names"] == [world.CANARIES["former_name"]]
    raw = response.content.lower() + household_raw
    missing = [value.decode() for value in CANARY_VALUES if value not in raw]
    assert not missing, f"markers the management team should have received: {missing}"
    assert leaks(collector.seen), "the scanner must find the markers in a response that holds them"
    # The queue item of a row that may be the shielded child shows its details to this team alone.
    item = review_world.hold(db, world.SHIELDED, number=1, held_because="shielded_candidate")
    compared = collector.request("cmt match review", "GET", f"/match-reviews/{item}")
    assert compared.status_code == 200, compared.json()
    assert leaks([("match review", 200, compared.content)], world.NORTH_CANARY_BYTES)

    db.rollback()
    cmt = db.scalar(sa.select(User).where(User.username == world.CMT))
    child = db.scalar(sa.select(Child).where(Child.cp_id == world.SHIELDED))
    assert cmt is not None and child is not None
    audit = db.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.user_id == cmt.id, AuditEvent.child_pk == child.id, AuditEvent.action == "view"
        )
    ).all()
    assert len(audit) == 1
    assert audit[0].outcome == "disclosed"
    assert audit[0].shielded is True
    assert audit[0].detail["shielded_access"] is True
    assert audit[0].reason_code == "safeguarding"
    assert audit[0].id == record["view_id"]

    # And a practitioner's view of the same child is audited with what was withheld.
    practitioner = Collector(client, world.PRACTITIONER)
    log_in(practitioner, db)
    shielded = practitioner.request(
        "view", "POST", f"/children/{world.SHIELDED}/views", json={"reason": "safeguarding"}
    )
    assert shielded.json()["kind"] == "shielded"
    db.rollback()
    row = db.get(AuditEvent, shielded.json()["view_id"])
    assert row is not None and row.shielded is True and row.detail["shielded_access"] is False
    assert row.withheld and set(row.withheld) >= {"address", "telephone", "carer_contacts", "education", "gp"}
    assert not leaks(practitioner.seen), leaks(practitioner.seen)


def test_notices_disclose_the_markers_only_once_the_shield_is_lifted(client: TestClient, db: Session) -> None:
    """The positive control for notices: the scan finds the markers in a notice that may hold them.

    A practitioner joins a shielded child: their notice names the management team and holds no
    marker. Once the management team lifts the shield, the same notice, decided again when shown,
    gives the other practitioner's contact details: the markers.
    """
    practitioner = Collector(client, world.PRACTITIONER)
    log_in(practitioner, db)
    added = practitioner.request(
        "add involvement",
        "POST",
        f"/children/{world.SHIELDED}/involvements",
        json={"service_type": "connexions"},
    )
    assert added.status_code == 201, added.json()
    shielded = practitioner.request("notice inbox while shielded", "POST", "/notices/views")
    assert shielded.json()["notices"] and shielded.json()["notices"][0]["broker"] is not None

    cmt = Collector(client, world.CMT, scan=False)
    log_in(cmt, db)
    lifted = cmt.request(
        "unshield", "POST", f"/children/{world.SHIELDED}/unshield", json={"reason": "Risk has passed."}
    )
    assert lifted.status_code == 200, lifted.json()
    practitioner.scan = False
    after = practitioner.request("notice inbox after unshielding", "POST", "/notices/views")
    (notice,) = after.json()["notices"]
    assert notice["involvement"]["telephone"] == world.CANARIES["practitioner_telephone"]
    assert notice["broker"] is None
    found = leaks([("after unshielding", after.status_code, after.content)])
    assert any(world.CANARIES["practitioner_telephone"] in item for item in found)


# --- sensitive involvements -----------------------------------------------------------------------

SENSITIVE_MARKERS = [b"mental_health", b"camhs", b"secondworker", b"01632 960700", b"p.north2@staff.example"]


def test_sensitive_involvements_only_for_the_recorder_and_the_management_team(
    client: TestClient, db: Session
) -> None:
    users = {
        world.PRACTITIONER_2: True,
        world.CMT: True,
        world.PRACTITIONER: False,
        world.PRACTITIONER_SOUTH: False,
        world.NATIONAL: False,
        world.CMT_SOUTH: False,
    }
    for username, sees in users.items():
        collector = Collector(client, username)
        log_in(collector, db)
        response = collector.request(
            "view sensitive",
            "POST",
            f"/children/{world.SENSITIVE}/views",
            json={"reason": "who_else_involved"},
        )
        assert response.status_code == 200, response.json()
        record = response.json()
        assert record["kind"] == "full"
        sensitive = [item for item in record["involvements"] if item["sensitive"]]
        if sees:
            assert [item["service_type"] for item in sensitive] == ["mental_health"], username
            assert sensitive[0]["mine"] is (username == world.PRACTITIONER_2)
            continue
        assert record["involvements"] == [], (
            f"{username}: a sensitive involvement (or a trace of it) was sent"
        )
        raw = response.content.lower()
        assert not [marker for marker in SENSITIVE_MARKERS if marker in raw], username

    # Recording the same service reveals nothing either: no 409 from someone else's involvement,
    # and afterwards the practitioner sees their own only.
    collector = Collector(client, world.PRACTITIONER)
    log_in(collector, db)
    mine = collector.request(
        "add sensitive",
        "POST",
        f"/children/{world.SENSITIVE}/involvements",
        json={"service_type": "mental_health", "consent_recorded": True},
    )
    assert mine.status_code == 201, mine.json()
    again = collector.request(
        "view again", "POST", f"/children/{world.SENSITIVE}/views", json={"reason": "who_else_involved"}
    )
    assert [item["id"] for item in again.json()["involvements"]] == [mine.json()["id"]]
    assert b"secondworker" not in again.content.lower()
