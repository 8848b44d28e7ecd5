"""Data matching (rule 12): the possible-match queue and "this is not right" reports, on both databases.

Each insider's attempt is a test: another authority's item or report, an id that does not exist, a
decision made twice, a report about a record not opened, a flood of reports, a report about a
shielded child, and the records a decision leaves behind, seen by a practitioner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cpserver.domain import record_reports
from cpserver.domain.feeds.rows import FeedName
from cpserver.store.models import AuditEvent, Child, MatchReview, RecordReport, SourceRecord, User
from tests.server import feeds_support, review_world, world
from tests.server.test_shielding_canary import leaks

API = "/api/v1"
Headers = dict[str, str]


def _audit(db: Session, action: str) -> list[AuditEvent]:
    db.rollback()
    return list(db.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _child(db: Session, cp_id: str) -> Child:
    db.rollback()
    child = db.scalar(sa.select(Child).where(Child.cp_id == cp_id))
    assert child is not None
    return child


# --- the queue -------------------------------------------------------------------------------------


def test_each_management_team_sees_only_its_own_queue(client: TestClient, db: Session, as_role: Any) -> None:
    items = review_world.queue(db)
    north = client.post(f"{API}/match-review-pages", json={}, headers=as_role(world.CMT))
    assert north.status_code == 200, north.json()
    assert north.json()["more"] is False
    assert [item["id"] for item in north.json()["items"]] == [items["ordinary"], items["shielded"]]
    listed = {item["id"]: item for item in north.json()["items"]}
    assert listed[items["shielded"]]["held_because"] == "shielded_candidate"
    assert listed[items["shielded"]]["candidate"]["id"] == world.SHIELDED
    assert listed[items["shielded"]]["candidate"]["shielded"] is True
    assert listed[items["ordinary"]]["source"] == review_world.SOURCE
    south = client.post(f"{API}/match-review-pages", json={}, headers=as_role(world.CMT_SOUTH))
    assert [item["id"] for item in south.json()["items"]] == [items["south"]]
    assert not leaks([("south list", 200, south.content)], world.NORTH_CANARY_BYTES)
    # The lists name children: each one shown is audited.
    shown = [row for row in _audit(db, "report_viewed") if row.detail.get("report") == "match_reviews"]
    assert [row.detail["rows"] for row in shown] == [2, 1]
    # Nobody else works the queue, whatever the id.
    for role in ("practitioner", "national"):
        headers = as_role(role)
        listed = client.post(f"{API}/match-review-pages", json={}, headers=headers)
        opened = client.get(f"{API}/match-reviews/{items['ordinary']}", headers=headers)
        for refused in (listed, opened):
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_not_permitted"
        decided = client.post(
            f"{API}/match-reviews/{items['ordinary']}/decision",
            json={"decision": "same_child"},
            headers=headers,
        )
        assert decided.status_code == 403


def test_opening_an_item_shows_both_records_side_by_side_after_auditing_it(
    client: TestClient, db: Session, as_role: Any
) -> None:
    items = review_world.queue(db)
    response = client.get(f"{API}/match-reviews/{items['shielded']}", headers=as_role(world.CMT))
    assert response.status_code == 200, response.json()
    fields = {pair["field"]: pair for pair in response.json()["fields"]}
    assert fields["name"]["agreement"] == fields["date_of_birth"]["agreement"] == "same"
    assert fields["address"]["incoming"].startswith(review_world.LOOKALIKE_ADDRESS)
    # The shielded child's own authority's team sees its details (the positive control of the canary).
    assert world.CANARIES["address_line1"] in fields["address"]["directory"]
    assert fields["address"]["agreement"] == "different"
    # The row says nothing of the GP: not a difference (applying it keeps the directory's).
    assert fields["gp_practice"]["incoming"] == "" and fields["gp_practice"]["agreement"] == "not_in_row"
    assert fields["telephone"]["directory"] == world.CANARIES["telephone"]
    assert "carer_1" in fields and "carer_1_telephone" in fields
    assert fields["education_setting"]["directory"].startswith(world.CANARIES["school_name"])
    assert "involvements" not in response.text.lower() and "CANARYPRACTITIONER" not in response.text
    (row,) = _audit(db, "match_review_view")
    assert row.child_pk == _child(db, world.SHIELDED).id and row.shielded is True
    assert row.detail["review"] == items["shielded"] and row.username == world.CMT


def test_another_authoritys_item_and_a_missing_one_get_the_same_answer(
    client: TestClient, db: Session, as_role: Any
) -> None:
    items = review_world.queue(db)
    south = as_role(world.CMT_SOUTH)
    for method, suffix, body in (
        ("GET", "", None),
        ("POST", "/decision", {"decision": "different_children"}),
    ):
        elsewhere = client.request(
            method, f"{API}/match-reviews/{items['shielded']}{suffix}", json=body, headers=south
        )
        missing = client.request(method, f"{API}/match-reviews/999999{suffix}", json=body, headers=south)
        assert elsewhere.status_code == missing.status_code == 404
        assert elsewhere.content == missing.content
        assert elsewhere.json()["error"]["code"] == "match_review_not_found"
    assert _audit(db, "match_review_view") == []
    assert _audit(db, "match_review_decision") == []
    db.rollback()
    review = db.get(MatchReview, items["shielded"])
    assert review is not None and review.status == "open"


def test_a_decision_body_is_checked(client: TestClient, db: Session, as_role: Any) -> None:
    items = review_world.queue(db)
    headers = as_role(world.CMT)
    for body in ({"decision": "maybe"}, {}, {"decision": "same_child", "note": "x"}, ["same_child"]):
        response = client.post(
            f"{API}/match-reviews/{items['ordinary']}/decision", json=body, headers=headers
        )
        assert response.status_code == 422, body


# --- decisions (the loader's apply_row does the writing) -----------------------------------------


def test_same_child_updates_the_candidate_links_the_source_record_and_keeps_the_shield(
    client: TestClient, db: Session, as_role: Any
) -> None:
    items = review_world.queue(db)
    headers = as_role(world.CMT)
    decided = client.post(
        f"{API}/match-reviews/{items['shielded']}/decision", json={"decision": "same_child"}, headers=headers
    )
    assert decided.status_code == 200, decided.json()
    assert decided.json() == {"id": items["shielded"], "status": "same_child", "child_id": world.SHIELDED}
    child = _child(db, world.SHIELDED)
    assert child.shielded is True, "a merge carries the shield"
    link = db.scalar(sa.select(SourceRecord).where(SourceRecord.source_record_id == "CENSUS-00002"))
    assert link is not None and link.child_pk == child.id
    review = db.get(MatchReview, items["shielded"])
    assert review is not None and review.result_child_pk == child.id and review.decided_by_user_id is not None
    (row,) = _audit(db, "match_review_decision")
    assert row.child_pk == child.id and row.shielded is True and row.detail["decision"] == "same_child"
    again = client.post(
        f"{API}/match-reviews/{items['shielded']}/decision",
        json={"decision": "different_children"},
        headers=headers,
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_decided"
    assert len(_audit(db, "match_review_decision")) == 1
    listed = client.post(f"{API}/match-review-pages", json={}, headers=headers).json()["items"]
    assert [item["id"] for item in listed] == [items["ordinary"]]
    # A practitioner still gets the shielded shape, and nothing of the household.
    practitioner = as_role(world.PRACTITIONER)
    view = client.post(
        f"{API}/children/{world.SHIELDED}/views", json={"reason": "safeguarding"}, headers=practitioner
    )
    assert view.json()["kind"] == "shielded"
    assert not leaks([("view after merge", view.status_code, view.content)])


@pytest.mark.parametrize("same_home", [False, True], ids=["another_home", "the_shielded_home"])
def test_different_children_creates_a_record_that_shows_nothing_of_the_shielded_household(
    client: TestClient, db: Session, as_role: Any, same_home: bool
) -> None:
    home: dict[str, object] = (
        {
            "address_line1": world.CANARIES["address_line1"],
            "address_line2": world.CANARIES["address_line2"],
            "town": world.CANARIES["town"],
            "postcode": world.CANARIES["postcode"],
            "carers": (),
        }
        if same_home
        else {}
    )
    review_id = review_world.hold(
        db, world.SHIELDED, number=9, held_because="shielded_candidate", given_name="Wren", **home
    )
    decided = client.post(
        f"{API}/match-reviews/{review_id}/decision",
        json={"decision": "different_children"},
        headers=as_role(world.CMT),
    )
    assert decided.status_code == 200, decided.json()
    new_id = decided.json()["child_id"]
    assert new_id not in (None, world.SHIELDED)
    new = _child(db, new_id)
    assert new.shielded is False and new.given_name == "Wren"
    assert _child(db, world.SHIELDED).shielded is True
    practitioner = as_role(world.PRACTITIONER)
    view = client.post(
        f"{API}/children/{new_id}/views", json={"reason": "safeguarding"}, headers=practitioner
    )
    assert view.status_code == 200, view.json()
    # A different child at another home is an ordinary record; at the shielded home, the household
    # shield covers it. Either way no marker of the shielded household reaches the practitioner.
    assert view.json()["kind"] == ("shielded" if same_home else "full")
    found = client.post(
        f"{API}/searches",
        json={"family": world.SHIELDED_FAMILY, "date_of_birth": world.SHIELDED_DOB.isoformat()},
        headers=practitioner,
    )
    assert new_id in {result["id"] for result in found.json()["results"]}
    assert not leaks([("view", view.status_code, view.content), ("search", found.status_code, found.content)])


# --- reports -----------------------------------------------------------------------------------------


def _open(client: TestClient, headers: Headers, cp_id: str) -> None:
    response = client.post(f"{API}/children/{cp_id}/views", json={"reason": "safeguarding"}, headers=headers)
    assert response.status_code == 200, response.json()


def _report(client: TestClient, headers: Headers, cp_id: str, problem: str) -> Any:
    return client.post(f"{API}/children/{cp_id}/record-reports", json={"problem": problem}, headers=headers)


def test_a_practitioner_reports_a_record_they_opened_once_per_problem(
    client: TestClient, db: Session, as_role: Any
) -> None:
    practitioner = as_role(world.PRACTITIONER)
    _open(client, practitioner, world.ORDINARY)
    made = _report(client, practitioner, world.ORDINARY, "wrong_address")
    assert made.status_code == 201, made.json()
    assert set(made.json()) == {"id", "problem", "status", "reported_at"}
    again = _report(client, practitioner, world.ORDINARY, "wrong_address")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reported"
    assert _report(client, practitioner, world.ORDINARY, "wrong_gp").status_code == 201
    # Another practitioner may report the same problem.
    other = as_role(world.PRACTITIONER_2)
    _open(client, other, world.ORDINARY)
    assert _report(client, other, world.ORDINARY, "wrong_address").status_code == 201
    rows = _audit(db, "record_report")
    assert [row.detail["problem"] for row in rows] == ["wrong_address", "wrong_gp", "wrong_address"]
    assert all(row.child_pk == _child(db, world.ORDINARY).id for row in rows)
    for body in ({"problem": "wrong_everything"}, {"problem": "wrong_name", "text": "x"}, {}):
        response = client.post(
            f"{API}/children/{world.ORDINARY}/record-reports", json=body, headers=practitioner
        )
        assert response.status_code == 422, body


def test_a_record_not_opened_and_a_missing_record_get_the_same_refusal(
    client: TestClient, db: Session, as_role: Any
) -> None:
    practitioner = as_role(world.PRACTITIONER)
    not_opened = _report(client, practitioner, world.SIBLING, "wrong_name")
    missing = _report(client, practitioner, "CP9999999999", "wrong_name")
    assert not_opened.status_code == missing.status_code == 403
    assert not_opened.content == missing.content
    assert not_opened.json()["error"]["code"] == "record_not_opened"
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(RecordReport)) == 0


def test_a_report_about_a_shielded_child_tells_the_reporter_nothing_more(
    client: TestClient, db: Session, as_role: Any
) -> None:
    practitioner = as_role(world.PRACTITIONER)
    answers = {}
    for cp_id in (world.ORDINARY, world.SHIELDED, world.SIBLING):
        _open(client, practitioner, cp_id)
        answers[cp_id] = _report(client, practitioner, cp_id, "wrong_carers")
        assert answers[cp_id].status_code == 201
        assert not leaks([(cp_id, 201, answers[cp_id].content + str(answers[cp_id].headers).encode())])
    shapes = {cp_id: (set(answer.json()), answer.json()["status"]) for cp_id, answer in answers.items()}
    assert shapes[world.SHIELDED] == shapes[world.ORDINARY] == shapes[world.SIBLING]
    assert set(answers[world.SHIELDED].headers) == set(answers[world.ORDINARY].headers)


def test_an_insider_cannot_flood_the_queue(
    client: TestClient, db: Session, as_role: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record_reports, "REPORTS_PER_DAY", 3)
    practitioner = as_role(world.PRACTITIONER)
    _open(client, practitioner, world.ORDINARY)
    for problem in ("wrong_name", "wrong_gender", "wrong_gp"):
        assert _report(client, practitioner, world.ORDINARY, problem).status_code == 201
    refused = _report(client, practitioner, world.ORDINARY, "wrong_school")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "report_limit"
    assert refused.headers["Retry-After"]


def test_reports_go_to_the_childs_authority_and_are_resolved_once(
    client: TestClient, db: Session, as_role: Any
) -> None:
    practitioner = as_role(world.PRACTITIONER_SOUTH)
    for cp_id in (world.ORDINARY, world.SHIELDED_SOUTH):
        _open(client, practitioner, cp_id)
        assert _report(client, practitioner, cp_id, "not_this_child_duplicate").status_code == 201
    north, south = as_role(world.CMT), as_role(world.CMT_SOUTH)
    north_list = client.post(f"{API}/record-report-pages", json={}, headers=north)
    assert north_list.status_code == 200, north_list.json()
    (report,) = north_list.json()["items"]
    assert report["child"]["id"] == world.ORDINARY and report["problem"] == "not_this_child_duplicate"
    assert "Southworker" in report["reporter"]
    (theirs,) = client.post(f"{API}/record-report-pages", json={}, headers=south).json()["items"]
    assert theirs["child"]["id"] == world.SHIELDED_SOUTH
    # Another authority's report, and one that does not exist: the same 404.
    path = f"{API}/record-reports/{report['id']}/resolution"
    elsewhere = client.post(path, json={"resolution": "corrected"}, headers=south)
    missing = client.post(
        f"{API}/record-reports/999999/resolution", json={"resolution": "corrected"}, headers=south
    )
    assert elsewhere.status_code == missing.status_code == 404 and elsewhere.content == missing.content
    resolved = client.post(path, json={"resolution": "not_upheld"}, headers=north)
    assert resolved.status_code == 200 and resolved.json()["status"] == "not_upheld"
    again = client.post(path, json={"resolution": "corrected"}, headers=north)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_resolved"
    assert client.post(f"{API}/record-report-pages", json={}, headers=north).json() == {
        "items": [],
        "more": False,
    }
    (row,) = _audit(db, "record_report_resolution")
    assert row.detail == {
        "report": report["id"],
        "problem": "not_this_child_duplicate",
        "resolution": "not_upheld",
    }
    for role in ("practitioner", "national"):
        assert client.post(f"{API}/record-report-pages", json={}, headers=as_role(role)).status_code == 403


def test_a_former_identity_closed_for_adoption_is_never_shown(
    client: TestClient, db: Session, as_role: Any
) -> None:
    review_id = review_world.hold(
        db,
        world.ORDINARY,
        number=7,
        former_names=(
            FeedName("Birthfamily", "Birthgiven", closed_for_adoption=True),
            FeedName("Usedfamily"),
        ),
    )
    response = client.get(f"{API}/match-reviews/{review_id}", headers=as_role(world.CMT))
    assert response.status_code == 200, response.json()
    fields = {pair["field"]: pair for pair in response.json()["fields"]}
    assert fields["former_names"]["incoming"] == "Usedfamily"
    assert b"birthfamily" not in response.content.lower() and b"birthgiven" not in response.content.lower()


def test_end_to_end_a_held_feed_row_is_decided_and_the_source_is_known_next_time(
    client: TestClient, db: Session, as_role: Any
) -> None:
    """From a feed file to the queue, to the team's decision, to the next load of the same source."""
    census, _ = feeds_support.source(db)
    like_shielded = feeds_support.row(
        source_record_id="CB-ROWENA",
        given_name="Rowena",
        middle_names="",
        family_name=world.SHIELDED_FAMILY,
        date_of_birth=world.SHIELDED_DOB.isoformat(),
        carers=[],
        former_names=[],
    )
    first = feeds_support.load(db, census, feeds_support.jsonl(like_shielded))
    assert (first.rows_held, first.rows_created) == (1, 0)
    north = as_role(world.CMT)
    (item,) = client.post(f"{API}/match-review-pages", json={}, headers=north).json()["items"]
    assert item["held_because"] == "shielded_candidate" and item["candidate"]["id"] == world.SHIELDED
    assert item["incoming"]["given"] == "Rowena"
    assert (
        client.post(f"{API}/match-review-pages", json={}, headers=as_role(world.CMT_SOUTH)).json()["items"]
        == []
    )
    assert client.get(f"{API}/match-reviews/{item['id']}", headers=north).status_code == 200
    decided = client.post(
        f"{API}/match-reviews/{item['id']}/decision", json={"decision": "same_child"}, headers=north
    )
    assert decided.status_code == 200, decided.json()
    assert _child(db, world.SHIELDED).shielded is True
    # The same source's record again: known now, applied to the child, never held again.
    again = feeds_support.load(
        db, census, feeds_support.jsonl({**like_shielded, "telephone": "01632 960123"})
    )
    assert (again.rows_held, again.rows_created) == (0, 0), again.as_dict()
    assert client.post(f"{API}/match-review-pages", json={}, headers=north).json()["items"] == []
    assert _child(db, world.SHIELDED).shielded is True


