"""A hypothesis state machine over the real API: several users, shielding, suspension, and the rules.

Each run starts the app on a fresh copy of the world (SQLite or PostgreSQL) and lets hypothesis
interleave: logging in and out (p.north, p.south, cmt.north, cmt.south, national.one), shielding
and unshielding the ordinary child (through the management team's API with whichever token is
drawn, or straight in the database), suspending and reinstating users (in the database, with
or without ending their sessions), searching, opening any of the world's children with a valid or
invalid reason, and adding and ending involvements. Every response is checked against the model
as it comes, and after every step the machine checks:

(a) no response to a user who may not see a shielded child's details holds that child's address,
    postcode, or any telephone number or e-mail address of its record, as the database holds them
    at that moment (the ordinary child included, while it is shielded), nor, for anyone but a
    management team, any of the world's canary markers;
(b) the audit trail holds exactly one `view`/`disclosed` row per record view answered 200;
(c) a suspended user gets nothing but 401/403;
(d) a logged-out (or otherwise ended) token gets 401.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import Session, selectinload, sessionmaker

from cpserver.api.app import API_PREFIX, create_app
from cpserver.config import Settings
from cpserver.domain.names import normalise_postcode
from cpserver.domain.sessions import end_sessions_of, start_session
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.household_facts import carer_shield_drift
from cpserver.store.models import AuditEvent, Carer, Child, User, utcnow
from tests.server import world
from tests.server.conftest import HARVESTING_LIMITS_LIFTED, WORKSTATION, _pg_url, _postgres_admin, login_body

# More runs than steps: hypothesis makes many of its runs short or near-copies of one another, so
# 40 runs of up to 25 steps are what it takes to see shielded views, suspensions and involvements
# interleave on each backend (about 30 s each).
RUNS = 40
STEPS = 25
# Logging in is slow by design (the password hash): keep a few sessions going, not dozens.
MAX_LIVE_TOKENS = 3
SETTINGS = Settings()

USERS = [world.PRACTITIONER, world.PRACTITIONER_SOUTH, world.CMT, world.CMT_SOUTH, world.NATIONAL]
UNKNOWN_CHILD = "CP9999999999"
CHILDREN = [
    world.ORDINARY,
    world.SHIELDED,
    world.SHIELDED_SOUTH,
    world.PAST_18,
    world.NO_SCHOOL,
    world.SENSITIVE,
    UNKNOWN_CHILD,
]
NOT_FOUND = {world.PAST_18, UNKNOWN_CHILD}
# The world's ordinary children share one home (address and telephone): shielding ORDINARY covers
# the others (rule 5, cpserver.domain.household_shield).
ORDINARY_HOME = {world.ORDINARY, world.PAST_18, world.CONSENT_25, world.NO_SCHOOL, world.SENSITIVE}
# (body, whether it is a valid reason)
REASONS: list[tuple[dict[str, Any], bool]] = [
    ({"reason": "safeguarding"}, True),
    ({"reason": "who_else_involved"}, True),
    ({"reason": "providing_service"}, True),
    ({"reason": "other", "reason_text": "Preparing for a multi-agency meeting"}, True),
    ({"reason": "other"}, False),
    ({"reason": "curiosity"}, False),
]
# (service type, consent) — the sensitive one is recorded with consent.
SERVICES = [("family_support", False), ("education_welfare", False), ("mental_health", True)]

# The ordinary home's contact details are made unique to it at the start of each run (in the
# world they are defaults other children may share), so a leak of them while it is shielded is
# visible as such.
ORDINARY_CONTACT = {
    "address_line1": "12 Sentinel Close",
    "address_line2": "Upper Watchford",
    "town": "Watchford",
    "postcode": "ZZ3 7SN",
    "postcode_norm": normalise_postcode("ZZ3 7SN"),
    "telephone": "01632 990777",
}
ORDINARY_CARER = {
    "address_line1": "12 Sentinel Close",
    "town": "Watchford",
    "postcode": "ZZ3 7SN",
    "telephone": "01632 990778",
}
SEARCHES: list[dict[str, Any]] = [
    {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()},
    {"family": world.SHIELDED_FAMILY, "date_of_birth": world.SHIELDED_DOB.isoformat()},
    # The ordinary child by its own postcode: found only while it is not shielded.
    {"family": world.ORDINARY_FAMILY, "given": "Amelia", "postcode": ORDINARY_CONTACT["postcode"]},
    # A shielded child by its hidden postcode: never found.
    {"family": world.SHIELDED_FAMILY, "given": "Rowan", "postcode": world.CANARIES["postcode"]},
]


# --- a fresh database per run -------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A function that makes a new copy of the world and returns its URL (one per machine run)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        copies = iter(range(10**6))

        def sqlite_copy() -> str:
            target = tmp_path / f"run{next(copies)}.sqlite3"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"

        yield sqlite_copy
        return
    template_name: str = request.getfixturevalue("postgres_template")
    admin = _postgres_admin()
    assert admin is not None
    made: list[str] = []

    def postgres_copy() -> str:
        name = f"cp_sm_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
        made.append(name)
        return _pg_url(name)

    try:
        yield postgres_copy
    finally:
        with admin.connect() as connection:
            for name in made:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the model ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Token:
    username: str
    value: str
    # Logged out, or ended by the server (suspension); it must get 401 from now on.
    ended: bool = False

    def __repr__(self) -> str:
        return f"<token of {self.username}{' (ended)' if self.ended else ''}>"


@dataclass(eq=False)
class Involvement:
    id: int
    owner: str
    child: str
    service: str
    ended: bool = False


@dataclass
class Exchange:
    """One request and its response, with what the model knew when it was sent."""

    what: str
    username: str
    status: int
    raw: bytes
    token_ended: bool
    suspended: bool


@dataclass
class People:
    """Who the users are, read from the database once per run."""

    role: dict[str, str] = field(default_factory=dict)
    authority: dict[str, int | None] = field(default_factory=dict)
    own_contact: dict[str, set[bytes]] = field(default_factory=dict)


def lowered(values: list[str | None]) -> set[bytes]:
    return {value.strip().lower().encode() for value in values if value and len(value.strip()) >= 4}


def contact_details(child: Child) -> set[bytes]:
    """A record's addresses, postcodes, telephone numbers and e-mail addresses."""
    values: list[str | None] = [
        child.address_line1,
        child.address_line2,
        child.town,
        child.postcode,
        normalise_postcode(child.postcode),
        child.telephone,
    ]
    for carer in child.carers:
        values += [
            carer.address_line1,
            carer.address_line2,
            carer.town,
            carer.postcode,
            normalise_postcode(carer.postcode),
            carer.telephone,
        ]
    for setting in (child.education_setting, child.gp_practice):
        if setting is not None:
            values += [
                setting.address,
                setting.postcode,
                normalise_postcode(setting.postcode),
                setting.telephone,
            ]
    for involvement in child.involvements:
        values += [involvement.telephone, involvement.email]
    return lowered(values)


