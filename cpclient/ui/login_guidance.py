"""What to do next, in plain English, for each reason the server gives for refusing a sign-in.

The server's own message says what is missing and whom to contact; this adds what the person can
do about it. Codes the client does not know get the general advice.
"""

from __future__ import annotations

GENERAL = "If you cannot sign in, contact your ContactPoint management team."

GUIDANCE: dict[str, str] = {
    "invalid_credentials": (
        "Check your username and password, and type the code your authenticator shows now. "
        "Codes change every 30 seconds and each code works only once."
    ),
    "account_suspended": (
        "You cannot use ContactPoint until your management team restores your account. "
        "Contact them; do not ask a colleague to look records up for you."
    ),
    "crb_check_expired": (
        "Ask your manager to arrange a new enhanced criminal records check. Your management team can "
        "restore access once the new check is recorded."
    ),
    "crb_check_missing": (
        "Ask your manager to send your enhanced criminal records check details to your management team."
    ),
    "training_incomplete": (
        "Book and complete the mandatory ContactPoint training; your management team will record it "
        "and then you can sign in."
    ),
    "procedures_not_received": (
        "Ask your management team for the ContactPoint security operating procedures. They record "
        "that you have received them."
    ),
    "agreement_unsigned": (
        "Read and sign the ContactPoint end-user agreement, then return it to your management team."
    ),
    "organisation_not_accredited": (
        "Your organisation must be accredited before its staff can use ContactPoint. Your manager "
        "can find out from the management team when that will be."
    ),
    "service_locked_down": (
        "Nobody can use ContactPoint at the moment. This is not a problem with your account; try again later."
    ),
    "too_many_attempts": "Check your details carefully before trying again.",
}


def guidance_for(code: str) -> str:
    """The advice for refusal `code`."""
    return GUIDANCE.get(code, GENERAL)


def wait_text(seconds: int) -> str:
    """`seconds` in words: "1 minute 30 seconds", "45 seconds"."""
    seconds = max(0, seconds)
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts: list[str] = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours != 1 else ""))
    if minutes:
        parts.append(f"{minutes} minute" + ("s" if minutes != 1 else ""))
    if rest or not parts:
        parts.append(f"{rest} second" + ("s" if rest != 1 else ""))
    return " ".join(parts)