# --- paging ------------------------------------------------------------------------------------------


def _pages(client: TestClient, headers: Headers, path: str, limit: int) -> list[list[int]]:
    """Every page of a queue list, following `after` the last item's id until `more` is false."""
    pages: list[list[int]] = []
    after: int | None = None
    while True:
        body = {"limit": limit} | ({"after": after} if after is not None else {})
        response = client.post(f"{API}{path}", json=body, headers=headers)
        assert response.status_code == 200, response.json()
        page = response.json()
        ids = [item["id"] for item in page["items"]]
        assert len(ids) <= limit
        pages.append(ids)
        if not page["more"]:
            return pages
        assert len(ids) == limit, "a page is full when more follow"
        after = ids[-1]
        assert len(pages) < 50


def _many_reviews(db: Session) -> tuple[list[int], list[int]]:
    """Seven Northmere items (three held at the same moment) and three Southwold Vale ones,
    interleaved: the Northmere ids oldest first, and the Southwold Vale ids."""
    north: list[int] = []
    south: list[int] = []
    for number in range(10):
        if number % 3 == 2:
            south.append(review_world.hold(db, world.SHIELDED_SOUTH, number=100 + number))
        else:
            north.append(review_world.hold(db, world.ORDINARY, number=100 + number))
    same = db.get(MatchReview, north[2])
    assert same is not None
    for review_id in north[3:5]:  # held in the same batch as north[2]: ties are ordered by id
        tied = db.get(MatchReview, review_id)
        assert tied is not None
        tied.created_at = same.created_at
    db.commit()
    return north, south


