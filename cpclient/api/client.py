"""`ContactPointClient`: the calls of the cpserver API as blocking methods returning typed models.

The session token lives only in this object's memory: it is never returned, logged or written
anywhere. Every method blocks, so the UI runs them on a worker thread (see `cpclient.ui.background`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter

from cpclient.api.data_matching_models import ReportReceipt
from cpclient.api.errors import ServerMismatch, SessionExpired
from cpclient.api.models import (
    AnyRecord,
    Involvement,
    InvolvementDraft,
    Meta,
    Record,
    SearchCriteria,
    SearchResults,
    SessionBody,
    ShieldedRecord,
    SignedIn,
    StatedReason,
)
from cpclient.api.parsing import Context, error_for, parse_body
from cpclient.api.transport import Transport

T = TypeVar("T")

_META = TypeAdapter(Meta)
_SESSION = TypeAdapter(SessionBody)
_SEARCH = TypeAdapter(SearchResults)
_RECORD: TypeAdapter[Record | ShieldedRecord] = TypeAdapter(AnyRecord)
_INVOLVEMENT = TypeAdapter(Involvement)
_REPORT_RECEIPT = TypeAdapter(ReportReceipt)

TRAINING_EXPECTED = (
    "Training mode can only connect to a ContactPoint training server, and this server holds live "
    "records. Nothing has been shown. Ask your trainer for the training set-up."
)
LIVE_EXPECTED = (
    "This server is a ContactPoint training server holding fictitious data, but this program was "
    "started for live use. Start it in training mode instead, or contact your IT service desk."
)


def path_segment(value: str) -> str:
    """`value` quoted so it stays one path segment (an id from the server cannot change the path)."""
    return quote(value, safe="")


class ContactPointClient:
    """The API client.

    Args:
        transport: sends requests to one server (tests may hand in one aimed at a fake server).
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._token: str | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The API base URL."""
        return self._transport.base_url

    @property
    def signed_in(self) -> bool:
        """True while this client holds a session token."""
        with self._lock:
            return self._token is not None

    def forget_session(self) -> None:
        """Drop the token without telling the server (it has already ended the session)."""
        with self._lock:
            self._token = None

    def close(self) -> None:
        """Forget the session and close connections."""
        self.forget_session()
        self._transport.close()

    # --- calls -----------------------------------------------------------------------------------

    def meta(self) -> Meta:
        """Reasons, service types, policy values and whether this is a training server."""
        return self._call("GET", "/meta", _META, context="public")

    def check_server(self, *, training: bool) -> Meta:
        """`meta()`, refusing a server of the wrong kind.

        Raises:
            ServerMismatch: a training client met a live server or the other way round.
        """
        meta = self.meta()
        if training and not meta.training:
            raise ServerMismatch("live_server", TRAINING_EXPECTED)
        if not training and meta.training:
            raise ServerMismatch("training_server", LIVE_EXPECTED)
        return meta

    def login(self, username: str, password: str, otp: str, workstation: str) -> SignedIn:
        """Sign in; the token is kept here and the rest of the session is returned."""
        body = {"username": username, "password": password, "otp": otp, "workstation": workstation}
        session = self._call("POST", "/sessions", _SESSION, json=body, context="login")
        with self._lock:
            self._token = session.token
        return SignedIn(
            expires_at=session.expires_at,
            idle_timeout_seconds=session.idle_timeout_seconds,
            user=session.user,
        )

    def logout(self) -> None:
        """End the session on the server; the token is forgotten even if the server cannot be told."""
        self.end_session()()

    def end_session(self) -> Callable[[], None]:
        """Forget the token now and return the blocking call that tells the server.

        The token is dropped at once (on the caller's thread), so a new sign-in that happens while
        the returned call is still queued cannot lose its own token to it.
        """
        with self._lock:
            token, self._token = self._token, None

        def tell_server() -> None:
            if token is None:
                return
            answer = self._transport.request("DELETE", "/sessions/current", token=token)
            if answer.status not in (200, 204, 401):
                raise error_for(answer.status, answer.headers, answer.body, "session")

        return tell_server

    def search(self, criteria: SearchCriteria) -> SearchResults:
        """Children matching `criteria` (at most the server's maximum; `more` says there were more)."""
        return self._call("POST", "/searches", _SEARCH, json=criteria.to_json())

    def open_record(self, cp_id: str, reason: StatedReason) -> Record | ShieldedRecord:
        """Open a child's record for the reason the user stated (the server audits it first)."""
        path = f"/children/{path_segment(cp_id)}/views"
        return self._call("POST", path, _RECORD, json=reason.to_json())

    def override_shield(self, cp_id: str, reason: StatedReason) -> Record | ShieldedRecord:
        """Open a shielded record's details by overriding its shielding (only after the warning).

        The server allows it only to users who may override; it raises an alert to the management
        team at once and may suspend the account (ending this session) while it is investigated.
        """
        path = f"/children/{path_segment(cp_id)}/views"
        return self._call("POST", path, _RECORD, json={**reason.to_json(), "override_shield": True})

    def add_involvement(self, cp_id: str, draft: InvolvementDraft) -> Involvement:
        """Record the signed-in practitioner's own involvement with a child."""
        path = f"/children/{path_segment(cp_id)}/involvements"
        return self._call("POST", path, _INVOLVEMENT, json=draft.to_json())

    def end_involvement(self, involvement_id: int) -> Involvement:
        """End one of the signed-in practitioner's own involvements."""
        return self._call("DELETE", f"/involvements/{int(involvement_id)}", _INVOLVEMENT)

    def report_record(self, cp_id: str, problem: str) -> ReportReceipt:
        """“This is not right”: report a problem (from the server's list) with a record opened today."""
        path = f"/children/{path_segment(cp_id)}/record-reports"
        return self._call("POST", path, _REPORT_RECEIPT, json={"problem": problem})

    def session_call(self, method: str, path: str, adapter: TypeAdapter[T], *, json: Any = None) -> T:
        """A call made with this session's token, its answer parsed strictly by `adapter`.

        For other clients of the same server (`OversightClient`): the token stays in this object, and
        a refusal is the same typed `ApiError` (a 401 forgets the session) as for the calls above.
        """
        return self._call(method, path, adapter, json=json)

    # --- plumbing --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        adapter: TypeAdapter[T],
        *,
        json: Any = None,
        context: Context = "session",
    ) -> T:
        token: str | None = None
        if context == "session":
            with self._lock:
                token = self._token
            if token is None:
                raise SessionExpired("not_authenticated")
        answer = self._transport.request(method, path, json=json, token=token)
        if 200 <= answer.status < 300:
            return parse_body(answer.status, answer.headers, answer.body, adapter)
        error = error_for(answer.status, answer.headers, answer.body, context)
        if isinstance(error, SessionExpired) and context == "session":
            with self._lock:
                if self._token == token:
                    self._token = None
        raise error
