"""`accredited_user`: a fictitious staff account that passes every accreditation check unless told not to.

The one builder of a hand-made `User`: the training seed's demo accounts, the server tests' small
world (`tests/server/world.py`) and the benchmark's own practitioner (`bench/server.py`) all make
theirs here, so a new column or accreditation check is added in one place. The defaults are
fictitious (a drama-range telephone number, `.example` addresses, the non-existent `ZZ` postcode area).
"""

from __future__ import annotations

import datetime as dt

from cpserver.store.models import User


def accredited_user(
    *,
    username: str,
    role: str,
    organisation_id: int,
    local_authority_id: int | None,
    password_hash: str,
    totp_secret: str,
    crb_checked_on: dt.date | None,
    given_name: str,
    family_name: str,
    job_title: str = "Family support worker",
    telephone: str = "01632 960555",
    email: str = "",
    home_postcode: str = "ZZ5 5ZZ",
    manager_name: str = "A Manager",
    manager_email: str = "manager@staff.example",
    training_completed: bool = True,
    procedures_received: bool = True,
    agreement_signed: bool = True,
    suspended: bool = False,
    suspended_reason: str = "",
    may_override_shield: bool = False,
) -> User:
    """A new, unsaved user (the caller adds it to a session); `email` defaults to `username@staff.example`.

    Every accreditation check of the person passes unless an argument says otherwise; whether the
    criminal records check is in date depends on `crb_checked_on` and the day of the login.
    """
    return User(
        username=username,
        password_hash=password_hash,
        totp_secret=totp_secret,
        totp_last_step=0,
        role=role,
        given_name=given_name,
        family_name=family_name,
        job_title=job_title,
        telephone=telephone,
        email=email or f"{username}@staff.example",
        home_postcode=home_postcode,
        organisation_id=organisation_id,
        local_authority_id=local_authority_id,
        manager_name=manager_name,
        manager_email=manager_email,
        crb_checked_on=crb_checked_on,
        training_completed=training_completed,
        procedures_received=procedures_received,
        agreement_signed=agreement_signed,
        suspended=suspended,
        suspended_reason=suspended_reason,
        may_override_shield=may_override_shield,
    )
