"""Rule 1: who is an authorised user right now, and what is missing when they are not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cpserver.store.models import User


@dataclass(frozen=True)
class Problem:
    """One unmet condition, with its stable API code and what the user should do."""

    code: str
    message: str


def crb_expiry(checked_on: dt.date, valid_years: int) -> dt.date:
    """The day an enhanced criminal records check stops counting (its anniversary)."""
    try:
        return checked_on.replace(year=checked_on.year + valid_years)
    except ValueError:  # 29 February
        return checked_on.replace(year=checked_on.year + valid_years, day=28)


def accreditation_problems(user: User, *, today: dt.date, crb_valid_years: int) -> list[Problem]:
    """Everything that stops `user` using ContactPoint today, most fundamental first."""
    problems: list[Problem] = []
    if user.suspended:
        problems.append(Problem("account_suspended", "Your account is suspended."))
    if not user.organisation.accredited:
        problems.append(
            Problem(
                "organisation_not_accredited",
                "Your organisation is not accredited to use ContactPoint.",
            )
        )
    if user.crb_checked_on is None:
        problems.append(
            Problem("crb_check_missing", "No enhanced criminal records check is recorded for you.")
        )
    elif crb_expiry(user.crb_checked_on, crb_valid_years) <= today:
        problems.append(
            Problem(
                "crb_check_expired",
                f"Your enhanced criminal records check is more than {crb_valid_years} years old "
                "and must be renewed.",
            )
        )
    if not user.training_completed:
        problems.append(
            Problem("training_incomplete", "You have not completed the mandatory ContactPoint training.")
        )
    if not user.procedures_received:
        problems.append(
            Problem(
                "procedures_not_received",
                "You have not been given the ContactPoint security operating procedures.",
            )
        )
    if not user.agreement_signed:
        problems.append(
            Problem("agreement_unsigned", "You have not signed the ContactPoint end-user agreement.")
        )
    return problems


def whom_to_contact(user: User) -> str:
    """The sentence that tells a refused user whom to contact."""
    la = user.local_authority
    if la is not None:
        return f"Contact {la.cmt_name} on {la.cmt_telephone} or {la.cmt_email}."
    return "Contact the national ContactPoint team."
