"""What opening an incident did, in words: suspension, the manager's e-mail, the national report."""

from __future__ import annotations

from cpclient.api.oversight_models import Incident
from cpclient.ui.oversight.labels import format_time

NOT_SENT_PREFIX = "not sent"


def manager_notification_text(incident: Incident) -> str:
    """Whether the user's manager was told by e-mail, and if not, why."""
    if incident.manager_notification == "sent":
        when = format_time(incident.manager_notified_at)
        return f"Their manager was told by e-mail{f' on {when}' if when else ''}."
    why = incident.manager_notification
    if why.startswith(NOT_SENT_PREFIX):
        why = why[len(NOT_SENT_PREFIX) :].lstrip(": ").strip()
    detail = f" ({why})" if why else ""
    return f"The e-mail to their manager was not sent{detail}: tell the manager yourself."


def national_report_text(incident: Incident) -> str:
    """Whether the incident is on the national register."""
    if incident.reported_nationally_at is None:
        return "Not yet reported to the national team."
    return f"Reported to the national team on {format_time(incident.reported_nationally_at)}."


def incident_opened_text(incident: Incident) -> str:
    """The message after opening an incident."""
    return (
        f"Incident {incident.id} opened. {incident.user_display_name} is suspended. "
        f"{manager_notification_text(incident)} {national_report_text(incident)}"
    )