def test_the_queue_is_paged_oldest_first_without_gaps_or_repeats(
    client: TestClient, db: Session, as_role: Any
) -> None:
    north, south = _many_reviews(db)
    cmt = as_role(world.CMT)
    for limit in (1, 2, 3, 7, 500):
        pages = _pages(client, cmt, "/match-review-pages", limit)
        assert _flat(pages) == north, limit
    assert _pages(client, cmt, "/match-review-pages", 3) == [north[0:3], north[3:6], north[6:]]
    # Another authority's items never appear, and its id as the cursor gives nothing.
    assert [
        item for page in _pages(client, as_role(world.CMT_SOUTH), "/match-review-pages", 2) for item in page
    ] == south
    across = client.post(f"{API}/match-review-pages", json={"after": south[0]}, headers=cmt)
    assert across.status_code == 200 and across.json() == {"items": [], "more": False}
    missing = client.post(f"{API}/match-review-pages", json={"after": 999999}, headers=cmt)
    assert missing.json() == across.json()
    # An item decided while the person reads (the list shrinks) moves nothing off the next page.
    first = client.post(f"{API}/match-review-pages", json={"limit": 3}, headers=cmt).json()
    decided = client.post(
        f"{API}/match-reviews/{north[1]}/decision", json={"decision": "different_children"}, headers=cmt
    )
    assert decided.status_code == 200, decided.json()
    after = first["items"][-1]["id"]
    rest = client.post(f"{API}/match-review-pages", json={"limit": 3, "after": after}, headers=cmt).json()
    assert [item["id"] for item in rest["items"]] == north[3:6] and rest["more"] is True
    # Each page shown is audited (which list, how many rows).
    shown = [row for row in _audit(db, "report_viewed") if row.detail.get("report") == "match_reviews"]
    assert shown[-1].detail["rows"] == 3


