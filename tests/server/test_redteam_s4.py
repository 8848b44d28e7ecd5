"""Session 4's red-team pass: an insider with a valid account against this session's changes, on
SQLite and on PostgreSQL.

Each test is one attempt that the existing tests did not cover: a paged queue's cursor used as an
oracle (byte for byte, and in the audit trail), hostile `limit`/`after` values, and a feed that
moves a shielded child's existing carer (updated in place, `diff_carers`) to another child's home
or telephone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cpserver.audit.verify import verify
from cpserver.config import Settings
from cpserver.domain import notices
from cpserver.store.models import AuditEvent, Carer, Child, FeedSource, Involvement
from tests.server import review_world, world
from tests.server.conftest import log_in
from tests.server.feeds_support import jsonl, load, source
from tests.server.test_audit_chain import tamper
from tests.server.test_feed_services import (
    CALM,
    SERVICE,
    SERVICE_BYTES,
    api,  # noqa: F401 - a fixture
    council,  # noqa: F401 - a fixture
    inbox,
    involve,
)
from tests.server.test_feed_shield import shielded_row
from tests.server.test_household_facts import (
    CHILD_TELEPHONE,
    COVERED,
    HOME,
    OPEN,
    _consistent,
    _pk,
    _served,
    _target_at_its_own_home,
)

API = "/api/v1"
QUEUES = ("/match-review-pages", "/record-report-pages")
REFUSALS = ("invalid_request", "invalid_characters", "malformed_json")


def _shown_rows(db: Session) -> list[dict[str, Any]]:
    db.rollback()
    return [
        row.detail
        for row in db.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "report_viewed").order_by(AuditEvent.id)
        )
    ]


# --- the paged queues ---------------------------------------------------------------------------


def test_a_cursor_tells_nothing_byte_for_byte_and_every_page_is_audited_alike(
    client: TestClient, db: Session, as_role: Any
) -> None:
    """Another authority's item, an id that never existed and the team's own last item, as the
    cursor: the same bytes, and the same audit row (which list, no rows), so neither the answer nor
    the team's own trail tells which ids exist elsewhere."""
    north = [review_world.hold(db, world.ORDINARY, number=200 + n) for n in range(2)]
    south = review_world.hold(db, world.SHIELDED_SOUTH, number=210)
    cmt = as_role(world.CMT)
    before = len(_shown_rows(db))
    answers = [
        client.post(f"{API}/match-review-pages", json={"after": after}, headers=cmt)
        for after in (south, 2**31 - 1, north[-1])
    ]
    assert {response.status_code for response in answers} == {200}
    assert answers[0].content == answers[1].content == answers[2].content
    assert answers[0].json() == {"items": [], "more": False}
    # The southern team's own cursor is not an oracle of northern ids either.
    own = client.post(f"{API}/match-review-pages", json={"after": south}, headers=as_role(world.CMT_SOUTH))
    theirs = client.post(
        f"{API}/match-review-pages", json={"after": north[0]}, headers=as_role(world.CMT_SOUTH)
    )
    assert own.content == theirs.content
    shown = _shown_rows(db)[before:]
    assert shown == [{"report": "match_reviews", "rows": 0}] * 5
    # A practitioner or the national team: one refusal, whatever the cursor names.
    for role in (world.PRACTITIONER, "national"):
        refusals = [
            client.post(f"{API}{path}", json={"after": after}, headers=as_role(role))
            for path in QUEUES
            for after in (north[0], 2**31 - 1)
        ]
        assert {response.status_code for response in refusals} == {403}
        assert len({response.content for response in refusals}) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"after": 2**31},
        {"after": 2**63},
        {"after": 2**64 + 1},
        {"after": 10**400},
        {"after": -1},
        {"after": -(2**63) - 1},
        {"after": 1.5},
        {"after": 1e308},
        {"after": "1\u0000"},
        {"after": "\u0000"},
        {"after": "\u0661\u0662"},  # Arabic-Indic digits: Python's int() would read 12
        {"after": "１２"},  # fullwidth digits
        {"after": [1]},
        {"after": {"id": 1}},
        {"limit": None},
        {"limit": 10**400},
        {"limit": -(2**63)},
        {"limit": 2.5},
        {"limit": "\u0000"},
        {"after": 1, "limit": 1, "\u0000": 1},
    ],
    ids=lambda body: repr(body)[:40],
)
def test_hostile_page_values_are_refused_never_a_500(
    client: TestClient, as_role: Any, body: dict[str, Any]
) -> None:
    for path in QUEUES:
        response = client.post(f"{API}{path}", json=body, headers=as_role(world.CMT))
        assert response.status_code in (400, 422), (path, response.status_code, response.text)
        assert response.json()["error"]["code"] in REFUSALS
        assert b"\\u0000" not in response.content and b"\x00" not in response.content


