"""schemathesis against the app's own OpenAPI document, in process, as each role and as nobody.

For every operation the document lists, hypothesis draws requests from the operation's schema:
positive cases, negative cases (wrong types, missing fields, no token) where the operation has
inputs, and cases aimed at the world (real ContactPoint IDs with each valid reason, each service
type, searches that find children, involvement numbers that exist). They go to the app in
process through schemathesis' ASGI transport, and every response must:

- not be a server error (`not_a_server_error`);
- have a status and content type the operation documents (`status_code_conformance`,
  `content_type_conformance`) and a body that matches the documented schema
  (`response_schema_conformance`);
- when it is an error, be the one `ErrorPublic` envelope and nothing else;
- when it is a success obtained with a token, be refused without it: `ignored_auth` re-sends the
  request with no token and with a made-up one, and both must get 401/403;
- for anyone but a management team, carry none of the shielded children's canary markers.

Protected operations run as a logged-in user of each role (the token comes from a real login);
every operation also runs with no token at all, where a protected one must never answer 2xx.
A hand-written valid request per operation and role then proves that the success bodies (a full
record, a shielded record, search results, a new and an ended involvement, a session, a logout)
match the document too.

Bounded and deterministic: `derandomize=True`, `EXAMPLES` examples per operation and caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from cpserver.api.app import API_PREFIX, create_app
from cpserver.api.deps import current_actor
from cpserver.api.routes import children, meta, searches, sessions
from cpserver.api.schemas import ErrorPublic
from cpserver.config import Settings
from cpserver.domain.reasons import REASONS
from cpserver.domain.service_types import SERVICE_TYPES
from cpserver.domain.sessions import start_session
from cpserver.store.database import make_engine
from cpserver.store.models import User, utcnow
from tests.server import world
from tests.server.conftest import WORKSTATION, login_body

EXAMPLES = 40
AIMED_INVOLVEMENT_IDS = 8
ROLE_USERS = {"practitioner": world.PRACTITIONER, "cmt": world.CMT, "national": world.NATIONAL}
# Only a management team may see shielded details (and only its own authority's, but both shielded
# children hold the same markers, so the scan is skipped for the management team altogether).
SEES_SHIELDED = {"cmt"}

SESSIONS = f"POST {API_PREFIX}/sessions"
META = f"GET {API_PREFIX}/meta"
LOGOUT = f"DELETE {API_PREFIX}/sessions/current"
SEARCHES = f"POST {API_PREFIX}/searches"
VIEWS = f"POST {API_PREFIX}/children/{{child_id}}/views"
INVOLVEMENTS = f"POST {API_PREFIX}/children/{{child_id}}/involvements"
END_INVOLVEMENT = f"DELETE {API_PREFIX}/involvements/{{involvement_id}}"

WORLD_CHILDREN = [
    world.ORDINARY,
    world.SHIELDED,
    world.SHIELDED_SOUTH,
    world.PAST_18,
    world.CONSENT_25,
    world.NO_SCHOOL,
    world.SENSITIVE,
    "CP9999999999",
]
VIEW_BODIES = [{"reason": reason.code} for reason in REASONS if not reason.needs_text] + [
    {"reason": "other", "reason_text": "Checking the record before a multi-agency meeting"},
    {"reason": "other", "reason_text": "short"},
]
INVOLVEMENT_BODIES = [
    {"service_type": service.code, "consent_recorded": consent}
    for service in SERVICE_TYPES
    for consent in (False, True)
]
SEARCH_BODIES = [
    {"family": world.ORDINARY_FAMILY, "date_of_birth": world.ORDINARY_DOB.isoformat()},
    {"family": world.SHIELDED_FAMILY, "date_of_birth": world.SHIELDED_DOB.isoformat()},
    {"family": "Quilfeather", "date_of_birth": world.SHIELDED_DOB.isoformat()},
    {"family": world.SHIELDED_FAMILY, "given": "Rowan", "postcode": world.CANARIES["postcode"]},
    {"family": world.ORDINARY_FAMILY, "given": "Amelia", "postcode": world.ORDINARY_POSTCODE, "exact": True},
    {
        "family": world.ORDINARY_FAMILY,
        "date_of_birth_from": world.ORDINARY_DOB.replace(day=1).isoformat(),
        "date_of_birth_to": world.ORDINARY_DOB.replace(day=28).isoformat(),
    },
]

# Responses a check rejects because of a server bug the lead has been told about, tolerated in the
# fuzzing runs so that they keep guarding everything else; each has a strict xfail test below that
# starts passing (and so fails the suite, as a reminder to remove the entry) once it is fixed.
UNDOCUMENTED_BUT_KNOWN: set[tuple[str, int]] = {(SESSIONS, 400)}


# --- the operations, from the code ---------------------------------------------------------------


def _flatten(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub
        yield from _flatten(sub)


def route_labels() -> tuple[list[str], list[str]]:
    """(every operation, the protected ones) from the routers themselves, as schemathesis labels them.

    Read from the code rather than the document, so an operation missing from the document fails
    `test_document_lists_every_route` instead of going untested.
    """
    everything: list[str] = []
    protected: list[str] = []
    for module in (sessions, meta, searches, children):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods):
                label = f"{method} {API_PREFIX}{route.path}"
                everything.append(label)
                if any(sub.call is current_actor for sub in _flatten(route.dependant)):
                    protected.append(label)
    return everything, protected


OPERATIONS, PROTECTED = route_labels()


# --- extra checks --------------------------------------------------------------------------------


def error_envelope(_ctx: Any, response: Any, _case: Any) -> None:
    """Every error is `{"error": {"code", "message"[, "field"]}}` and nothing else."""
    if response.status_code < 400:
        return
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the error envelope: {body}"
    ErrorPublic.model_validate(body)


def no_canary(_ctx: Any, response: Any, _case: Any) -> None:
    """No shielded child's hidden field, in the body or the headers (raw bytes, lower-cased)."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items()).lower()
    raw = response.content.lower() + b"\n" + headers.encode()
    found = [marker.decode() for marker in world.CANARY_BYTES if marker in raw]
    assert not found, f"shielded details reached a user who may not see them: {found}"


CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
    error_envelope,
]


def checks_for(role: str | None) -> list[Callable[..., Any]]:
    return CHECKS if role in SEES_SHIELDED else [*CHECKS, no_canary]


def call_and_validate(case: Any, role: str | None, token: str | None = None) -> Any:
    """Send `case` (with the token, if any) and run every check on the response."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = case.call(headers=headers)
    excluded = (
        [status_code_conformance]
        if (case.operation.label, response.status_code) in UNDOCUMENTED_BUT_KNOWN
        else []
    )
    case.validate_response(
        response,
        checks=checks_for(role),
        excluded_checks=excluded,
        headers=headers,
        transport_kwargs={"headers": headers} if headers else None,
    )
    return response


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def app(database_url: str) -> Iterator[Any]:
    """The app on the test's fresh database, with an engine of its own that the test disposes."""
    engine = make_engine(database_url)
    application = create_app(Settings(database_url=database_url), engine=engine)
    yield application
    # schemathesis starts an app's lifespan once and keeps it for the process: stop it here.
    asgi.shutdown_lifespans()
    engine.dispose()


@pytest.fixture
def schema(app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def log_in(app: Any, db: Session, username: str) -> str:
    """A bearer token from a real login (password and one-time code)."""
    response = TestClient(app).post(f"{API_PREFIX}/sessions", json=login_body(db, username))
    assert response.status_code == 201, response.json()
    token: str = response.json()["token"]
    return token


def mint_token(db: Session, username: str) -> str:
    """A session made straight in the database, for the logout operation, which ends one per example.

    A real login costs a deliberately slow password hash; logging in is fuzzed on its own.
    """
    user = db.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    new = start_session(
        db, user, workstation=WORKSTATION, client_address="testclient", settings=Settings(), now=utcnow()
    )
    db.commit()
    return new.token


def operation_of(schema: Any, label: str) -> Any:
    method, path = label.split(" ", 1)
    return schema[path][method]


def aimed(operation: Any) -> st.SearchStrategy[Any] | None:
    """Cases that get past validation into the rules: the world's children, valid reasons and so on."""
    label = operation.label
    if label == SEARCHES:
        return st.sampled_from(SEARCH_BODIES).flatmap(lambda body: operation.as_strategy(body=body))
    if label in (VIEWS, INVOLVEMENTS):
        bodies = VIEW_BODIES if label == VIEWS else INVOLVEMENT_BODIES
        return st.tuples(st.sampled_from(WORLD_CHILDREN), st.sampled_from(bodies)).flatmap(
            lambda pair: operation.as_strategy(path_parameters={"child_id": pair[0]}, body=pair[1])
        )
    if label == END_INVOLVEMENT:
        return st.sampled_from(range(1, AIMED_INVOLVEMENT_IDS + 1)).flatmap(
            lambda number: operation.as_strategy(path_parameters={"involvement_id": number})
        )
    return None


def cases(operation: Any) -> st.SearchStrategy[Any]:
    """Positive cases; negative ones where there is something to get wrong; aimed ones."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if list(operation.iter_parameters()) or operation.body:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    extra = aimed(operation)
    if extra is not None:
        # Twice: half the examples get past validation.
        strategies += [extra, extra]
    return st.one_of(strategies)


def bounded(test: Any) -> Any:
    return settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(test)


# --- the document --------------------------------------------------------------------------------


def test_document_lists_every_route(schema: Any) -> None:
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert labels == set(OPERATIONS)
    security = {
        f"{method.upper()} {path}"
        for path, methods in schema.raw_schema["paths"].items()
        for method, definition in methods.items()
        if definition.get("security")
    }
    assert security == set(PROTECTED), "the document must say which operations need a token"


# --- fuzzing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
@pytest.mark.parametrize("label", PROTECTED)
def test_as_each_role(label: str, role: str, app: Any, schema: Any, db: Session) -> None:
    operation = operation_of(schema, label)
    username = ROLE_USERS[role]
    token = log_in(app, db, username)
    if label == END_INVOLVEMENT:
        # Open involvements of the practitioner, numbered within the aimed range, to end (or be
        # refused ending, as anyone else).
        owner = token if role == "practitioner" else log_in(app, db, world.PRACTITIONER)
        for service in ("family_support", "education_welfare", "speech_language"):
            response = TestClient(app).post(
                f"{API_PREFIX}/children/{world.ORDINARY}/involvements",
                json={"service_type": service},
                headers={"Authorization": f"Bearer {owner}"},
            )
            assert response.status_code == 201, response.json()
            assert response.json()["id"] <= AIMED_INVOLVEMENT_IDS
    statuses: list[int] = []

    @bounded
    @given(case=cases(operation))
    def run(case: Any) -> None:
        # Logging out ends the token it is sent with: give it a new one each time.
        bearer = mint_token(db, username) if label == LOGOUT else token
        statuses.append(call_and_validate(case, role, bearer).status_code)

    run()
    assert len(statuses) >= EXAMPLES // 2, f"only {len(statuses)} requests were sent"


@pytest.mark.parametrize("label", OPERATIONS)
def test_without_a_token(label: str, schema: Any) -> None:
    operation = operation_of(schema, label)
    protected = label in PROTECTED
    statuses: list[int] = []

    @bounded
    @given(case=cases(operation))
    def run(case: Any) -> None:
        response = call_and_validate(case, None)
        statuses.append(response.status_code)
        if protected:
            assert not 200 <= response.status_code < 300, f"{label} answered {response.status_code}"

    run()
    assert statuses, "no request was sent"


# --- valid requests ------------------------------------------------------------------------------


def test_valid_requests_conform(app: Any, schema: Any, db: Session) -> None:
    """Hand-written valid requests, as each role: the success bodies match the document too."""

    def send(label: str, role: str | None, token: str | None, expect: int, **parts: Any) -> Any:
        response = call_and_validate(operation_of(schema, label).Case(**parts), role, token)
        assert response.status_code == expect, f"{label} as {role}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    session = send(SESSIONS, None, None, 201, body=login_body(db, world.PRACTITIONER))
    assert session["user"]["username"] == world.PRACTITIONER
    assert send(META, None, None, 200)["reasons"]
    reason = {"reason": "who_else_involved"}
    for role, username in ROLE_USERS.items():
        token = log_in(app, db, username)
        found = send(SEARCHES, role, token, 200, body=SEARCH_BODIES[1])
        assert {result["id"] for result in found["results"]} >= {world.SHIELDED, world.SHIELDED_SOUTH}
        for cp_id, kind in (
            (world.ORDINARY, "full"),
            (world.SENSITIVE, "full"),
            (world.SHIELDED, "full" if role == "cmt" else "shielded"),
            (world.SHIELDED_SOUTH, "shielded"),
        ):
            record = send(VIEWS, role, token, 200, path_parameters={"child_id": cp_id}, body=reason)
            assert record["kind"] == kind, (role, cp_id)
        send(VIEWS, role, token, 404, path_parameters={"child_id": world.PAST_18}, body=reason)
        new = {"service_type": "family_support"}
        if role == "practitioner":
            for cp_id in (world.ORDINARY, world.SHIELDED):
                created = send(INVOLVEMENTS, role, token, 201, path_parameters={"child_id": cp_id}, body=new)
                ended = send(
                    END_INVOLVEMENT, role, token, 200, path_parameters={"involvement_id": created["id"]}
                )
                assert ended["ended_on"] is not None
        else:
            send(INVOLVEMENTS, role, token, 403, path_parameters={"child_id": world.ORDINARY}, body=new)
        send(LOGOUT, role, token, 204)
        send(SEARCHES, role, token, 401, body=SEARCH_BODIES[0])


# --- known gaps in the document (strict xfails: they pass once the server is fixed) ---------------

BODY_OPERATIONS = [SESSIONS, SEARCHES, VIEWS, INVOLVEMENTS]


@pytest.mark.parametrize(
    "label",
    [
        pytest.param(
            SESSIONS,
            marks=pytest.mark.xfail(
                strict=True,
                reason="server bug: POST /sessions answers a body that is not JSON with 400 "
                "malformed_json, but its `responses` (cpserver/api/routes/sessions.py) do not "
                "declare 400; when fixed, also drop it from UNDOCUMENTED_BUT_KNOWN",
            ),
        )
        if label == SESSIONS
        else label
        for label in BODY_OPERATIONS
    ],
)
def test_malformed_json_answer_is_documented(label: str, app: Any, schema: Any, db: Session) -> None:
    method, path = label.split(" ", 1)
    concrete = path.replace("{child_id}", world.ORDINARY)
    token = log_in(app, db, world.PRACTITIONER)
    response = TestClient(app).request(
        method,
        concrete,
        content=b"\x00",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"
    documented = schema.raw_schema["paths"][path][method.lower()]["responses"]
    assert "400" in documented, f"{label} answers 400 but documents only {sorted(documented)}"


@pytest.mark.parametrize(
    "label",
    [
        label
        if label in (LOGOUT, META)
        else pytest.param(
            label,
            marks=pytest.mark.xfail(
                strict=True,
                reason="server bug: 422 is documented as FastAPI's default HTTPValidationError "
                "({detail: [...]}) but the app answers it with the ErrorPublic envelope "
                "(cpserver/api/errors.py _validation_error); declare 422 with ErrorPublic",
            ),
        )
        for label in OPERATIONS
    ],
)
def test_documented_errors_are_the_envelope(label: str, schema: Any) -> None:
    """Every error status an operation documents names the `ErrorPublic` schema."""
    method, path = label.split(" ", 1)
    documented = schema.raw_schema["paths"][path][method.lower()]["responses"]
    wrong = {
        status: response.get("content", {}).get("application/json", {}).get("schema")
        for status, response in documented.items()
        if int(status) >= 400
        and response.get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/ErrorPublic"}
    }
    assert not wrong, f"{label} documents errors that are not ErrorPublic: {wrong}"
