"""Deterministic fictitious data: authorities, settings, children, carers, involvements, demo accounts.

Every name, street, town and postcode is invented (postcodes are in the non-existent `ZZ` area and
telephone numbers are in Ofcom's ranges reserved for drama), so nothing seeded can describe a real
child. The same arguments (including `today`) always write the same rows.

Children are generated as a stream (in a thread, while the previous batch is written) and written in
batches, one transaction per batch, so memory stays bounded however many children are asked for.
PostgreSQL takes them through `COPY`, SQLite through `executemany` on the driver: both measured about
twice as fast as Core inserts with per-row dictionaries. During the load the search indexes are dropped
and foreign keys are checked once at the end rather than per row (`_BulkLoad`), which roughly halves
the time again at a million children. If seeding fails part-way, the database is left part-seeded:
start again with a new database.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import random
import threading
import time
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import accumulate
from typing import Any, Final

from sqlalchemy import Engine, bindparam, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.passwords import hash_password
from cpserver.domain.service_types import SERVICE_TYPES
from cpserver.seed_notices import NOTICE_SCENARIO_NOTE, plant_notice_scenarios
from cpserver.store import models
from cpserver.store.system import set_mode

# --- what trainers and tests rely on -------------------------------------------------------------

DEMO_PASSWORD: Final = "training-only"  # noqa: S105 - training databases only, by design
DEMO_TOTP_SECRET: Final = "JBSWY3DPEHPK3PXP"  # noqa: S105 - training databases only, by design
NATIONAL_ORGANISATION: Final = "National ContactPoint Team"
UNACCREDITED_ORGANISATION: Final = "Unaccredited Test Org"
SHIELD_GROUNDS: Final = ("significant_harm", "adoption_placement", "adult_at_risk", "serious_crime")

# Children named Smith planted in a training database within the "common_name" range.
_COMMON_NAME_CHILDREN: Final = 60

# Named example searches for trainers (training databases only). Each value holds search criteria in
# the shape of `POST /api/v1/searches`; TRAINING_SCENARIO_NOTES says what each one demonstrates. All the
# planted children live in the first authority (Northmere), the demo accounts' authority.
TRAINING_SCENARIOS: Final[dict[str, dict[str, str]]] = {
    "ordinary": {"family": "Thistlewood", "date_of_birth": "2015-09-02"},
    "phonetic": {"family": "Thistlewud", "date_of_birth": "2015-09-02"},
    "postcode": {"given": "Oliver", "family": "Thistlewood", "postcode": "ZZ1 4QT"},
    "shielded": {"family": "Wrenfield", "date_of_birth": "2016-05-14"},
    "shielded_postcode": {"given": "Skye", "family": "Wrenfield", "postcode": "ZZ3 2NX"},
    "sensitive": {"family": "Brackenbury", "date_of_birth": "2012-06-30"},
    "missing_education": {"family": "Ellerby", "date_of_birth": "2013-02-07"},
    "common_name": {"family": "Smith", "date_of_birth_from": "2012-01-01", "date_of_birth_to": "2013-12-31"},
    "notices": {"family": "Thistlewood", "date_of_birth": "2015-09-02"},
}
TRAINING_SCENARIO_NOTES: Final[dict[str, str]] = {
    "ordinary": "Oliver Thistlewood: an ordinary record; demo.practitioner is his lead professional.",
    "phonetic": "A misspelt family name that sounds the same still finds Oliver Thistlewood.",
    "postcode": "Given name, family name and postcode find Oliver Thistlewood without a date of birth.",
    "shielded": "Skye Wrenfield: a shielded record; practitioners see only the management team's contact.",
    "shielded_postcode": "Skye Wrenfield's name with her postcode finds nothing: shielded children are "
    "never matched on a hidden field.",
    "sensitive": "Maya Brackenbury: a sensitive involvement (recorded by demo.schoolnurse) is hidden from "
    "other practitioners and shown to the management team.",
    "missing_education": "Tom Ellerby: no education setting, so he is on Northmere's children-missing-"
    "education report.",
    "common_name": "A common name over two years: more than a page of matches (at least "
    f"{_COMMON_NAME_CHILDREN} are planted), so the search asks for more detail.",
    "notices": NOTICE_SCENARIO_NOTE,
}

BATCH_SIZE: Final = 20_000


@dataclass(frozen=True)
class SeedSummary:
    """What `seed_database` wrote, for the CLI to report."""

    children: int
    shielded: int
    without_education: int
    past_18: int
    users: int
    seconds: float


# --- proportions ---------------------------------------------------------------------------------

_SHIELDED_SHARE = 0.005
_NO_EDUCATION_SHARE = 0.02
_CONSENT_TO_25_SHARE = 0.01
_NOT_SPECIFIED_GENDER_SHARE = 0.005
_GP_SHARE = 0.95
_MAX_AGE_YEARS = 19
_HOUSEHOLD_SIZES = (1, 2, 3, 4)
_HOUSEHOLD_SIZE_WEIGHTS = (55, 30, 12, 3)
_INVOLVEMENT_COUNTS = (0, 1, 2, 3)
_INVOLVEMENT_COUNT_WEIGHTS = (45, 30, 17, 8)
_AUTHORITY_WEIGHTS = (14, 9, 11, 7, 12, 8, 10, 6, 13, 10)
_TOWN_WEIGHTS = (3, 2, 2, 1, 1, 1)
_SHIELD_GROUND_WEIGHTS = (55, 20, 15, 10)
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True)
class _ServiceProfile:
    """Who provides a service and to which ages: the organisation kind, job titles, weight."""

    organisation: str
    roles: tuple[str, ...]
    min_age: int = 0
    max_age: int = _MAX_AGE_YEARS
    weight: float = 1.0


_SERVICE_PROFILES: Final[dict[str, _ServiceProfile]] = {
    "education_support": _ServiceProfile(
        "schools", ("SEN coordinator", "Learning support teacher", "Educational psychologist"), 3, 19, 10
    ),
    "education_welfare": _ServiceProfile("council", ("Education welfare officer",), 5, 16, 4),
    "health_visitor": _ServiceProfile("health", ("Health visitor",), 0, 4, 12),
    "school_nursing": _ServiceProfile("health", ("School nurse",), 5, 19, 8),
    "social_care": _ServiceProfile(
        "council", ("Social worker", "Senior social worker", "Family placement worker"), 0, 19, 10
    ),
    "youth_offending": _ServiceProfile(
        "yot", ("Youth offending team officer", "Youth justice worker"), 10, 19, 3
    ),
    "family_support": _ServiceProfile(
        "council", ("Family support worker", "Parenting practitioner", "Children's centre worker"), 0, 19, 10
    ),
    "connexions": _ServiceProfile("connexions", ("Connexions personal adviser",), 13, 19, 5),
    "speech_language": _ServiceProfile("health", ("Speech and language therapist",), 1, 12, 6),
    "housing_support": _ServiceProfile("housing", ("Housing support officer",), 0, 19, 3),
    "sexual_health": _ServiceProfile(
        "health", ("Sexual health nurse", "Young people's sexual health worker"), 13, 19, 1.5
    ),
    "mental_health": _ServiceProfile("camhs", ("CAMHS clinician", "Child psychotherapist"), 4, 19, 2),
    "substance_misuse": _ServiceProfile("substance", ("Substance misuse worker",), 12, 19, 1),
}
_DEFAULT_PROFILE = _ServiceProfile("council", ("Practitioner",))

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
_SETTING_KINDS: Final = (
    ("nursery", 1, 0.10, ("Day Nursery", "Pre-school", "Nursery School")),
    ("primary", 4, 0.70, ("Primary School", "Community Primary School", "Church of England Primary School")),
    ("secondary", 11, 0.15, ("Academy", "High School", "School")),
    ("college", 16, 0.05, ("College", "Sixth Form College")),
)
_CHILDREN_PER_SETTING = 350
_CHILDREN_PER_GP = 1700
_CHILDREN_PER_PRACTITIONER = 2500

_RELATIONSHIPS_PRIMARY: Final = (
    # relationship, shares the child's family name, parental responsibility, gender, weight
    ("Mother", True, True, "female", 62),
    ("Father", True, True, "male", 12),
    ("Grandmother", True, False, "female", 6),
    ("Foster carer", False, False, "female", 5),
    ("Special guardian", False, True, "female", 3),
    ("Adoptive mother", True, True, "female", 2),
    ("Aunt", False, False, "female", 3),
    ("Mother", False, True, "female", 7),
)


# --- the lists -----------------------------------------------------------------------------------


def _read_list(name: str) -> list[str]:
    content = resources.files("cpserver.seed_data").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in content.splitlines() if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class _Authority:
    code: str
    name: str
    towns: tuple[str, ...]

    @property
    def slug(self) -> str:
        return normalise_name(self.name.replace(" ", "-")) or "authority"


def _authorities() -> list[_Authority]:
    found = []
    for line in _read_list("authorities.txt"):
        code, name, towns = line.split("|")
        found.append(_Authority(code, name, tuple(town.strip() for town in towns.split(","))))
    return found


# --- small helpers -------------------------------------------------------------------------------


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _landline(rng: random.Random) -> str:
    # 01632 960xxx: Ofcom's range for drama, never a real line.
    return f"01632 960{int(rng.random() * 1000):03d}"


def _mobile(rng: random.Random) -> str:
    # 07700 900xxx: Ofcom's mobile range for drama.
    return f"07700 900{int(rng.random() * 1000):03d}"


def _email_local(given: str, family: str) -> str:
    return f"{normalise_name(given)}.{normalise_name(family)}"


@dataclass(frozen=True)
class _Practitioner:
    name: str
    role: str
    organisation: str
    telephone: str
    email: str
    user_id: int | None = None


@dataclass
class _Reference:
    """Ids and pools the child stream draws on; built once, small."""

    authorities: list[_Authority]
    # per authority: organisation kind -> (id, name, domain)
    organisations: list[dict[str, tuple[int, str, str]]]
    # per authority: setting kind -> ids
    settings: list[dict[str, list[int]]]
    gps: list[list[int]]
    # per authority, per town: street names
    streets: list[list[list[str]]]
    # (authority index, service code) -> practitioners
    practitioners: dict[tuple[int, str], list[_Practitioner]]
    users: dict[str, _Practitioner] = field(default_factory=dict)
    user_count: int = 0


# --- the columns the stream writes, in order ---------------------------------------------------

_CHILD_COLUMNS: Final = (
    "id",
    "cp_id",
    "given_name",
    "middle_names",
    "family_name",
    "former_names",
    "family_norm",
    "family_key",
    "given_norm",
    "given_key",
    "gender",
    "date_of_birth",
    "address_status",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "postcode_norm",
    "telephone",
    "left_england",
    "consent_to_25",
    "local_authority_id",
    "education_setting_id",
    "education_start_date",
    "gp_practice_id",
    "shielded",
    "shield_ground",
    "shield_review_date",
    "archived_at",
)
_CARER_COLUMNS: Final = (
    "id",
    "child_id",
    "given_name",
    "family_name",
    "relationship_to_child",
    "parental_responsibility",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "telephone",
)
_INVOLVEMENT_COLUMNS: Final = (
    "id",
    "child_id",
    "practitioner_user_id",
    "practitioner_name",
    "practitioner_role",
    "organisation_name",
    "telephone",
    "email",
    "service_type",
    "sensitive",
    "consent_recorded",
    "started_on",
    "ended_on",
    "lead_professional",
    "assessment_completed",
)

# Rows hold database-ready values: dates as ISO text, booleans as 0/1, JSON as text. SQLite stores them
# exactly as SQLAlchemy would; PostgreSQL's COPY parses them into its own types.
Row = tuple[Any, ...]


@dataclass
class _Batch:
    # Children generated so far, this batch included (for progress reports).
    done: int = 0
    children: list[Row] = field(default_factory=list)
    carers: list[Row] = field(default_factory=list)
    involvements: list[Row] = field(default_factory=list)


@dataclass
class _Counts:
    children: int = 0
    shielded: int = 0
    without_education: int = 0
    past_18: int = 0


# --- the public entry point ----------------------------------------------------------------------


def seed_database(
    engine: Engine,
    *,
    children: int,
    training: bool,
    random_seed: int = 2009,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Fill a migrated, empty database with fictitious data and mark it training or live.

    Raises ValueError if the database already holds data, or `children` is negative, or the
    database is neither SQLite nor PostgreSQL.
    """
    if children < 0:
        raise ValueError("the number of children cannot be negative")
    if engine.dialect.name not in ("sqlite", "postgresql"):
        raise ValueError(f"seeding supports SQLite and PostgreSQL, not {engine.dialect.name}")
    started = time.perf_counter()
    today = today or dt.date.today()

    with Session(engine) as session, session.begin():
        _refuse_if_seeded(session)
        set_mode(session, "training" if training else "live")
        reference = _write_reference(
            session, children=children, training=training, random_seed=random_seed, today=today
        )

    counts = _Counts()
    stream = _ChildStream(reference, training=training, random_seed=random_seed, today=today)
    with engine.connect() as connection, _BulkLoad(connection):
        for batch in _in_background(stream.batches(children, counts)):
            with connection.begin():
                _write_rows(connection, "children", _CHILD_COLUMNS, batch.children)
                _write_rows(connection, "carers", _CARER_COLUMNS, batch.carers)
                _write_rows(connection, "involvements", _INVOLVEMENT_COLUMNS, batch.involvements)
            if progress is not None:
                progress(batch.done)
    if training:
        plant_notice_scenarios(engine, TRAINING_SCENARIOS, today)

    return SeedSummary(
        children=counts.children,
        shielded=counts.shielded,
        without_education=counts.without_education,
        past_18=counts.past_18,
        users=reference.user_count,
        seconds=time.perf_counter() - started,
    )