@pytest.mark.parametrize(
    "raw",
    [
        b'{"after": NaN}',
        b'{"after": Infinity}',
        b'{"limit": -Infinity}',
        b'{"after": 1e99999}',
        b'{"after": 1',
        b"\x00",
    ],
)
def test_page_bodies_json_cannot_hold_are_refused_never_a_500(
    client: TestClient, as_role: Any, raw: bytes
) -> None:
    headers = {**as_role(world.CMT), "content-type": "application/json"}
    for path in QUEUES:
        response = client.post(f"{API}{path}", content=raw, headers=headers)
        assert response.status_code in (400, 422), (path, response.status_code, response.text)
        assert response.json()["error"]["code"] in REFUSALS
        assert b"\\u0000" not in response.content and b"\x00" not in response.content


@pytest.mark.parametrize(
    "body", [{"after": None}, {"after": 1.0}, {"after": "1"}, {"limit": 1.0}, {"after": True}]
)
def test_loose_but_harmless_page_values_are_read_as_numbers(
    client: TestClient, as_role: Any, body: dict[str, Any]
) -> None:
    """JSON numbers written loosely (1.0, "1", true) are read as the number: nothing beyond the
    team's own queue, and never a 500."""
    for path in QUEUES:
        response = client.post(f"{API}{path}", json=body, headers=as_role(world.CMT))
        assert response.status_code in (200, 422), (path, response.status_code, response.text)
        if response.status_code == 200:
            assert set(response.json()) == {"items", "more"}


def test_a_pages_audit_row_rewritten_to_hide_what_was_shown_is_found(
    client: TestClient, db: Session, engine: sa.Engine, as_role: Any
) -> None:
    """The audit row is now a Core INSERT (`chain.append`): a page's row (its count in the JSON
    `detail`) rewritten afterwards, as someone with full database rights would, fails verification."""
    review_world.hold(db, world.ORDINARY, number=220)
    page = client.post(f"{API}/match-review-pages", json={}, headers=as_role(world.CMT))
    assert page.status_code == 200 and len(page.json()["items"]) == 1
    assert verify(engine).ok
    db.rollback()
    row = db.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "report_viewed").order_by(AuditEvent.id.desc())
    ).first()
    assert row is not None and row.detail == {"report": "match_reviews", "rows": 1}
    seq = row.seq
    db.rollback()
    hidden = '{"report": "match_reviews", "rows": 0}'  # spaced: ":0" would be a bound parameter
    tamper(db, f"UPDATE audit_events SET detail = '{hidden}' WHERE seq = {seq}")
    report = verify(engine)
    assert not report.ok
    assert report.first_problem is not None
    assert (report.first_problem.seq, report.first_problem.kind) == (seq, "modified_row")


# --- a fed carer moved in place ------------------------------------------------------------------


def _mother(db: Session) -> tuple[int, bool]:
    db.rollback()
    row = db.execute(
        sa.select(Carer.id, Carer.child_shielded)
        .where(Carer.child_pk == _pk(db, world.SHIELDED))
        .order_by(Carer.id)
        .limit(1)
    ).one()
    return row[0], row[1]


@pytest.mark.parametrize("moved", ["address", "telephone"])
def test_a_feed_moving_a_shielded_childs_own_carer_to_the_targets_home_covers_it(
    client: TestClient, db: Session, moved: str
) -> None:
    """The carers diff updates a changed carer in place (`diff_carers`, UPDATE ... FROM unnest on
    PostgreSQL): the row keeps its id and must keep its copied shield, or the target sharing the
    new home (or number) would be served in full."""
    _target_at_its_own_home(db)
    headers = log_in(client, db, world.PRACTITIONER)
    census, _ = source(db)
    assert load(db, census, jsonl(shielded_row())).rows_matched == 1
    mother_id, flagged = _mother(db)
    assert flagged
    assert _served(client, headers) == OPEN
    (mother,) = shielded_row()["carers"]
    mother = {**mother, **HOME} if moved == "address" else {**mother, "telephone": CHILD_TELEPHONE}
    report = load(db, census, jsonl(shielded_row(carers=[mother])))
    assert report.rows_updated == 1, report.as_dict()
    assert _mother(db) == (mother_id, True)  # the same row, updated in place, still flagged
    _consistent(db)
    assert _served(client, headers) == COVERED


