"""The fixed list of reasons for opening a record (rule 3); the server owns it."""

from __future__ import annotations

from dataclasses import dataclass

OTHER = "other"
MIN_OTHER_TEXT = 10
MAX_REASON_TEXT = 500


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    needs_text: bool = False


REASONS: tuple[Reason, ...] = (
    Reason("providing_service", "Providing or arranging a service for this child"),
    Reason("who_else_involved", "Finding out who else is working with this child"),
    Reason("safeguarding", "Safeguarding or child protection enquiry"),
    Reason("recording_involvement", "Recording or updating my involvement"),
    Reason("continuity_after_move", "Continuity of service after a move"),
    Reason("missing_education", "Children missing education enquiry"),
    Reason("serious_case_review", "Serious case review or statutory enquiry"),
    Reason(OTHER, "Other (explain)", needs_text=True),
)
BY_CODE = {reason.code: reason for reason in REASONS}

# Rule 9: an archived record is opened only by the national team, for an investigation, explained.
INVESTIGATION = "investigation"
ARCHIVE_REASON = Reason(INVESTIGATION, "Investigation (opening an archived record)", needs_text=True)
# Reasons only some roles may give, on top of the list everyone has.
ROLE_REASONS: dict[str, tuple[Reason, ...]] = {"national": (ARCHIVE_REASON,)}


def reasons_for(role: str) -> tuple[Reason, ...]:
    """The reasons a user of `role` may give."""
    return REASONS + ROLE_REASONS.get(role, ())


class ReasonProblem(ValueError):
    """The stated reason is not acceptable; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_reason(code: str | None, text: str | None, role: str = "") -> tuple[str, str | None]:
    """The reason code and cleaned explanation, or `ReasonProblem` saying what to fix.

    A reason of another role (`investigation` from anyone but the national team) is unknown.
    """
    if not code:
        raise ReasonProblem("reason_required", "Choose a reason for opening this record.")
    reason = {r.code: r for r in reasons_for(role)}.get(code)
    if reason is None:
        raise ReasonProblem("reason_unknown", "Choose a reason from the list.")
    cleaned = " ".join((text or "").split()) or None
    if cleaned is not None and len(cleaned) > MAX_REASON_TEXT:
        raise ReasonProblem(
            "reason_text_too_long", f"Keep the explanation to {MAX_REASON_TEXT} characters or fewer."
        )
    if reason.needs_text and (cleaned is None or len(cleaned) < MIN_OTHER_TEXT):
        raise ReasonProblem(
            "reason_text_required",
            f"Explain why you need this record (at least {MIN_OTHER_TEXT} characters).",
        )
    return reason.code, cleaned
