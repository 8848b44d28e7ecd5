"""`OversightClient`: the management team's and national team's calls, as blocking typed methods.

The calls go through the `ContactPointClient` the window already holds, so they use its session token
and its error handling; this module adds no state of its own. Nothing here is cached: every list is
fetched when a screen asks for it and lives only in that screen. The models are in `oversight_models`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter

from cpclient.api.client import ContactPointClient, path_segment
from cpclient.api.data_matching_models import (
    Decision,
    MatchComparison,
    MatchDecisionResult,
    MatchReviewPage,
    RecordReport,
    RecordReportPage,
    Resolution,
)
from cpclient.api.models import Record, ShieldedRecord, StatedReason
from cpclient.api.oversight_models import (
    Accreditation,
    Alert,
    AuditFilters,
    AuditPage,
    ChildList,
    Enrolment,
    Incident,
    LockdownState,
    NewUser,
    NoticeFollowUp,
    Organisation,
    Outcome,
    ShieldRequest,
    ShieldState,
    UserAccount,
    YearFigures,
)

T = TypeVar("T")

_USERS = TypeAdapter(list[UserAccount])
_USER = TypeAdapter(UserAccount)
_ENROLMENT = TypeAdapter(Enrolment)
_AUDIT = TypeAdapter(AuditPage)
_ALERTS = TypeAdapter(list[Alert])
_ALERT = TypeAdapter(Alert)
_INCIDENTS = TypeAdapter(list[Incident])
_INCIDENT = TypeAdapter(Incident)
_SHIELD = TypeAdapter(ShieldState)
_CHILDREN = TypeAdapter(ChildList)
_FIGURES = TypeAdapter(list[YearFigures])
_NOTICE_FOLLOW_UP = TypeAdapter(list[NoticeFollowUp])
_ORGANISATIONS = TypeAdapter(list[Organisation])
_ORGANISATION = TypeAdapter(Organisation)
_LOCKDOWN = TypeAdapter(LockdownState)
_MATCH_REVIEWS = TypeAdapter(MatchReviewPage)
_MATCH_COMPARISON = TypeAdapter(MatchComparison)
_MATCH_DECISION = TypeAdapter(MatchDecisionResult)
_RECORD_REPORTS = TypeAdapter(RecordReportPage)
_RECORD_REPORT = TypeAdapter(RecordReport)


def _reason(text: str) -> dict[str, str]:
    return {"reason": text}


def _page_query(after: int | None, limit: int | None) -> dict[str, int]:
    """Which page of a queue list (a body: the server takes no parameter in a URL's query)."""
    return ({"after": int(after)} if after is not None else {}) | (
        {"limit": int(limit)} if limit is not None else {}
    )


class OversightClient:
    """The oversight calls, as blocking methods returning typed models (run them off the Qt thread).

    Args:
        api: the signed-in API client (its token and error handling are used for every call).
    """

    def __init__(self, api: ContactPointClient) -> None:
        self._api = api

    def _send(self, method: str, path: str, adapter: TypeAdapter[T], body: Any = None) -> T:
        # The one place this module talks to the server: through the API client's session call, so
        # the token never leaves it and a refusal becomes the same typed, user-worded `ApiError`.
        return self._api.session_call(method, path, adapter, json=body)

    # --- users -----------------------------------------------------------------------------------

    def users(self) -> list[UserAccount]:
        """The authority's users (every authority's for the national team)."""
        return self._send("GET", "/users", _USERS)

    def expiring_checks(self) -> list[UserAccount]:
        """Users whose criminal records check runs out within 60 days (or already has)."""
        return self._send("GET", "/users/expiring-checks", _USERS)

    def add_user(self, new: NewUser) -> Enrolment:
        """Add an account; the answer carries its one-time secrets (show once, never keep)."""
        return self._send("POST", "/users", _ENROLMENT, new.to_json())

    def record_accreditation(self, user_id: int, accreditation: Accreditation) -> UserAccount:
        """Record a user's checks."""
        return self._send("PUT", f"/users/{int(user_id)}/accreditation", _USER, accreditation.to_json())

    def suspend(self, user_id: int, reason: str) -> UserAccount:
        """Suspend a user (their sessions end at once)."""
        return self._send("POST", f"/users/{int(user_id)}/suspension", _USER, _reason(reason))

    def reinstate(self, user_id: int, reason: str) -> UserAccount:
        """Reinstate a suspended user."""
        return self._send("POST", f"/users/{int(user_id)}/reinstatement", _USER, _reason(reason))

    # --- audit trail -----------------------------------------------------------------------------

    def audit(self, filters: AuditFilters) -> AuditPage:
        """Audit rows matching `filters` (the query is itself audited)."""
        return self._send("POST", "/audit-queries", _AUDIT, filters.to_json())

    # --- alerts and incidents --------------------------------------------------------------------

    def alerts(self) -> list[Alert]:
        """Open alerts, newest first."""
        return self._send("GET", "/alerts", _ALERTS)

    def dismiss_alert(self, alert_id: int, justification: str) -> Alert:
        """Dismiss an alert with a justification."""
        path = f"/alerts/{int(alert_id)}/dismissal"
        return self._send("POST", path, _ALERT, {"justification": justification})

    def incident_from_alert(self, alert_id: int, summary: str) -> Incident:
        """Open an incident from an alert (suspends the user, notifies their manager, reports it)."""
        return self._send("POST", f"/alerts/{int(alert_id)}/incident", _INCIDENT, {"summary": summary})

    def incidents(self) -> list[Incident]:
        """The authority's incidents; for the national team, the national incident register."""
        return self._send("GET", "/incidents", _INCIDENTS)

    def open_incident(self, user_id: int, summary: str) -> Incident:
        """Open an incident about a user, without an alert."""
        return self._send("POST", "/incidents", _INCIDENT, {"user_id": int(user_id), "summary": summary})

    def update_incident(self, incident_id: int, status: str, outcome: Outcome | None = None) -> Incident:
        """Move an incident to investigating, or close it with an outcome."""
        body: dict[str, Any] = {"status": status}
        if outcome is not None:
            body["outcome"] = outcome
        return self._send("PATCH", f"/incidents/{int(incident_id)}", _INCIDENT, body)

    def add_note(self, incident_id: int, text: str) -> Incident:
        """A note about the investigation (never about a child)."""
        return self._send("POST", f"/incidents/{int(incident_id)}/notes", _INCIDENT, {"text": text})

    # --- shielding and reports -------------------------------------------------------------------

    def shield(self, cp_id: str, request: ShieldRequest) -> ShieldState:
        """Shield a record (effective for everyone at once)."""
        path = f"/children/{path_segment(cp_id.strip())}/shield"
        return self._send("POST", path, _SHIELD, request.to_json())

    def unshield(self, cp_id: str, reason: str) -> ShieldState:
        """Remove a record's shielding."""
        path = f"/children/{path_segment(cp_id.strip())}/unshield"
        return self._send("POST", path, _SHIELD, _reason(reason))

    def open_archived_record(self, cp_id: str, reason: StatedReason) -> Record | ShieldedRecord:
        """Open an archived record (national team, for an investigation; the server audits it first)."""
        return self._api.open_record(cp_id.strip(), reason)

    def shield_reviews(self) -> ChildList:
        """Shielded records due for review within 30 days."""
        return self._send("GET", "/shield-reviews", _CHILDREN)

    def children_missing_education(self) -> ChildList:
        """Children with no education setting recorded."""
        return self._send("GET", "/reports/children-missing-education", _CHILDREN)

    def yearly_figures(self) -> list[YearFigures]:
        """Per year and authority: incidents, outcomes, alerts raised and dismissed."""
        return self._send("GET", "/reports/yearly-figures", _FIGURES)

    def notice_follow_up(self) -> list[NoticeFollowUp]:
        """Per authority: involvement notices of the last year and how many were followed up in time."""
        return self._send("GET", "/reports/notice-follow-up", _NOTICE_FOLLOW_UP)

    # --- data matching ---------------------------------------------------------------------------

    def match_reviews(self, *, after: int | None = None, limit: int | None = None) -> MatchReviewPage:
        """A page of the authority's open possible matches, oldest first: the first, or the one
        `after` the item with that id; at most `limit` items (the server's most when None)."""
        return self._send("POST", "/match-review-pages", _MATCH_REVIEWS, _page_query(after, limit))

    def match_comparison(self, review_id: int) -> MatchComparison:
        """One possible match: the incoming row and the directory's record side by side (audited)."""
        return self._send("GET", f"/match-reviews/{int(review_id)}", _MATCH_COMPARISON)

    def decide_match(self, review_id: int, decision: Decision) -> MatchDecisionResult:
        """Same child (update the record) or different children (a new record)."""
        path = f"/match-reviews/{int(review_id)}/decision"
        return self._send("POST", path, _MATCH_DECISION, {"decision": decision})

    def record_reports(self, *, after: int | None = None, limit: int | None = None) -> RecordReportPage:
        """A page of the open "this is not right" reports about the authority's records, oldest
        first (`after` and `limit` as for `match_reviews`)."""
        return self._send("POST", "/record-report-pages", _RECORD_REPORTS, _page_query(after, limit))

    def resolve_report(self, report_id: int, resolution: Resolution) -> RecordReport:
        """Close a report: corrected (at source) or not upheld."""
        path = f"/record-reports/{int(report_id)}/resolution"
        return self._send("POST", path, _RECORD_REPORT, {"resolution": resolution})

    # --- national --------------------------------------------------------------------------------

    def organisations(self) -> list[Organisation]:
        """Every organisation (a management team's: its own authority's) and whether it is accredited."""
        return self._send("GET", "/organisations", _ORGANISATIONS)

    def accredit_organisation(self, organisation_id: int, reason: str) -> Organisation:
        """Accredit an organisation."""
        path = f"/organisations/{int(organisation_id)}/accreditation"
        return self._send("POST", path, _ORGANISATION, _reason(reason))

    def withdraw_organisation(self, organisation_id: int, reason: str) -> Organisation:
        """Withdraw an organisation's accreditation: its users are stopped at once."""
        path = f"/organisations/{int(organisation_id)}/withdrawal"
        return self._send("POST", path, _ORGANISATION, _reason(reason))

    def lockdown(self) -> LockdownState:
        """Whether access is stopped, and any restore waiting for a second person."""
        return self._send("GET", "/lockdown", _LOCKDOWN)

    def lock_down(self, reason: str) -> LockdownState:
        """Stop access for every user but the national team."""
        return self._send("POST", "/lockdown", _LOCKDOWN, _reason(reason))

    def request_restore(self, reason: str) -> LockdownState:
        """Ask to restore access (a second national-team member must confirm)."""
        return self._send("POST", "/lockdown/restore-requests", _LOCKDOWN, _reason(reason))

    def confirm_restore(self, request_id: int, reason: str) -> LockdownState:
        """Confirm another national-team member's restore request: access is restored."""
        path = f"/lockdown/restore-requests/{int(request_id)}/confirmation"
        return self._send("POST", path, _LOCKDOWN, _reason(reason))