# --- a fed service on a household-shielded sibling ----------------------------------------------


@pytest.mark.parametrize(("cp_id", "kind"), [(world.HALF_SIBLING, "shielded"), (world.ORDINARY, "full")])
def test_a_fed_service_on_a_child_covered_by_a_household_shield_is_told_as_the_record_would_show_it(
    api: TestClient,  # noqa: F811 - the fixture imported above
    db: Session,
    council: FeedSource,  # noqa: F811
    cp_id: str,
    kind: str,
) -> None:
    """The half-sibling is not shielded itself but shares the shielded child's father: its record
    is served to a practitioner in the shielded shape (a household shield). A notice of a source's
    new service on it must withhold the same details; the ordinary child is the positive control."""
    involve(db, world.PRACTITIONER, cp_id)
    child = db.scalar(sa.select(Child).where(Child.cp_id == cp_id))
    assert child is not None and not child.shielded
    service = {name: value for name, value in SERVICE.items() if name != "started_on"}
    fed = Involvement(
        child_pk=child.id,
        source_id=council.id,
        started_on=world.TODAY,
        sensitive=False,
        consent_recorded=False,
        **service,
    )
    db.add(fed)
    db.flush()
    made = notices.after_feed_services(
        db, Settings(**CALM), added=[(child.id, fed.id)], ended=[], now=dt.datetime.now(dt.UTC)
    )
    db.commit()
    assert len(made) == 1  # the practitioner is told the service exists, either way
    headers = log_in(api, db, world.PRACTITIONER)
    view = api.post(f"{API}/children/{cp_id}/views", json={"reason": "who_else_involved"}, headers=headers)
    assert view.status_code == 200 and view.json()["kind"] == kind
    (told,), raw = inbox(api, headers)
    leaked = [marker for marker in SERVICE_BYTES if marker in raw]
    if kind == "shielded":
        assert told["involvement"] is None and told["broker"] is not None, told
        assert "involvements" in told["withheld"] and not leaked
        assert not [marker for marker in world.CANARY_BYTES if marker in raw]
    else:
        assert told["involvement"]["practitioner_name"] == SERVICE["practitioner_name"] and leaked


# --- search by a former name --------------------------------------------------------------------


def _search(client: TestClient, headers: dict[str, str], **criteria: str) -> Any:
    response = client.post(f"{API}/searches", json=criteria, headers=headers)
    assert response.status_code == 200, response.text
    return response


def test_a_former_name_with_the_shielded_fathers_postcode_finds_nothing_as_a_postcode_nobody_has(
    client: TestClient, as_role: Any
) -> None:
    """The half-sibling lives at the shielded child's father's home (another home than the shielded
    child's): its former name is searched in the second part of the search's UNION ALL. With that
    home's postcode the answer is the one for a postcode nobody has; with its date of birth it is
    found, shielded, without a locality."""
    practitioner = as_role(world.PRACTITIONER)
    family = world.CANARIES["half_sibling_former_name"]
    by_postcode = _search(
        client, practitioner, given="Birch", family=family, postcode=world.CANARIES["father_postcode"]
    )
    nowhere = _search(client, practitioner, given="Birch", family=family, postcode="ZZ77 7ZZ")
    assert by_postcode.content == nowhere.content and nowhere.json()["results"] == []
    found = _search(client, practitioner, family=family, date_of_birth=world.HALF_SIBLING_DOB.isoformat())
    assert [(r["id"], r["shielded"], r["locality"]) for r in found.json()["results"]] == [
        (world.HALF_SIBLING, True, None)
    ]
    assert b"canaryfathertown" not in found.content.lower()


def test_an_archived_child_is_not_found_by_a_former_name(
    client: TestClient, db: Session, as_role: Any
) -> None:
    practitioner = as_role(world.PRACTITIONER)
    criteria = {
        "family": world.CANARIES["half_sibling_former_name"],
        "date_of_birth": world.HALF_SIBLING_DOB.isoformat(),
    }
    assert len(_search(client, practitioner, **criteria).json()["results"]) == 1
    db.execute(
        sa.update(Child).where(Child.cp_id == world.HALF_SIBLING).values(archived_at=dt.datetime.now(dt.UTC))
    )
    db.commit()
    assert _search(client, practitioner, **criteria).json()["results"] == []
    by_name = {"family": world.HALF_SIBLING_FAMILY, "date_of_birth": world.HALF_SIBLING_DOB.isoformat()}
    assert _search(client, practitioner, **by_name).json()["results"] == []
