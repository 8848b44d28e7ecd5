"""The words for the server's oversight codes (problems, grounds, outcomes, rules, actions) and times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cpclient.ui.date_entry import format_date

PROBLEM_LABELS: dict[str, str] = {
    "account_suspended": "Suspended",
    "organisation_not_accredited": "Organisation not accredited",
    "crb_check_missing": "No criminal records check recorded",
    "crb_check_expired": "Criminal records check expired",
    "training_incomplete": "Training not completed",
    "procedures_not_received": "Security procedures not received",
    "agreement_unsigned": "End-user agreement not signed",
}
# The four statutory grounds for shielding, in plain English.
SHIELD_GROUNDS: dict[str, str] = {
    "significant_harm": "The child is at risk of significant harm",
    "adoption_placement": "An adoption placement would be put at risk",
    "adult_at_risk": "An adult would be put at increased risk of significant harm",
    "serious_crime": "It would prejudice preventing or detecting a serious crime",
}
OUTCOMES: dict[str, str] = {
    "no_misuse": "No misuse found",
    "procedures_not_followed": "Procedures not followed",
    "training_required": "Training required",
    "disciplined": "Disciplined",
}
INCIDENT_STATUSES: dict[str, str] = {
    "open": "Open",
    "investigating": "Investigating",
    "closed": "Closed",
}
SEVERITIES: dict[str, str] = {"low": "Low", "medium": "Medium", "high": "High"}
RULES: dict[str, str] = {
    "family_name_search": "Searched for their own family name",
    "family_member": "Opened a possible family member's record",
    "browsing": "Many near-identical searches (browsing)",
    "out_of_hours": "Used outside working hours",
    "shield_override": "Overrode shielding",
    "repeated_other": 'Repeatedly gave the reason "Other"',
    "outside_authority": "Opened records outside their authority",
    "volume": "Opened unusually many records",
    "two_workstations": "Same account on two workstations",
    "shared_workstation": "Possibly shared login details",
}
AUDIT_ACTIONS: dict[str, str] = {
    "view": "Opened a record",
    "search": "Searched",
    "login": "Signed in",
    "logout": "Signed out",
    "involvement_added": "Recorded an involvement",
    "involvement_ended": "Ended an involvement",
    "shield": "Shielded a record",
    "unshield": "Removed shielding",
    "audit_reviewed": "Reviewed the audit trail",
    "report_viewed": "Viewed a report",
    "user_added": "Added a user",
    "accreditation_recorded": "Recorded accreditation",
    "user_suspended": "Suspended a user",
    "user_reinstated": "Reinstated a user",
    "alert_dismissed": "Dismissed an alert",
    "incident_opened": "Opened an incident",
    "incident_updated": "Updated an incident",
    "incident_note": "Added an incident note",
    "organisation_accredited": "Accredited an organisation",
    "organisation_withdrawn": "Withdrew an organisation's accreditation",
    "lockdown": "Lockdown",
    "match_review_view": "Compared a possible match",
    "match_review_decision": "Decided a possible match",
    "record_report": "Reported a record as not right",
    "record_report_resolution": "Closed a report about a record",
    "retention_run": "Retention run (archived and purged records)",
}
EVIDENCE_NAMES: dict[str, str] = {
    "audit_seq": "Audit entries",
    "child": "Child's ContactPoint ID",
}
MAX_EVIDENCE_CHARS = 600


def label(words: Mapping[str, str], code: str | None) -> str:
    """The words for `code` (a code this client does not know is shown readably, not hidden)."""
    if not code:
        return ""
    return words.get(code, code.replace("_", " ").capitalize())


def format_time(value: dt.datetime | None) -> str:
    """A moment in this computer's time zone: 31/12/2009 14:05."""
    if value is None:
        return ""
    local = value.astimezone() if value.tzinfo is not None else value
    return f"{format_date(local.date())} {local:%H:%M}"


def sort_time(value: dt.datetime | None) -> str:
    """A sort key for a moment (ISO text sorts in time order)."""
    if value is None:
        return ""
    return (value.astimezone(dt.UTC) if value.tzinfo is not None else value).isoformat()


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """An alert's evidence in words, one item per line (audit numbers, counts; never a child's details)."""
    lines: list[str] = []
    for key, value in evidence.items():
        name = EVIDENCE_NAMES.get(key, key.replace("_", " ").capitalize())
        if isinstance(value, list | tuple):
            shown = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            shown = ", ".join(f"{inner}: {item}" for inner, item in value.items())
        else:
            shown = str(value)
        lines.append(f"{name}: {shown}")
    text = "\n".join(lines) or "No evidence recorded."
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[: MAX_EVIDENCE_CHARS - 1] + "…"
    return text
