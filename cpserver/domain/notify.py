"""Telling a suspended user's manager: what the message says, sent through whichever `Mailer` is wired."""

from __future__ import annotations

from typing import Protocol


class Mailer(Protocol):
    """Sends one plain-text e-mail; the server wires the SMTP one (`cpserver.mail.SmtpMailer`)."""

    def send(self, *, to: str, subject: str, body: str) -> str:
        """Send the message; return "sent" or why it was not ("not sent: ..."). Never raises."""
        ...


def notify_manager(
    mailer: Mailer,
    *,
    to: str,
    manager_name: str,
    user_display_name: str,
    incident_id: int,
    authority: str,
) -> str:
    """Send the notification; returns "sent" or why it was not (never raises: the incident stands)."""
    # No child's details: only that an investigation is open and whom to contact.
    return mailer.send(
        to=to,
        subject=f"ContactPoint: account suspended pending investigation (incident {incident_id})",
        body=(
            f"Dear {manager_name},\n\n"
            f"The ContactPoint account of {user_display_name} has been suspended while the {authority} "
            f"ContactPoint Management Team investigates unusual activity (incident {incident_id}).\n\n"
            "The management team will contact you. Please do not discuss the investigation with the user "
            "until then.\n"
        ),
    )
