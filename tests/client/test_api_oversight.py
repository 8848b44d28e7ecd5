"""`OversightClient` against a real server (typed answers, typed refusals) and a fake one (strict parsing);
the request bodies it builds."""

from __future__ import annotations

import datetime as dt

import pytest

from cpclient.api.errors import BadResponse, Forbidden, NotFound, RequestRejected, SessionExpired
from cpclient.api.oversight_client import OversightClient
from cpclient.api.oversight_models import (
    Accreditation,
    AuditFilters,
    ChildList,
    LockdownState,
    NewUser,
    ShieldRequest,
    UserAccount,
)
from tests.client.oversight_support import signed_in_api
from tests.client.test_api_transport import signed_in_client


def test_request_bodies_leave_out_what_is_empty():
    new = NewUser(
        username=" J.Smith ",
        given_name="Jo",
        family_name="Smith",
        role="practitioner",
        job_title="Worker",
        telephone="",
        email="jo@example.org",
        organisation_id=3,
        manager_name="M",
        manager_email="m@example.org",
    )
    body = new.to_json()
    assert body["username"] == "j.smith" and "home_postcode" not in body
    assert AuditFilters(username="  ", date_from=dt.date(2009, 1, 31)).to_json() == {
        "date_from": "2009-01-31"
    }
    assert Accreditation(None, True, False, True).to_json()["crb_checked_on"] is None
    shield = ShieldRequest("serious_crime", dt.date(2030, 1, 1), "A reason long enough.").to_json()
    assert shield == {
        "ground": "serious_crime",
        "review_date": "2030-01-01",
        "reason": "A reason long enough.",
    }


@pytest.fixture
def as_user(server):
    made = []

    def sign_in(username: str) -> OversightClient:
        api = signed_in_api(server, username)
        made.append(api)
        return OversightClient(api)

    yield sign_in
    for api in made:
        api.logout()
        api.close()


def test_management_calls_return_typed_models(as_user):
    cmt = as_user("demo.cmt")
    users = cmt.users()
    assert users and all(isinstance(user, UserAccount) for user in users)
    assert {user.local_authority for user in users} == {"Northmere"}
    # A management team lists its own authority's organisations (to add users to).
    organisations = cmt.organisations()
    assert organisations and {o.local_authority for o in organisations} == {"Northmere"}
    assert {user.organisation_id for user in users} <= {o.id for o in organisations}
    assert isinstance(cmt.expiring_checks(), list)
    assert isinstance(cmt.alerts(), list) and isinstance(cmt.incidents(), list)
    assert isinstance(cmt.shield_reviews(), ChildList)
    missing = cmt.children_missing_education()
    assert missing.total >= len(missing.children) > 0
    page = cmt.audit(AuditFilters(action="login", username="demo.cmt"))
    assert page.rows and {row.action for row in page.rows} == {"login"}


def test_national_calls_return_typed_models(as_user):
    national = as_user("demo.national")
    assert any(not organisation.accredited for organisation in national.organisations())
    state = national.lockdown()
    assert isinstance(state, LockdownState) and not state.locked
    assert isinstance(national.yearly_figures(), list)


def test_refusals_are_typed_with_the_servers_code(as_user, server):
    cmt = as_user("demo.cmt")
    with pytest.raises(Forbidden) as refused:
        cmt.lockdown()
    assert refused.value.code == "role_not_permitted"
    own = next(user for user in cmt.users() if user.username == "demo.cmt")
    with pytest.raises(RequestRejected) as yourself:
        cmt.suspend(own.id, "Trying to suspend myself.")
    assert yourself.value.code == "cannot_suspend_yourself" and yourself.value.message
    child = cmt.children_missing_education().children[0].id
    past = ShieldRequest("significant_harm", dt.date(2000, 1, 1), "Long enough reason.")
    with pytest.raises(RequestRejected) as too_early:
        cmt.shield(child, past)
    assert too_early.value.field == "review_date"
    with pytest.raises(NotFound):
        cmt.unshield("CP-NOT-REAL", "Long enough reason.")
    national = as_user("demo.national")
    with pytest.raises(Forbidden):
        national.suspend(own.id, "National reads, the authority acts.")


def test_a_wrong_shape_is_a_bad_response_and_no_session_means_no_call(fake_server):
    api = signed_in_client(fake_server)
    fake_server.answer_json("GET", "/api/v1/users", [{"id": "1", "username": "x"}])
    with pytest.raises(BadResponse):
        OversightClient(api).users()
    fake_server.answer_json("GET", "/api/v1/lockdown", {"locked": "yes"})
    with pytest.raises(BadResponse):
        OversightClient(api).lockdown()
    api.forget_session()
    with pytest.raises(SessionExpired):
        OversightClient(api).alerts()