@pytest.mark.parametrize(
    "body", [{"limit": 501}, {"limit": 0}, {"after": 0}, {"limit": "many"}, {"offset": 3}, {"after": "x"}]
)
def test_a_page_is_capped_and_its_cursor_checked(
    client: TestClient, as_role: Any, body: dict[str, Any]
) -> None:
    for path in ("/match-review-pages", "/record-report-pages"):
        response = client.post(f"{API}{path}", json=body, headers=as_role(world.CMT))
        assert response.status_code in (400, 422), response.json()
        assert response.json()["error"]["code"] == "invalid_request"


def test_the_reports_are_paged_and_only_the_teams_own(client: TestClient, db: Session, as_role: Any) -> None:
    reporter = db.scalar(sa.select(User.id).where(User.username == world.PRACTITIONER))
    ordinary, south_child = _child(db, world.ORDINARY), _child(db, world.SHIELDED_SOUTH)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    north: list[int] = []
    south: list[int] = []
    for number in range(9):
        child = south_child if number % 4 == 3 else ordinary
        report = RecordReport(
            child_pk=child.id,
            reporter_user_id=reporter,
            problem="wrong_gp",
            local_authority_id=child.local_authority_id,
            status="open",
            # Three reported at the same moment (ordered by id); one reported before all the others
            # but written last (ordered by when it was reported).
            created_at=start + dt.timedelta(minutes=-5 if number == 8 else 2 if 2 <= number <= 4 else number),
        )
        db.add(report)
        db.flush()
        (south if child is south_child else north).append(report.id)
    db.commit()
    north = [north[-1], *north[:-1]]
    cmt = as_role(world.CMT)
    for limit in (1, 2, 4, 500):
        assert _flat(_pages(client, cmt, "/record-report-pages", limit)) == north, limit
    assert _flat(_pages(client, as_role(world.CMT_SOUTH), "/record-report-pages", 1)) == south
    across = client.post(f"{API}/record-report-pages", json={"after": south[0]}, headers=cmt)
    assert across.json() == {"items": [], "more": False}