def raw_bytes(response: Any) -> bytes:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return (response.content + b"\n" + headers.encode()).lower()


class ApiMachine(RuleBasedStateMachine):
    """One run: a fresh database, the real app, and a model of what each user may get."""

    make_database: Callable[[], str]

    tokens = Bundle("tokens")
    involvements = Bundle("involvements")

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        url = type(self).make_database()
        app_engine = make_engine(url)
        self.stack.callback(app_engine.dispose)
        # The test's own engine, deferred transactions: looking never holds the write lock.
        engine = make_engine(url, sqlite_immediate=False)
        self.stack.callback(engine.dispose)
        self.factory: sessionmaker[Session] = make_session_factory(engine)
        app = create_app(Settings(database_url=url, **HARVESTING_LIMITS_LIFTED), engine=app_engine)
        self.client = self.stack.enter_context(TestClient(app, raise_server_exceptions=False))

        self.people = People()
        self.shielded: dict[str, bool] = {}
        self.child_authority: dict[str, int] = {}
        with self.factory.begin() as db:
            # The whole ordinary home moves, so it stays one household (a sibling of the ordinary
            # child is covered by its shield) with details no other child of the world holds.
            home = db.scalars(sa.select(Child).where(Child.cp_id.in_(ORDINARY_HOME))).all()
            assert len(home) == len(ORDINARY_HOME)
            for child in home:
                for name, value in ORDINARY_CONTACT.items():
                    setattr(child, name, value)
            home_pks = [child.id for child in home]
            db.execute(sa.update(Carer).where(Carer.child_pk.in_(home_pks)).values(**ORDINARY_CARER))
            for user in db.scalars(sa.select(User).where(User.username.in_(USERS))):
                self.people.role[user.username] = user.role
                self.people.authority[user.username] = user.local_authority_id
                self.people.own_contact[user.username] = lowered([user.telephone, user.email])
            for child in db.scalars(sa.select(Child)):
                self.shielded[child.cp_id] = child.shielded
                self.child_authority[child.cp_id] = child.local_authority_id

        self.suspended: set[str] = set()
        self.all_tokens: list[Token] = []
        self.open_involvements: set[tuple[str, str, str]] = set()
        self.views_disclosed = 0
        self.exchanges: list[Exchange] = []

    def teardown(self) -> None:
        self.stack.close()

    # --- helpers -----------------------------------------------------------------------------

    def live_tokens(self) -> int:
        return sum(1 for token in self.all_tokens if self.live(token))

    def live(self, token: Token) -> bool:
        return not token.ended and token.username not in self.suspended

    def sees_details(self, username: str, cp_id: str) -> bool:
        """Whether `username` may see this child's details now: the management team of its
        authority, and of the authority of any shielded child whose household it shares."""
        shields = [cp_id] if self.shielded.get(cp_id, False) else []
        if cp_id in ORDINARY_HOME and cp_id != world.ORDINARY and self.shielded[world.ORDINARY]:
            shields.append(world.ORDINARY)
        if cp_id in (world.SIBLING, world.HALF_SIBLING):
            shields.append(world.SHIELDED)
        return all(
            self.people.role[username] == "cmt"
            and self.people.authority[username] == self.child_authority[shield]
            for shield in shields
        )

    def served_shielded(self, username: str, cp_id: str) -> bool:
        """Whether a search result or record says `shielded` to this user."""
        return self.shielded.get(cp_id, False) or not self.sees_details(username, cp_id)

    def send(
        self, what: str, method: str, path: str, token: Token | None, username: str, json: Any = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token.value}"} if token is not None else {}
        response = self.client.request(method, API_PREFIX + path, json=json, headers=headers)
        suspended = username in self.suspended
        self.exchanges.append(
            Exchange(
                what=what,
                username=username,
                status=response.status_code,
                raw=raw_bytes(response),
                token_ended=token is not None and token.ended,
                suspended=suspended,
            )
        )
        assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
        if token is not None and suspended:
            # The server ends a session that is used while its user is suspended.
            token.ended = True
        return response

    def expect(self, response: Any, status: int, code: str | None = None) -> None:
        assert response.status_code == status, (
            f"expected {status}, got {response.status_code}: {response.text}"
        )
        if code is not None:
            assert response.json()["error"]["code"] == code, response.text

    # --- logging in and out ------------------------------------------------------------------

    def _log_in(self, username: str) -> Any:
        with self.factory() as db:
            body = login_body(db, username)
        response = self.send("log in", "POST", "/sessions", None, username, json=body)
        if username in self.suspended:
            self.expect(response, 403, "account_suspended")
            return multiple()
        self.expect(response, 201)
        token = Token(username, response.json()["token"])
        self.all_tokens.append(token)
        return token

    @initialize(
        target=tokens,
        usernames=st.lists(st.sampled_from(USERS), min_size=2, max_size=3, unique=True),
        shield=st.booleans(),
    )
    def start(self, usernames: list[str], shield: bool) -> Any:
        """A few users signed in, and in half the runs the ordinary child shielded from the start."""
        if shield:
            self.shield_in_the_database(shield=True)
        # Sessions made as a login makes them, without its deliberately slow password hash;
        # the `log_in` rule signs in for real.
        tokens = []
        with self.factory.begin() as db:
            for username in usernames:
                user = db.scalar(sa.select(User).where(User.username == username))
                assert user is not None
                new = start_session(
                    db,
                    user,
                    workstation=WORKSTATION,
                    client_address="testclient",
                    settings=SETTINGS,
                    now=utcnow(),
                )
                tokens.append(Token(username, new.token))
        self.all_tokens += tokens
        return multiple(*tokens)

    @precondition(lambda self: self.live_tokens() < MAX_LIVE_TOKENS)
    @rule(target=tokens, username=st.sampled_from(USERS))
    def log_in(self, username: str) -> Any:
        return self._log_in(username)

    @precondition(lambda self: self.live_tokens() > 1)
    @rule(token=consumes(tokens))
    def log_out(self, token: Token) -> None:
        """Log out, then try the token once more (it must get 401); it is used no further."""
        live = self.live(token)
        response = self.send("log out", "DELETE", "/sessions/current", token, token.username)
        if live:
            self.expect(response, 204)
            token.ended = True
        else:
            self.expect(response, 401)
        again = self.send("search after logging out", "POST", "/searches", token, token.username, SEARCHES[0])
        self.expect(again, 401)

    # --- shielding ---------------------------------------------------------------------------

    @rule(token=tokens, shield=st.booleans())
    def shield_through_the_api(self, token: Token, shield: bool) -> None:
        """Shield or unshield the ordinary child as whoever holds `token` (only cmt.north may)."""
        live = self.live(token)
        if shield:
            body: dict[str, Any] = {
                "ground": "significant_harm",
                "review_date": (world.TODAY + dt.timedelta(days=90)).isoformat(),
                "reason": "Strategy meeting decided the child is at risk",
            }
        else:
            body = {"reason": "Risk assessment reviewed: no longer at risk"}
        path = f"/children/{world.ORDINARY}/{'shield' if shield else 'unshield'}"
        response = self.send("shield" if shield else "unshield", "POST", path, token, token.username, body)
        if not live:
            self.expect(response, 401)
        elif self.people.role[token.username] != "cmt":
            self.expect(response, 403, "role_not_permitted")
        elif self.people.authority[token.username] != self.child_authority[world.ORDINARY]:
            self.expect(response, 403, "outside_your_authority")
        elif not shield and not self.shielded[world.ORDINARY]:
            self.expect(response, 409, "not_shielded")
        else:
            self.expect(response, 200)
            assert response.json()["shielded"] is shield
            self.shielded[world.ORDINARY] = shield

    @rule(shield=st.booleans())
    def shield_in_the_database(self, shield: bool) -> None:
        """Shield or unshield the ordinary child straight in the database (as a data load would):
        the server must honour the flag from the next request on, whoever set it."""
        with self.factory.begin() as db:
            db.execute(
                sa.update(Child)
                .where(Child.cp_id == world.ORDINARY)
                .values(
                    shielded=shield,
                    shield_ground="significant_harm" if shield else None,
                    shield_review_date=world.TODAY + dt.timedelta(days=90) if shield else None,
                )
            )
        self.shielded[world.ORDINARY] = shield

    # --- suspension --------------------------------------------------------------------------

    # One suspension at a time: with more, most of a run is refusals.
    @precondition(lambda self: not self.suspended)
    @rule(data=st.data(), end_sessions=st.booleans())
    def suspend(self, data: st.DataObject, end_sessions: bool) -> None:
        """Suspend a user in the database, preferably one who holds a session.

        With `end_sessions`, as the management team's suspension (`POST /users/{id}/suspension`)
        and the automatic one do it: every session ends at once. Without, the flag alone, as a
        direct change in the database would leave it: the server must still refuse every call,
        since it checks the user on every request.
        """
        holders = sorted({token.username for token in self.all_tokens if self.live(token)})
        choices = holders or [username for username in USERS if username not in self.suspended]
        username = data.draw(st.sampled_from(choices), label="username")
        with self.factory.begin() as db:
            user = db.scalar(sa.select(User).where(User.username == username))
            assert user is not None
            user.suspended = True
            user.suspended_reason = "Suspended pending an investigation"
            if end_sessions:
                end_sessions_of(db, user.id, "suspended", utcnow())
        self.suspended.add(username)
        if end_sessions:
            for token in self.all_tokens:
                if token.username == username:
                    token.ended = True

    @precondition(lambda self: bool(self.suspended))
    @rule(data=st.data())
    def reinstate(self, data: st.DataObject) -> None:
        """Lift a suspension in the database. A session ended while suspended stays ended; one that
        was not used (nor ended) during a flag-only suspension works again."""
        username = data.draw(st.sampled_from(sorted(self.suspended)), label="username")
        with self.factory.begin() as db:
            db.execute(
                sa.update(User).where(User.username == username).values(suspended=False, suspended_reason="")
            )
        self.suspended.discard(username)

    # --- searching and viewing ---------------------------------------------------------------

    @rule(token=tokens, criteria=st.sampled_from(SEARCHES))
    def search(self, token: Token, criteria: dict[str, Any]) -> None:
        live = self.live(token)
        response = self.send("search", "POST", "/searches", token, token.username, criteria)
        if not live:
            self.expect(response, 401)
            return
        self.expect(response, 200)
        results = response.json()["results"]
        for result in results:
            assert result["shielded"] is self.served_shielded(token.username, result["id"]), result
            if result["shielded"]:
                assert result["locality"] is None, result
        ids = {result["id"] for result in results}
        if "postcode" in criteria:
            hidden = {cp_id for cp_id in ids if self.served_shielded(token.username, cp_id)}
            assert not hidden, "found by a hidden postcode"
        if criteria.get("postcode") == ORDINARY_CONTACT["postcode"]:
            assert (world.ORDINARY in ids) is not self.shielded[world.ORDINARY]

    @rule(token=tokens, cp_id=st.sampled_from(CHILDREN), reason=st.sampled_from(REASONS))
    def view(self, token: Token, cp_id: str, reason: tuple[dict[str, Any], bool]) -> None:
        body, valid = reason
        live = self.live(token)
        response = self.send(f"view {cp_id}", "POST", f"/children/{cp_id}/views", token, token.username, body)
        if not live:
            self.expect(response, 401)
        elif not valid:
            self.expect(response, 400)
        elif cp_id in NOT_FOUND:
            self.expect(response, 404, "child_not_found")
        else:
            self.expect(response, 200)
            self.views_disclosed += 1
            record = response.json()
            full = self.sees_details(token.username, cp_id)
            assert record["kind"] == ("full" if full else "shielded"), (token.username, cp_id, record["kind"])
            assert record["shielded"] is (self.shielded[cp_id] or not full)

    @rule(token=tokens, reason=st.sampled_from([body for body, valid in REASONS if valid]))
    def view_the_ordinary_child(self, token: Token, reason: dict[str, Any]) -> None:
        """The child whose shielding changes, with a valid reason (a second rule: twice as often)."""
        self.view(token, world.ORDINARY, (reason, True))

    # --- involvements ------------------------------------------------------------------------

    @rule(
        target=involvements,
        token=tokens,
        cp_id=st.sampled_from([world.ORDINARY, world.SHIELDED, world.SHIELDED_SOUTH, world.PAST_18]),
        service=st.sampled_from(SERVICES),
    )
    def add_involvement(self, token: Token, cp_id: str, service: tuple[str, bool]) -> Any:
        code, consent = service
        live = self.live(token)
        body = {"service_type": code, "consent_recorded": consent}
        path = f"/children/{cp_id}/involvements"
        response = self.send(f"add involvement {cp_id}", "POST", path, token, token.username, body)
        key = (cp_id, token.username, code)
        if not live:
            self.expect(response, 401)
        elif self.people.role[token.username] != "practitioner":
            self.expect(response, 403, "role_not_permitted")
        elif cp_id in NOT_FOUND:
            self.expect(response, 404, "child_not_found")
        elif key in self.open_involvements:
            self.expect(response, 409, "involvement_exists")
        else:
            self.expect(response, 201)
            self.open_involvements.add(key)
            return Involvement(response.json()["id"], token.username, cp_id, code)
        return multiple()

    @rule(token=tokens, involvement=involvements)
    def end_involvement(self, token: Token, involvement: Involvement) -> None:
        live = self.live(token)
        path = f"/involvements/{involvement.id}"
        response = self.send("end involvement", "DELETE", path, token, token.username)
        if not live:
            self.expect(response, 401)
        elif involvement.owner != token.username:
            self.expect(response, 403, "not_your_involvement")
        elif involvement.ended:
            self.expect(response, 409, "involvement_already_ended")
        else:
            self.expect(response, 200)
            assert response.json()["ended_on"] is not None
            involvement.ended = True
            self.open_involvements.discard((involvement.child, involvement.owner, involvement.service))

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def after_every_step(self) -> None:
        # One invariant calling the checks in order (hypothesis runs invariants by name), then
        # forgetting the step's exchanges.
        try:
            self.no_shielded_details_reach_those_who_may_not_see_them()
            self.every_disclosed_view_is_audited_once()
            self.suspended_users_and_ended_tokens_get_nothing()
            self.carers_carry_their_childs_shield()
        finally:
            self.exchanges.clear()

    def no_shielded_details_reach_those_who_may_not_see_them(self) -> None:
        with self.factory() as db:
            children = db.scalars(
                sa.select(Child).options(
                    selectinload(Child.carers),
                    selectinload(Child.involvements),
                    selectinload(Child.education_setting),
                    selectinload(Child.gp_practice),
                )
            ).all()
            details = {child.cp_id: contact_details(child) for child in children}
            shielded_now = {child.cp_id: child.shielded for child in children}
        assert shielded_now == self.shielded, "the database's shielding differs from the model's"
        for exchange in self.exchanges:
            username = exchange.username
            # A value the user may legitimately see elsewhere (a school other children attend,
            # their own telephone) proves nothing; everything else of a hidden record must not
            # appear.
            allowed = set(self.people.own_contact[username])
            hidden: set[bytes] = set()
            for cp_id, values in details.items():
                (allowed if self.sees_details(username, cp_id) else hidden).update(values)
            markers = hidden - allowed
            if self.people.role[username] != "cmt":
                markers |= set(world.CANARY_BYTES)
            found = sorted(marker.decode() for marker in markers if marker in exchange.raw)
            assert not found, f"{exchange.what} to {username} ({exchange.status}) holds {found}"

    def carers_carry_their_childs_shield(self) -> None:
        """The household probe's one copied fact (migration 0011), recomputed from scratch."""
        with self.factory() as db:
            assert carer_shield_drift(db.connection()) == 0

    def every_disclosed_view_is_audited_once(self) -> None:
        with self.factory() as db:
            rows = db.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "view", AuditEvent.outcome == "disclosed")
            )
        assert rows == self.views_disclosed, (
            f"{rows} disclosed-view audit rows for {self.views_disclosed} views"
        )

    def suspended_users_and_ended_tokens_get_nothing(self) -> None:
        for exchange in self.exchanges:
            if exchange.token_ended:
                assert exchange.status == 401, f"{exchange.what}: an ended token got {exchange.status}"
            if exchange.suspended:
                assert exchange.status in (401, 403), f"{exchange.what}: suspended user got {exchange.status}"
        with self.factory() as db:
            suspended_now = set(
                db.scalars(sa.select(User.username).where(User.username.in_(USERS), User.suspended)).all()
            )
        assert suspended_now == self.suspended, "the server suspended or reinstated someone by itself"


def test_state_machine(fresh_database: Callable[[], str]) -> None:
    machine = type("Machine", (ApiMachine,), {"make_database": staticmethod(fresh_database)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=RUNS,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            # No shrinking: each attempt replays a whole run (a database and real logins), and
            # the failing run's steps are printed as they are.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