def _refuse_if_seeded(session: Session) -> None:
    for table in (models.LocalAuthority, models.Child, models.User):
        if session.scalar(select(table.id).limit(1)) is not None:
            raise ValueError(
                "this database already holds data; seed only a new, empty database "
                "(create a new database file or schema and migrate it first)"
            )


# --- reference data: authorities, organisations, settings, practices, users ---------------------


def _write_reference(
    session: Session, *, children: int, training: bool, random_seed: int, today: dt.date
) -> _Reference:
    rng = random.Random(f"{random_seed}:reference")  # noqa: S311 - fictitious data, not secrets
    authorities = _authorities()
    street_stems = _read_list("street_stems.txt")
    street_types = _read_list("street_types.txt")
    given = _read_list("given_female.txt") + _read_list("given_male.txt")
    family = _read_list("family_common.txt")
    per_authority = max(1, children // len(authorities))

    session.execute(
        insert(models.LocalAuthority),
        [
            {
                "id": index + 1,
                "code": authority.code,
                "name": authority.name,
                "cmt_name": f"{authority.name} ContactPoint Management Team",
                "cmt_telephone": _landline(rng),
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
        for kind, _start_age, share, endings in _SETTING_KINDS:
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
                        "name": name,
                        "address": f"{rng.randrange(1, 120)} {street}, {town}",
                        "postcode": _postcode(rng, index, town_index),
                        "telephone": _landline(rng),
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
                    "name": name,
                    "address": f"{rng.randrange(1, 200)} {street}, {town}",
                    "postcode": _postcode(rng, index, town_index),
                    "telephone": _landline(rng),
                }
            )
            ids.append(gp_id)
        gps.append(ids)
    session.execute(insert(models.GpPractice), gp_rows)

    practitioners: dict[tuple[int, str], list[_Practitioner]] = {}
    pool_size = max(3, per_authority // _CHILDREN_PER_PRACTITIONER // len(SERVICE_TYPES))
    for index in range(len(authorities)):
        for service in SERVICE_TYPES:
            profile = _SERVICE_PROFILES.get(service.code, _DEFAULT_PROFILE)
            _org_id, org_name, domain = organisations[index][profile.organisation]
            pool = []
            for _ in range(pool_size):
                first, last = rng.choice(given), rng.choice(family)
                pool.append(
                    _Practitioner(
                        name=f"{first} {last}",
                        role=rng.choice(profile.roles),
                        organisation=org_name,
                        telephone=_landline(rng),
                        email=f"{_email_local(first, last)}@{domain}",
                    )
                )
            practitioners[(index, service.code)] = pool

    reference = _Reference(authorities, organisations, settings, gps, streets, practitioners)
    if training:
        _write_demo_users(
            session, reference, national_id=national_id, unaccredited_id=unaccredited_id, today=today
        )
    return reference


def _postcode(rng: random.Random, authority_index: int, town_index: int) -> str:
    # Outward codes ZZ1 to ZZ60, one district per invented town: the ZZ area does not exist.
    letters = _POSTCODE_LETTERS
    return (
        f"ZZ{authority_index * 6 + town_index + 1} "
        f"{int(rng.random() * 10)}{letters[int(rng.random() * 20)]}{letters[int(rng.random() * 20)]}"
    )


@dataclass(frozen=True)
class _DemoUser:
    username: str
    role: str
    given: str
    family: str
    job_title: str
    authority: int | None  # index, None for national
    organisation: str  # organisation kind, "national" or "unaccredited"
    crb_years_ago: int = 1
    training_completed: bool = True
    procedures_received: bool = True
    agreement_signed: bool = True
    suspended: bool = False
    # Service whose practitioner pool (in its authority) this user joins, so seeded records name them.
    service: str | None = None
    # May override shielding in an emergency (the override raises an alert at once).
    may_override_shield: bool = False


_DEMO_USERS: Final = (
    _DemoUser(
        "demo.practitioner",
        "practitioner",
        "Sam",
        "Okafor",
        "Family support worker",
        0,
        "council",
        service="family_support",
    ),
    _DemoUser("demo.cmt", "cmt", "Jo", "Whitlock", "ContactPoint management team officer", 0, "council"),
    _DemoUser(
        "demo.national",
        "national",
        "Alex",
        "Morgan",
        "National ContactPoint service manager",
        None,
        "national",
    ),
    # A second national-team member: restoring access after a lockdown takes two people.
    _DemoUser(
        "demo.national2",
        "national",
        "Robin",
        "Achebe",
        "National ContactPoint security officer",
        None,
        "national",
    ),
    _DemoUser(
        "demo.healthvisitor",
        "practitioner",
        "Nadia",
        "Hussain",
        "Health visitor",
        0,
        "health",
        service="health_visitor",
    ),
    _DemoUser(
        "demo.schoolnurse",
        "practitioner",
        "Ruth",
        "Ellison",
        "School nurse",
        0,
        "health",
        service="school_nursing",
    ),
    _DemoUser(
        "demo.socialworker",
        "practitioner",
        "Daniel",
        "Price",
        "Social worker",
        0,
        "council",
        service="social_care",
    ),
    _DemoUser(
        "demo.othercouncil",
        "practitioner",
        "Priya",
        "Shah",
        "Family support worker",
        1,
        "council",
        service="family_support",
    ),
    _DemoUser(
        "demo.emergency",
        "practitioner",
        "Morgan",
        "Adeyemi",
        "Emergency duty social worker",
        0,
        "council",
        may_override_shield=True,
    ),
    _DemoUser(
        "demo.suspended",
        "practitioner",
        "Chris",
        "Lowe",
        "Family support worker",
        0,
        "council",
        suspended=True,
    ),
    _DemoUser(
        "demo.crbexpired",
        "practitioner",
        "Pat",
        "Gibson",
        "Education welfare officer",
        0,
        "council",
        crb_years_ago=4,
    ),
    _DemoUser(
        "demo.untrained",
        "practitioner",
        "Lee",
        "Harding",
        "Youth justice worker",
        0,
        "yot",
        training_completed=False,
    ),
    _DemoUser(
        "demo.noagreement",
        "practitioner",
        "Kim",
        "Barrett",
        "Connexions personal adviser",
        0,
        "connexions",
        agreement_signed=False,
    ),
    _DemoUser(
        "demo.noprocedures",
        "practitioner",
        "Robin",
        "Marsh",
        "Housing support officer",
        0,
        "housing",
        procedures_received=False,
    ),
    _DemoUser("demo.unaccredited", "practitioner", "Jordan", "Webb", "Volunteer mentor", 0, "unaccredited"),
)


# Every demo account (training only), and the login refusal (API error code) each refused one shows.
DEMO_ACCOUNTS: Final = tuple(demo.username for demo in _DEMO_USERS)
DEMO_REFUSALS: Final[dict[str, str]] = {
    "demo.suspended": "account_suspended",
    "demo.crbexpired": "crb_check_expired",
    "demo.untrained": "training_incomplete",
    "demo.noagreement": "agreement_unsigned",
    "demo.noprocedures": "procedures_not_received",
    "demo.unaccredited": "organisation_not_accredited",
}


def _write_demo_users(
    session: Session, reference: _Reference, *, national_id: int, unaccredited_id: int, today: dt.date
) -> None:
    # Argon2 is slow by design: hash the shared demo password once.
    password_hash = hash_password(DEMO_PASSWORD)
    created_at = dt.datetime.combine(today - dt.timedelta(days=30), dt.time(9, 0), tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = []
    for number, demo in enumerate(_DEMO_USERS, start=1):
        if demo.organisation == "national":
            org_id, org_name, domain = national_id, NATIONAL_ORGANISATION, "contactpoint.example"
        elif demo.organisation == "unaccredited":
            org_id, org_name, domain = unaccredited_id, UNACCREDITED_ORGANISATION, "unaccredited-test.example"
        else:
            assert demo.authority is not None
            org_id, org_name, domain = reference.organisations[demo.authority][demo.organisation]
        authority_id = None if demo.authority is None else demo.authority + 1
        email = f"{_email_local(demo.given, demo.family)}@{domain}"
        telephone = f"01632 960{900 + number:03d}"
        rows.append(
            {
                "id": number,
                "username": demo.username,
                "password_hash": password_hash,
                "totp_secret": DEMO_TOTP_SECRET,
                "totp_last_step": 0,
                "role": demo.role,
                "given_name": demo.given,
                "family_name": demo.family,
                "job_title": demo.job_title,
                "telephone": telephone,
                "email": email,
                "home_postcode": f"ZZ{number} 1AA",
                "organisation_id": org_id,
                "local_authority_id": authority_id,
                "manager_name": "Morgan Fairweather",
                "manager_email": f"morgan.fairweather@{domain}",
                "crb_checked_on": _years_before(today, demo.crb_years_ago) - dt.timedelta(days=20),
                "training_completed": demo.training_completed,
                "procedures_received": demo.procedures_received,
                "agreement_signed": demo.agreement_signed,
                "suspended": demo.suspended,
                "may_override_shield": demo.may_override_shield,
                "suspended_reason": (
                    "Suspended for training: shows what a suspended user sees." if demo.suspended else ""
                ),
                "created_at": created_at,
            }
        )
        practitioner = _Practitioner(
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
    session.execute(insert(models.User), rows)
    reference.user_count = len(rows)


# --- the child stream ----------------------------------------------------------------------------


class _NameKeys:
    """Normalised forms and Soundex codes, computed once per distinct name."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, str]] = {}

    def __call__(self, name: str) -> tuple[str, str]:
        found = self._cache.get(name)
        if found is None:
            found = (normalise_name(name), phonetic_key(name))
            if len(self._cache) < 1_000_000:
                self._cache[name] = found
        return found


@dataclass(frozen=True)
class _Carer:
    given: str
    family: str
    relationship: str
    parental_responsibility: int
    line1: str
    line2: str
    town: str
    postcode: str
    telephone: str


class _ChildStream:
    """Yields batches of child, carer and involvement rows, household by household."""

    def __init__(self, reference: _Reference, *, training: bool, random_seed: int, today: dt.date) -> None:
        self.reference = reference
        self.training = training
        self.today = today
        self.rng = random.Random(f"{random_seed}:children")  # noqa: S311 - fictitious data, not secrets
        self.random = self.rng.random
        self.keys = _NameKeys()
        self.female = _read_list("given_female.txt")
        self.male = _read_list("given_male.txt")
        self.neutral = _read_list("given_neutral.txt")
        self.common_family = _read_list("family_common.txt")
        self.family_cum = list(accumulate(1.0 / (rank + 8) for rank in range(len(self.common_family))))
        stems, endings = _read_list("family_stems.txt"), _read_list("family_endings.txt")
        self.invented_family = [stem + ending for stem in stems for ending in endings]
        self.authority_cum = list(accumulate(_AUTHORITY_WEIGHTS[: len(reference.authorities)]))
        self.town_cum = list(accumulate(_TOWN_WEIGHTS))
        self.relationship_cum = list(accumulate(weight for *_rest, weight in _RELATIONSHIPS_PRIMARY))
        self.shield_cum = list(accumulate(_SHIELD_GROUND_WEIGHTS))
        self.household_cum = list(accumulate(_HOUSEHOLD_SIZE_WEIGHTS))
        self.involvement_cum = list(accumulate(_INVOLVEMENT_COUNT_WEIGHTS))
        # Dates as ISO text by days before today (past) or after it (future), computed once.
        self.max_days = (today - _years_before(today, _MAX_AGE_YEARS)).days
        self.past = [(today - dt.timedelta(days=days)).isoformat() for days in range(self.max_days + 400)]
        self.future = [(today + dt.timedelta(days=days)).isoformat() for days in range(400)]
        self.eighteen_days = (today - _years_before(today, 18)).days
        self.age_years = self._age_table()
        # Services open to each age, with cumulative weights.
        self.services_by_age: list[tuple[list[str], list[float]]] = []
        for age in range(_MAX_AGE_YEARS + 1):
            codes = [
                s.code
                for s in SERVICE_TYPES
                if _SERVICE_PROFILES.get(s.code, _DEFAULT_PROFILE).min_age
                <= age
                <= _SERVICE_PROFILES.get(s.code, _DEFAULT_PROFILE).max_age
            ]
            weights = [_SERVICE_PROFILES.get(code, _DEFAULT_PROFILE).weight for code in codes]
            self.services_by_age.append((codes, list(accumulate(weights))))
        self.sensitive = {s.code for s in SERVICE_TYPES if s.sensitive}
        self.setting_ages = [(kind, start_age) for kind, start_age, _share, _endings in _SETTING_KINDS]
        self.reserved_postcodes = {
            criteria["postcode"] for criteria in TRAINING_SCENARIOS.values() if "postcode" in criteria
        }
        self.next_child = 1
        self.next_carer = 1
        self.next_involvement = 1
        self.cp_number = self.rng.randrange(1_000_000_000, 2_000_000_000)

    def _below(self, limit: int) -> int:
        """A whole number from 0 to limit - 1 (several times faster than `randrange`)."""
        return int(self.random() * limit)

    def _age_table(self) -> list[int]:
        """Age in whole years for each number of days before today."""
        ages = []
        birthdays = [
            (self.today - _years_before(self.today, years)).days for years in range(_MAX_AGE_YEARS + 2)
        ]
        years = 0
        for days in range(self.max_days + 1):
            while days >= birthdays[years + 1]:
                years += 1
            ages.append(years)
        return ages

    # -- batches

    def batches(self, total: int, counts: _Counts) -> Iterator[_Batch]:
        batch = _Batch()
        if self.training:
            for row_set in self._scenario_children(total):
                self._add(batch, counts, *row_set)
            common = TRAINING_SCENARIOS["common_name"]
            window = (
                (self.today - dt.date.fromisoformat(common["date_of_birth_to"])).days,
                (self.today - dt.date.fromisoformat(common["date_of_birth_from"])).days,
            )
            planted = 0
            while planted < _COMMON_NAME_CHILDREN and counts.children < total and window[0] >= 0:
                room = min(total - counts.children, _COMMON_NAME_CHILDREN - planted)
                for row_set in self._household(room, family=common["family"], born_days_ago=window):
                    self._add(batch, counts, *row_set)
                    planted += 1
        while counts.children < total:
            for child, carers, involvements in self._household(total - counts.children):
                self._add(batch, counts, child, carers, involvements)
            if len(batch.children) >= BATCH_SIZE:
                batch.done = counts.children
                yield batch
                batch = _Batch()
        if batch.children:
            batch.done = counts.children
            yield batch

    def _add(
        self, batch: _Batch, counts: _Counts, child: Row, carers: list[Row], involvements: list[Row]
    ) -> None:
        batch.children.append(child)
        batch.carers.extend(carers)
        batch.involvements.extend(involvements)
        counts.children += 1
        if child[25]:
            counts.shielded += 1
        if child[22] is None:
            counts.without_education += 1
        if child[11] <= self.past[self.eighteen_days]:
            counts.past_18 += 1

    def _new_cp_id(self) -> str:
        self.cp_number += 1 + self._below(399)
        return f"CP{self.cp_number:010d}"

    # -- households

    def _family_name(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.70:
            return self.common_family[bisect(self.family_cum, rng.random() * self.family_cum[-1])]
        if roll < 0.98:
            return self.invented_family[self._below(len(self.invented_family))]
        first = self.common_family[bisect(self.family_cum, rng.random() * self.family_cum[-1])]
        return f"{first}-{self.invented_family[self._below(len(self.invented_family))]}"

    def _address(self, authority: int) -> tuple[str, str, str, str]:
        rng = self.rng
        town_index = bisect(self.town_cum, rng.random() * self.town_cum[-1])
        town = self.reference.authorities[authority].towns[town_index]
        street_list = self.reference.streets[authority][town_index]
        street = street_list[self._below(len(street_list))]
        number = 1 + self._below(179)
        postcode = _postcode(rng, authority, town_index)
        while postcode in self.reserved_postcodes:
            postcode = _postcode(rng, authority, town_index)
        if rng.random() < 0.2:
            return f"Flat {1 + self._below(29)}", f"{number} {street}", town, postcode
        return f"{number} {street}", "", town, postcode

    def _telephone(self) -> str:
        roll = self.rng.random()
        if roll < 0.85:
            return _mobile(self.rng)
        if roll < 0.95:
            return _landline(self.rng)
        return ""

    def _carers(self, authority: int, family: str, address: tuple[str, str, str, str]) -> list[_Carer]:
        rng = self.rng
        relationship, same_name, responsibility, gender, _weight = _RELATIONSHIPS_PRIMARY[
            bisect(self.relationship_cum, rng.random() * self.relationship_cum[-1])
        ]
        names = self.female if gender == "female" else self.male
        carers = [
            _Carer(
                names[self._below(len(names))],
                family if same_name else self._family_name(),
                relationship,
                int(responsibility),
                *address,
                self._telephone(),
            )
        ]
        if relationship in ("Mother", "Father", "Adoptive mother") and rng.random() < 0.55:
            step = rng.random() < 0.2
            if relationship == "Father":
                other, other_names = ("Stepmother" if step else "Mother"), self.female
            else:
                other, other_names = ("Stepfather" if step else "Father"), self.male
            if relationship == "Adoptive mother":
                other = "Adoptive father"
            other_address = address if rng.random() < 0.75 else self._address(authority)
            carers.append(
                _Carer(
                    other_names[self._below(len(other_names))],
                    self._family_name() if step or rng.random() < 0.15 else family,
                    other,
                    0 if step else 1,
                    *other_address,
                    self._telephone(),
                )
            )
        return carers

    def _household(
        self, room: int, *, family: str | None = None, born_days_ago: tuple[int, int] | None = None
    ) -> Iterator[tuple[Row, list[Row], list[Row]]]:
        rng = self.rng
        authority = bisect(self.authority_cum, rng.random() * self.authority_cum[-1])
        family = family or self._family_name()
        address = self._address(authority)
        carers = self._carers(authority, family, address)
        roll = rng.random()
        if roll < 0.01:
            status, left = "none", 0
        elif roll < 0.03:
            status, left = "last_known", int(rng.random() < 0.2)
        else:
            status, left = "current", 0
        size = _HOUSEHOLD_SIZES[bisect(self.household_cum, rng.random() * self.household_cum[-1])]
        for _ in range(min(size, room)):
            yield self._child(
                authority, family, address, status, left=left, carers=carers, born_days_ago=born_days_ago
            )

    def _child(
        self,
        authority: int,
        family: str,
        address: tuple[str, str, str, str],
        status: str,
        *,
        left: int,
        carers: list[_Carer],
        born_days_ago: tuple[int, int] | None = None,
    ) -> tuple[Row, list[Row], list[Row]]:
        rng = self.rng
        random_ = rng.random
        roll = random_()
        if roll < _NOT_SPECIFIED_GENDER_SHARE:
            gender, names = "not_specified", self.neutral
        elif roll < 0.5 + _NOT_SPECIFIED_GENDER_SHARE / 2:
            gender, names = "female", self.female
        else:
            gender, names = "male", self.male
        given = names[self._below(len(names))]
        roll = random_()
        if roll < 0.65:
            middle = names[self._below(len(names))]
        elif roll < 0.75:
            middle = f"{names[self._below(len(names))]} {names[self._below(len(names))]}"
        else:
            middle = ""
        if random_() < 0.1 and born_days_ago is None:
            family = self._family_name()
        former: list[str] = []
        if random_() < 0.03:
            former.append(f"{given} {self._family_name()}")
        if born_days_ago is None:
            age_days = self._below(self.max_days + 1)
        else:
            earliest, latest = born_days_ago
            age_days = min(self.max_days, earliest + self._below(latest - earliest + 1))
        age = self.age_years[age_days]
        consent = int(age_days >= self.eighteen_days and random_() < _CONSENT_TO_25_SHARE)
        telephone = _mobile(rng) if age >= 11 and random_() < 0.35 else ""

        education_id: int | None = None
        education_start: str | None = None
        if random_() >= _NO_EDUCATION_SHARE:
            kind, start_age = self._setting_kind(age)
            options = self.reference.settings[authority][kind]
            education_id = options[self._below(len(options))]
            if random_() < 0.1:  # moved school recently
                before = self._below(min(age_days, 700) + 1)
            else:
                before = age_days - start_age * 365 - self._below(120)
                if before < 0:
                    before = self._below(age_days + 1)
            education_start = self.past[before]
        gp_id: int | None = None
        if random_() < _GP_SHARE:
            gps = self.reference.gps[authority]
            gp_id = gps[self._below(len(gps))]

        shielded = 0
        ground: str | None = None
        review: str | None = None
        if random_() < _SHIELDED_SHARE:
            shielded = 1
            ground = SHIELD_GROUNDS[bisect(self.shield_cum, random_() * self.shield_cum[-1])]
            review = self.future[30 + self._below(336)]

        child_id = self.next_child
        child = self._child_row(
            child_id=child_id,
            given=given,
            middle=middle,
            family=family,
            former=former,
            gender=gender,
            date_of_birth=self.past[age_days],
            status=status,
            address=address,
            telephone=telephone,
            left=left,
            consent=consent,
            authority=authority,
            education_id=education_id,
            education_start=education_start,
            gp_id=gp_id,
            shielded=shielded,
            ground=ground,
            review=review,
        )
        self.next_child += 1
        carer_rows = [self._carer_row(child_id, carer) for carer in carers]
        count = _INVOLVEMENT_COUNTS[bisect(self.involvement_cum, random_() * self.involvement_cum[-1])]
        involvement_rows = (
            self._random_involvements(child_id, authority, age, age_days, count) if count else []
        )
        return child, carer_rows, involvement_rows

    def _setting_kind(self, age: int) -> tuple[str, int]:
        if age < 4:
            return self.setting_ages[0]
        if age < 11:
            return self.setting_ages[1]
        if age < 16:
            return self.setting_ages[2]
        return self.setting_ages[3]

    def _child_row(
        self,
        *,
        child_id: int,
        given: str,
        middle: str,
        family: str,
        former: list[str],
        gender: str,
        date_of_birth: str,
        status: str,
        address: tuple[str, str, str, str],
        telephone: str,
        left: int,
        consent: int,
        authority: int,
        education_id: int | None,
        education_start: str | None,
        gp_id: int | None,
        shielded: int,
        ground: str | None,
        review: str | None,
    ) -> Row:
        family_norm, family_key = self.keys(family)
        given_norm, given_key = self.keys(given)
        line1, line2, town, postcode = ("", "", "", "") if status == "none" else address
        return (
            child_id,
            self._new_cp_id(),
            given,
            middle,
            family,
            json.dumps(former) if former else "[]",
            family_norm,
            family_key,
            given_norm,
            given_key,
            gender,
            date_of_birth,
            status,
            line1,
            line2,
            town,
            postcode,
            normalise_postcode(postcode) if postcode else "",
            telephone,
            left,
            consent,
            authority + 1,
            education_id,
            education_start,
            gp_id,
            shielded,
            ground,
            review,
            None,
        )

    def _carer_row(self, child_id: int, carer: _Carer) -> Row:
        row = (
            self.next_carer,
            child_id,
            carer.given,
            carer.family,
            carer.relationship,
            carer.parental_responsibility,
            carer.line1,
            carer.line2,
            carer.town,
            carer.postcode,
            carer.telephone,
        )
        self.next_carer += 1
        return row

    def _random_involvements(
        self, child_id: int, authority: int, age: int, age_days: int, count: int
    ) -> list[Row]:
        rng = self.rng
        codes, cum = self.services_by_age[age]
        chosen: list[str] = []
        for _ in range(count * 2):
            code = codes[bisect(cum, rng.random() * cum[-1])]
            if code not in chosen:
                chosen.append(code)
                if len(chosen) == count:
                    break
        rows = []
        lead_index = 0 if rng.random() < 0.3 else -1
        assessment_index = (
            lead_index if lead_index >= 0 and rng.random() < 0.6 else (0 if rng.random() < 0.1 else -1)
        )
        for index, code in enumerate(chosen):
            pool = self.reference.practitioners[(authority, code)]
            practitioner = pool[self._below(len(pool))]
            started = self._below(min(age_days, 5 * 365) + 1)
            ended = self._below(started + 1) if index != lead_index and rng.random() < 0.12 else None
            rows.append(
                self._involvement_row(
                    child_id,
                    practitioner,
                    code,
                    started=started,
                    ended=ended,
                    lead=index == lead_index,
                    assessment=index == assessment_index,
                )
            )
        return rows

    def _involvement_row(
        self,
        child_id: int,
        practitioner: _Practitioner,
        code: str,
        *,
        started: int,
        ended: int | None,
        lead: bool,
        assessment: bool,
    ) -> Row:
        sensitive = int(code in self.sensitive)
        row = (
            self.next_involvement,
            child_id,
            practitioner.user_id,
            practitioner.name,
            practitioner.role,
            practitioner.organisation,
            practitioner.telephone,
            practitioner.email,
            code,
            sensitive,
            sensitive,  # sensitive services are recorded only with consent
            self.past[started],
            None if ended is None else self.past[ended],
            int(lead),
            int(assessment),
        )
        self.next_involvement += 1
        return row

    # -- the planted training scenarios

    def _scenario_children(self, room: int) -> Iterator[tuple[Row, list[Row], list[Row]]]:
        """The children TRAINING_SCENARIOS finds, all in the first authority."""
        settings = self.reference.settings[0]
        for planted in _PLANTED[:room]:
            born = dt.date.fromisoformat(TRAINING_SCENARIOS[planted.scenario]["date_of_birth"])
            if born > self.today:
                continue  # a `today` before the scenario's birth: leave it out
            child_id = self.next_child
            self.next_child += 1
            education_id = None if planted.setting is None else settings[planted.setting][0]
            starts = None
            if education_id is not None:
                starts = max(born, min(self.today, dt.date(born.year + 4, 9, 1))).isoformat()
            shielded = planted.shield_ground is not None
            child = self._child_row(
                child_id=child_id,
                given=planted.given,
                middle=planted.middle,
                family=planted.family,
                former=list(planted.former),
                gender=planted.gender,
                date_of_birth=born.isoformat(),
                status="current",
                address=planted.address,
                telephone="",
                left=0,
                consent=0,
                authority=0,
                education_id=education_id,
                education_start=starts,
                gp_id=self.reference.gps[0][0],
                shielded=int(shielded),
                ground=planted.shield_ground,
                review=self.future[90] if shielded else None,
            )
            carers = [self._carer_row(child_id, carer) for carer in planted.carers]
            involvements = []
            for who, code, started, lead, assessment in planted.involvements:
                # A demo account by name, or the last of the pool (never a demo account).
                practitioner = (
                    self.reference.users[who] if who else self.reference.practitioners[(0, code)][-1]
                )
                involvements.append(
                    self._involvement_row(
                        child_id,
                        practitioner,
                        code,
                        started=started,
                        ended=None,
                        lead=lead,
                        assessment=assessment,
                    )
                )
            yield child, carers, involvements


@dataclass(frozen=True)
class _PlantedChild:
    """A child planted for a training scenario; dates of birth come from TRAINING_SCENARIOS."""

    scenario: str
    given: str
    middle: str
    family: str
    gender: str
    address: tuple[str, str, str, str]
    setting: str | None
    carers: tuple[_Carer, ...]
    # (demo username or "" for a pooled practitioner, service, started days ago, lead, assessment)
    involvements: tuple[tuple[str, str, int, bool, bool], ...]
    former: tuple[str, ...] = ()
    shield_ground: str | None = None


_OLIVER_HOME = ("14 Kingfisher Close", "", "Northmere", "ZZ1 4QT")
_SKYE_HOME = ("8 Heron Way", "", "Cobble Hythe", "ZZ3 2NX")
_MAYA_HOME = ("31 Orchard Rise", "", "Fennick Bridge", "ZZ4 3LD")
_TOM_HOME = ("Flat 6", "2 Tannery Court", "Northmere", "ZZ1 8GB")
_PLANTED: Final = (
    _PlantedChild(
        "ordinary",
        "Oliver",
        "James",
        "Thistlewood",
        "male",
        _OLIVER_HOME,
        "primary",
        (
            _Carer("Hannah", "Thistlewood", "Mother", 1, *_OLIVER_HOME, "07700 900412"),
            _Carer(
                "Mark",
                "Thistlewood",
                "Father",
                1,
                "Flat 2",
                "27 Station Road",
                "Brackwater",
                "ZZ2 6PL",
                "07700 900587",
            ),
        ),
        (
            ("demo.practitioner", "family_support", 120, True, True),
            ("", "speech_language", 400, False, False),
        ),
    ),
    _PlantedChild(
        "shielded",
        "Skye",
        "Amber",
        "Wrenfield",
        "female",
        _SKYE_HOME,
        "primary",
        (_Carer("Laura", "Wrenfield", "Mother", 1, *_SKYE_HOME, "07700 900233"),),
        (("", "social_care", 200, True, True), ("demo.practitioner", "family_support", 60, False, False)),
        shield_ground="significant_harm",
    ),
    _PlantedChild(
        "sensitive",
        "Maya",
        "",
        "Brackenbury",
        "female",
        _MAYA_HOME,
        "secondary",
        (
            _Carer("Donna", "Brackenbury", "Mother", 1, *_MAYA_HOME, "07700 900871"),
            _Carer("Steve", "Brackenbury", "Stepfather", 0, *_MAYA_HOME, ""),
        ),
        (
            ("demo.schoolnurse", "sexual_health", 45, False, False),
            ("", "education_support", 300, False, False),
        ),
        former=("Maya Colwell",),
    ),
    _PlantedChild(
        "missing_education",
        "Tom",
        "Riley",
        "Ellerby",
        "male",
        _TOM_HOME,
        None,
        (_Carer("Kerry", "Ellerby", "Mother", 1, *_TOM_HOME, "07700 900109"),),
        (("", "education_welfare", 30, False, False),),
    ),
)


# --- writing -------------------------------------------------------------------------------------


def _in_background(batches: Iterator[_Batch], depth: int = 2) -> Iterator[_Batch]:
    """Generate the next batches in a thread while this one is written.

    The drivers release the GIL while the database works (SQLite's steps, PostgreSQL's network
    round trips), so generating and writing overlap. One producer keeps the order, hence the data,
    exactly as without the thread; memory stays bounded by `depth` batches waiting.
    """
    handoff: queue.Queue[_Batch | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: _Batch | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(None)
        except BaseException as error:  # handed to the writer, which raises it
            put(error)

    producer = threading.Thread(target=produce, name="seed-generator", daemon=True)
    producer.start()
    try:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


_BULK_TABLES: Final = ("children", "carers", "involvements")
_SEEDED_TABLES: Final = (
    "local_authorities",
    "organisations",
    "education_settings",
    "gp_practices",
    "users",
    *_BULK_TABLES,
)


class _BulkLoad:
    """Loading mode for one connection, as both databases' manuals advise for bulk loads.

    While loading, the bulk tables' non-unique indexes are dropped and foreign keys are not checked
    row by row; on leaving, the indexes are rebuilt from their exact original definitions, foreign keys
    are checked for the whole tables at once (PostgreSQL re-adds and validates its constraints, SQLite
    runs `foreign_key_check`), the ids' sequences are moved past the seeded rows and the query planner
    gets fresh statistics.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.indexes: list[str] = []
        self.foreign_keys: list[tuple[str, str, str]] = []

    def __enter__(self) -> _BulkLoad:
        connection = self.connection
        if not self.postgresql:
            # Connection-level pragmas, set on the driver's connection outside any transaction
            # (foreign_keys cannot change inside one, and this engine may begin every one IMMEDIATE).
            self._sqlite_pragmas(foreign_keys="OFF", cache_kib=262_144)
        with connection.begin():
            self.indexes = _drop_secondary_indexes(connection)
            if self.postgresql:
                self.foreign_keys = _drop_foreign_keys(connection)
        return self

    def __exit__(self, *_exc: object) -> None:
        connection = self.connection
        if connection.in_transaction():
            connection.rollback()
        try:
            with connection.begin():
                for statement in self.indexes:
                    connection.exec_driver_sql(statement)
                for table, name, definition in self.foreign_keys:
                    connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                if not self.postgresql:
                    for table in _BULK_TABLES:
                        if connection.exec_driver_sql(f"PRAGMA foreign_key_check({table})").first():
                            raise RuntimeError(f"seeding wrote {table} rows that refer to missing rows")
            with connection.begin():
                _finish(connection)
        finally:
            if not self.postgresql:
                if connection.in_transaction():
                    connection.rollback()
                self._sqlite_pragmas(foreign_keys="ON", cache_kib=2_000)

    def _sqlite_pragmas(self, *, foreign_keys: str, cache_kib: int) -> None:
        driver = self.connection.connection.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA foreign_keys={foreign_keys}")
        driver.execute(f"PRAGMA cache_size=-{cache_kib}")
        if driver.execute("PRAGMA foreign_keys").fetchone()[0] != (foreign_keys == "ON"):
            raise RuntimeError("could not set SQLite foreign key checking for the bulk load")


def _write_rows(connection: Connection, table: str, columns: Sequence[str], rows: list[Row]) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def _drop_secondary_indexes(connection: Connection) -> list[str]:
    """Drop the bulk tables' non-unique indexes; return the exact statements that recreate them."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            text(
                "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                "JOIN pg_class c ON c.oid = x.indexrelid "
                "WHERE x.indrelid::regclass::text IN :tables AND NOT x.indisunique ORDER BY c.relname"
            ).bindparams(bindparam("tables", expanding=True)),
            {"tables": list(_BULK_TABLES)},
        ).all()
    else:
        found = connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN :tables AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
            ).bindparams(bindparam("tables", expanding=True)),
            {"tables": list(_BULK_TABLES)},
        ).all()
    for name, _definition in found:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def _drop_foreign_keys(connection: Connection) -> list[tuple[str, str, str]]:
    """PostgreSQL: drop the bulk tables' own foreign keys; return (table, name, definition) of each."""
    found = connection.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text IN :tables ORDER BY conname"
        ).bindparams(bindparam("tables", expanding=True)),
        {"tables": list(_BULK_TABLES)},
    ).all()
    for table, name, _definition in found:
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return [(table, name, definition) for table, name, definition in found]


def _finish(connection: Connection) -> None:
    """Let later inserts take the next ids, and give the query planner fresh statistics."""
    if connection.dialect.name == "postgresql":
        for table in _SEEDED_TABLES:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
            )
        connection.exec_driver_sql("ANALYZE " + ", ".join(_SEEDED_TABLES))
    else:
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