def _flat(pages: list[list[int]]) -> list[int]:
    return [item for page in pages for item in page]


def test_a_report_follows_its_child_when_the_child_moves_authority(
    client: TestClient, db: Session, as_role: Any
) -> None:
    """A report is the queue of the child's authority now, not the one it was made in: after a move
    the old team no longer sees the child's name, date of birth and ID in it, nor can resolve it
    (the 404 of a missing report); the new team sees it and resolves it."""
    practitioner = as_role(world.PRACTITIONER)
    _open(client, practitioner, world.ORDINARY)
    assert _report(client, practitioner, world.ORDINARY, "wrong_address").status_code == 201
    north, south = as_role(world.CMT), as_role(world.CMT_SOUTH)
    (report,) = client.post(f"{API}/record-report-pages", json={}, headers=north).json()["items"]
    child = _child(db, world.ORDINARY)
    child.local_authority_id = _child(db, world.SHIELDED_SOUTH).local_authority_id  # a feed's move
    db.commit()
    assert client.post(f"{API}/record-report-pages", json={}, headers=north).json() == {
        "items": [],
        "more": False,
    }
    path = f"{API}/record-reports/{report['id']}/resolution"
    moved_away = client.post(path, json={"resolution": "corrected"}, headers=north)
    missing = client.post(
        f"{API}/record-reports/999999/resolution", json={"resolution": "corrected"}, headers=north
    )
    assert moved_away.status_code == missing.status_code == 404 and moved_away.content == missing.content
    (theirs,) = client.post(f"{API}/record-report-pages", json={}, headers=south).json()["items"]
    assert theirs["id"] == report["id"] and theirs["child"]["id"] == world.ORDINARY
    assert client.post(path, json={"resolution": "corrected"}, headers=south).status_code == 200
