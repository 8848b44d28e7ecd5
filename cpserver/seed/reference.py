"""Reference data: local authorities, organisations, education settings, GP practices, staff accounts.

Written once, before any child, in one transaction; returns the `Reference` (ids and small pools:
streets, practitioners) the child stream draws on. The training seed's demo accounts are written here
too, from the training contract. Every name and place comes from the invented lists in
`cpserver/seed_data/`, every postcode is in the non-existent `ZZ` area and every telephone number in
Ofcom's ranges reserved for drama.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.orm import Session

from cpserver.domain.names import normalise_name
from cpserver.domain.passwords import hash_password
from cpserver.domain.retention import years_before
from cpserver.domain.service_types import SERVICE_TYPES
from cpserver.seed.staff import accredited_user
from cpserver.seed.training_contract import (
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    DEMO_USERS,
    NATIONAL_ORGANISATION,
    UNACCREDITED_ORGANISATION,
)
from cpserver.store import models

MAX_AGE_YEARS = 19

_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True)
class ServiceProfile:
    """Who provides a service and to which ages: the organisation kind, job titles, weight."""

    organisation: str
    roles: tuple[str, ...]
    min_age: int = 0
    max_age: int = MAX_AGE_YEARS
    weight: float = 1.0


SERVICE_PROFILES: Final[dict[str, ServiceProfile]] = {
    "education_support": ServiceProfile(
        "schools", ("SEN coordinator", "Learning support teacher", "Educational psychologist"), 3, 19, 10
    ),
    "education_welfare": ServiceProfile("council", ("Education welfare officer",), 5, 16, 4),
    "health_visitor": ServiceProfile("health", ("Health visitor",), 0, 4, 12),
    "school_nursing": ServiceProfile("health", ("School nurse",), 5, 19, 8),
    "social_care": ServiceProfile(
        "council", ("Social worker", "Senior social worker", "Family placement worker"), 0, 19, 10
    ),
    "youth_offending": ServiceProfile(
        "yot", ("Youth offending team officer", "Youth justice worker"), 10, 19, 3
    ),
    "family_support": ServiceProfile(
        "council", ("Family support worker", "Parenting practitioner", "Children's centre worker"), 0, 19, 10
    ),
    "connexions": ServiceProfile("connexions", ("Connexions personal adviser",), 13, 19, 5),
    "speech_language": ServiceProfile("health", ("Speech and language therapist",), 1, 12, 6),
    "housing_support": ServiceProfile("housing", ("Housing support officer",), 0, 19, 3),
    "sexual_health": ServiceProfile(
        "health", ("Sexual health nurse", "Young people's sexual health worker"), 13, 19, 1.5
    ),
    "mental_health": ServiceProfile("camhs", ("CAMHS clinician", "Child psychotherapist"), 4, 19, 2),
    "substance_misuse": ServiceProfile("substance", ("Substance misuse worker",), 12, 19, 1),
}
DEFAULT_PROFILE = ServiceProfile("council", ("Practitioner",))

# Organisation kinds per authority: (kind, name pattern, e-mail domain pattern).
_ORGANISATION_KINDS: Final = (
    ("council", "{la} Council Children's Services", "{slug}.example"),
    ("health", "{la} Community Health Services", "{slug}-health.example"),
    ("camhs", "{la} Child and Adolescent Mental Health Service", "{slug}-health.example"),
    ("schools", "{la} Schools and Learning", "{slug}.example"),
    ("yot", "{la} Youth Offending Team", "{slug}.example"),
    ("connexions", "{la} Connexions", "{slug}.example"),
    ("housing", "{la} Council Housing Services", "{slug}.example"),
    ("substance", "{la} Young People's Substance Misuse Service", "{slug}-health.example"),
)

# Education settings: kind, usual starting age, share of an authority's settings, name endings.
SETTING_KINDS: Final = (
    ("nursery", 1, 0.10, ("Day Nursery", "Pre-school", "Nursery School")),
    ("primary", 4, 0.70, ("Primary School", "Community Primary School", "Church of England Primary School")),
    ("secondary", 11, 0.15, ("Academy", "High School", "School")),
    ("college", 16, 0.05, ("College", "Sixth Form College")),
)
_CHILDREN_PER_SETTING = 350
_CHILDREN_PER_GP = 1700
_CHILDREN_PER_PRACTITIONER = 2500

# --- the lists -----------------------------------------------------------------------------------


def read_list(name: str) -> list[str]:
    content = resources.files("cpserver.seed_data").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in content.splitlines() if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class Authority:
    """A local authority from `authorities.txt`, with its invented towns."""

    code: str
    name: str
    towns: tuple[str, ...]

    @property
    def slug(self) -> str:
        return normalise_name(self.name.replace(" ", "-")) or "authority"


def _authorities() -> list[Authority]:
    found = []
    for line in read_list("authorities.txt"):
        code, name, towns = line.split("|")
        found.append(Authority(code, name, tuple(town.strip() for town in towns.split(","))))
    return found


# --- small helpers -------------------------------------------------------------------------------


def landline(rng: random.Random) -> str:
    # 01632 960xxx: Ofcom's range for drama, never a real line.
    return f"01632 960{int(rng.random() * 1000):03d}"


def _email_local(given: str, family: str) -> str:
    return f"{normalise_name(given)}.{normalise_name(family)}"


@dataclass(frozen=True)
class Practitioner:
    """Who an involvement names: an invented practitioner from a pool, or a demo account (`user_id`)."""

    name: str
    role: str
    organisation: str
    telephone: str
    email: str
    user_id: int | None = None


@dataclass
class Reference:
    """Ids and pools the child stream draws on; built once, small."""

    authorities: list[Authority]
    # per authority: organisation kind -> (id, name, domain)
    organisations: list[dict[str, tuple[int, str, str]]]
    # per authority: setting kind -> ids
    settings: list[dict[str, list[int]]]
    gps: list[list[int]]
    # per authority, per town: street names
    streets: list[list[list[str]]]
    # (authority index, service code) -> practitioners
    practitioners: dict[tuple[int, str], list[Practitioner]]
    users: dict[str, Practitioner] = field(default_factory=dict)
    user_count: int = 0


# --- writing it ----------------------------------------------------------------------------------


def write_reference(
    session: Session, *, children: int, training: bool, random_seed: int, today: dt.date
) -> Reference:
    rng = random.Random(f"{random_seed}:reference")  # noqa: S311 - fictitious data, not secrets
    authorities = _authorities()
    street_stems = read_list("street_stems.txt")
    street_types = read_list("street_types.txt")
    given = read_list("given_female.txt") + read_list("given_male.txt")
    family = read_list("family_common.txt")
    per_authority = max(1, children // len(authorities))

    session.execute(
        insert(models.LocalAuthority),
        [
            {
                "id": index + 1,
                "code": authority.code,
                "name": authority.name,
                "cmt_name": f"{authority.name} ContactPoint Management Team",
                "cmt_telephone": landline(rng),
                "cmt_email": f"contactpoint@{authority.slug}.example",
            }
            for index, authority in enumerate(authorities)
        ],
    )

    organisation_rows: list[dict[str, Any]] = []
    organisations: list[dict[str, tuple[int, str, str]]] = []
    for index, authority in enumerate(authorities):
        kinds: dict[str, tuple[int, str, str]] = {}
        for kind, pattern, domain in _ORGANISATION_KINDS:
            org_id = len(organisation_rows) + 1
            name = pattern.format(la=authority.name)
            kinds[kind] = (org_id, name, domain.format(slug=authority.slug))
            organisation_rows.append(
                {
                    "id": org_id,
                    "name": name,
                    "local_authority_id": index + 1,
                    "accredited": True,
                    "accredited_on": today - dt.timedelta(days=rng.randrange(200, 900)),
                }
            )
        organisations.append(kinds)
    national_id = len(organisation_rows) + 1
    organisation_rows.append(
        {
            "id": national_id,
            "name": NATIONAL_ORGANISATION,
            "local_authority_id": None,
            "accredited": True,
            "accredited_on": today - dt.timedelta(days=900),
        }
    )
    unaccredited_id = len(organisation_rows) + 1
    organisation_rows.append(
        {
            "id": unaccredited_id,
            "name": UNACCREDITED_ORGANISATION,
            "local_authority_id": 1,
            "accredited": False,
            "accredited_on": None,
        }
    )
    session.execute(insert(models.Organisation), organisation_rows)

    streets = [
        [
            [
                f"{stem} {kind}"
                for stem, kind in zip(
                    rng.sample(street_stems, 30), rng.choices(street_types, k=30), strict=True
                )
            ]
            for _town in authority.towns
        ]
        for authority in authorities
    ]

    setting_rows: list[dict[str, Any]] = []
    settings: list[dict[str, list[int]]] = []
    settings_per_authority = max(6, per_authority // _CHILDREN_PER_SETTING)
    for index, authority in enumerate(authorities):
        used: set[str] = set()
        by_kind: dict[str, list[int]] = {}
        for kind, _start_age, share, endings in SETTING_KINDS:
            ids: list[int] = []
            for _ in range(max(1, round(settings_per_authority * share))):
                town_index = rng.randrange(len(authority.towns))
                town = authority.towns[town_index]
                street = rng.choice(streets[index][town_index])
                stem = rng.choice(street_stems)
                name = f"{stem} {rng.choice(endings)}"
                if kind == "college":
                    name = f"{town} {rng.choice(endings)}"
                serial = 2
                base = name
                while name in used:
                    name = f"{town} {base}" if serial == 2 else f"{base} ({serial})"
                    serial += 1
                used.add(name)
                setting_id = len(setting_rows) + 1
                setting_rows.append(
                    {
                        "id": setting_id,
                        # A fictitious URN (real ones are 6 digits from 100000): how feeds name it.
                        "code": setting_code(setting_id),
                        "name": name,
                        "address": f"{rng.randrange(1, 120)} {street}, {town}",
                        "postcode": fictitious_postcode(rng, index, town_index),
                        "telephone": landline(rng),
                        "local_authority_id": index + 1,
                    }
                )
                ids.append(setting_id)
            by_kind[kind] = ids
        settings.append(by_kind)
    session.execute(insert(models.EducationSetting), setting_rows)

    gp_rows: list[dict[str, Any]] = []
    gps: list[list[int]] = []
    for index, authority in enumerate(authorities):
        ids = []
        for _ in range(max(2, per_authority // _CHILDREN_PER_GP)):
            town_index = rng.randrange(len(authority.towns))
            town = authority.towns[town_index]
            street = rng.choice(streets[index][town_index])
            name = rng.choice(
                (f"{street} Surgery", f"{town} Health Centre", f"{rng.choice(street_stems)} Medical Practice")
            )
            gp_id = len(gp_rows) + 1
            gp_rows.append(
                {
                    "id": gp_id,
                    "code": gp_code(gp_id),
                    "name": name,
                    "address": f"{rng.randrange(1, 200)} {street}, {town}",
                    "postcode": fictitious_postcode(rng, index, town_index),
                    "telephone": landline(rng),
                }
            )
            ids.append(gp_id)
        gps.append(ids)
    session.execute(insert(models.GpPractice), gp_rows)

    practitioners: dict[tuple[int, str], list[Practitioner]] = {}
    pool_size = max(3, per_authority // _CHILDREN_PER_PRACTITIONER // len(SERVICE_TYPES))
    for index in range(len(authorities)):
        for service in SERVICE_TYPES:
            profile = SERVICE_PROFILES.get(service.code, DEFAULT_PROFILE)
            _org_id, org_name, domain = organisations[index][profile.organisation]
            pool = []
            for _ in range(pool_size):
                first, last = rng.choice(given), rng.choice(family)
                pool.append(
                    Practitioner(
                        name=f"{first} {last}",
                        role=rng.choice(profile.roles),
                        organisation=org_name,
                        telephone=landline(rng),
                        email=f"{_email_local(first, last)}@{domain}",
                    )
                )
            practitioners[(index, service.code)] = pool

    reference = Reference(authorities, organisations, settings, gps, streets, practitioners)
    if training:
        _write_demo_users(
            session, reference, national_id=national_id, unaccredited_id=unaccredited_id, today=today
        )
    return reference


def setting_code(setting_id: int) -> str:
    """The seeded education setting's reference (a URN-like number starting with 9: invented)."""
    return f"9{setting_id:06d}"


