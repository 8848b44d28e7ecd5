"""Sending e-mail over SMTP (host, port and sender from settings): the server's `Mailer`."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from cpserver.config import Settings

log = logging.getLogger("cpserver.notify")


class SmtpMailer:
    """A `cpserver.domain.notify.Mailer` that hands each message to the configured SMTP server."""

    def __init__(self, settings: Settings) -> None:
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._sender = settings.smtp_from

    def send(self, *, to: str, subject: str, body: str) -> str:
        if not self._host:
            return "not sent: no mail server configured"
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self._sender
        message["To"] = to
        message.set_content(body)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=10) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("manager notification failed: %s", type(error).__name__)
            return f"not sent: {type(error).__name__}"
        return "sent"
