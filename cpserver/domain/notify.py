"""Telling a suspended user's manager, by e-mail over SMTP (host and port from settings)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from cpserver.config import Settings

log = logging.getLogger("cpserver.notify")


def notify_manager(
    settings: Settings,
    *,
    to: str,
    manager_name: str,
    user_display_name: str,
    incident_id: int,
    authority: str,
) -> str:
    """Send the notification; returns "sent" or why it was not (never raises: the incident stands)."""
    if not settings.smtp_host:
        return "not sent: no mail server configured"
    message = EmailMessage()
    message["Subject"] = f"ContactPoint: account suspended pending investigation (incident {incident_id})"
    message["From"] = settings.smtp_from
    message["To"] = to
    # No child's details: only that an investigation is open and whom to contact.
    message.set_content(
        f"Dear {manager_name},\n\n"
        f"The ContactPoint account of {user_display_name} has been suspended while the {authority} "
        f"ContactPoint Management Team investigates unusual activity (incident {incident_id}).\n\n"
        "The management team will contact you. Please do not discuss the investigation with the user "
        "until then.\n"
    )
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("manager notification failed: %s", type(error).__name__)
        return f"not sent: {type(error).__name__}"
    return "sent"