def gp_code(gp_id: int) -> str:
    """The seeded GP practice's code (ODS-like, in a Z range no real practice uses)."""
    return f"Z{gp_id:05d}"


def fictitious_postcode(rng: random.Random, authority_index: int, town_index: int) -> str:
    # Outward codes ZZ1 to ZZ60, one district per invented town: the ZZ area does not exist.
    letters = _POSTCODE_LETTERS
    return (
        f"ZZ{authority_index * 6 + town_index + 1} "
        f"{int(rng.random() * 10)}{letters[int(rng.random() * 20)]}{letters[int(rng.random() * 20)]}"
    )


def _write_demo_users(
    session: Session, reference: Reference, *, national_id: int, unaccredited_id: int, today: dt.date
) -> None:
    # Argon2 is slow by design: hash the shared demo password once.
    password_hash = hash_password(DEMO_PASSWORD)
    created_at = dt.datetime.combine(today - dt.timedelta(days=30), dt.time(9, 0), tzinfo=dt.UTC)
    accounts: list[models.User] = []
    for number, demo in enumerate(DEMO_USERS, start=1):
        if demo.organisation == "national":
            org_id, org_name, domain = national_id, NATIONAL_ORGANISATION, "contactpoint.example"
        elif demo.organisation == "unaccredited":
            org_id, org_name, domain = unaccredited_id, UNACCREDITED_ORGANISATION, "unaccredited-test.example"
        else:
            assert demo.authority is not None
            org_id, org_name, domain = reference.organisations[demo.authority][demo.organisation]
        email = f"{_email_local(demo.given, demo.family)}@{domain}"
        telephone = f"01632 960{900 + number:03d}"
        account = accredited_user(
            username=demo.username,
            role=demo.role,
            organisation_id=org_id,
            local_authority_id=None if demo.authority is None else demo.authority + 1,
            password_hash=password_hash,
            totp_secret=DEMO_TOTP_SECRET,
            crb_checked_on=years_before(today, demo.crb_years_ago) - dt.timedelta(days=20),
            given_name=demo.given,
            family_name=demo.family,
            job_title=demo.job_title,
            telephone=telephone,
            email=email,
            home_postcode=f"ZZ{number} 1AA",
            manager_name="Morgan Fairweather",
            manager_email=f"morgan.fairweather@{domain}",
            training_completed=demo.training_completed,
            procedures_received=demo.procedures_received,
            agreement_signed=demo.agreement_signed,
            suspended=demo.suspended,
            suspended_reason=(
                "Suspended for training: shows what a suspended user sees." if demo.suspended else ""
            ),
            may_override_shield=demo.may_override_shield,
        )
        account.id, account.created_at = number, created_at
        accounts.append(account)
        practitioner = Practitioner(
            name=f"{demo.given} {demo.family}",
            role=demo.job_title,
            organisation=org_name,
            telephone=telephone,
            email=email,
            user_id=number,
        )
        reference.users[demo.username] = practitioner
        if demo.service is not None and demo.authority is not None:
            pool = reference.practitioners[(demo.authority, demo.service)]
            pool[0] = practitioner
    session.add_all(accounts)
    session.flush()
    reference.user_count = len(accounts)
