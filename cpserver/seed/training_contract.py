"""The training contract: what trainers, the client and the tests rely on in a training database.

The demo accounts (their shared password and one-time-code secret, what each shows a trainee, the
login refusal each refused one meets), the named example searches (TRAINING_SCENARIOS) and the
children planted for them. The seed writes exactly this; the client's training mode
(`cpclient.training`) reads it. It imports nothing beyond the standard library, so the client can
import it at start-up without the server's database layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Published on purpose: they work only on training databases (fictitious data).
DEMO_PASSWORD: Final = "training-only"  # noqa: S105 - training databases only, by design
DEMO_TOTP_SECRET: Final = "JBSWY3DPEHPK3PXP"  # noqa: S105 - training databases only, by design
NATIONAL_ORGANISATION: Final = "National ContactPoint Team"
UNACCREDITED_ORGANISATION: Final = "Unaccredited Test Org"


# Children named Smith planted in a training database within the "common_name" range.
COMMON_NAME_CHILDREN: Final = 60

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
    f"{COMMON_NAME_CHILDREN} are planted), so the search asks for more detail.",
}


@dataclass(frozen=True)
class DemoUser:
    """A demo account: who it is, where it works, and what about it a login checks."""

    username: str
    role: str
    given: str
    family: str
    job_title: str
    authority: int | None  # index, None for national
    organisation: str  # organisation kind, "national" or "unaccredited"
    # What the account shows a trainee (the client's demo-account panel).
    shows: str
    crb_years_ago: int = 1
    training_completed: bool = True
    procedures_received: bool = True
    agreement_signed: bool = True
    suspended: bool = False
    # Service whose practitioner pool (in its authority) this user joins, so seeded records name them.
    service: str | None = None
    # May override shielding in an emergency (the override raises an alert at once).
    may_override_shield: bool = False


DEMO_USERS: Final = (
    DemoUser(
        "demo.practitioner",
        "practitioner",
        "Sam",
        "Okafor",
        "Family support worker",
        0,
        "council",
        service="family_support",
        shows="Practitioner (family support): search, open, record involvement",
    ),
    DemoUser(
        "demo.cmt",
        "cmt",
        "Jo",
        "Whitlock",
        "ContactPoint management team officer",
        0,
        "council",
        shows="Management team: sees shielded details, audited",
    ),
    DemoUser(
        "demo.national",
        "national",
        "Alex",
        "Morgan",
        "National ContactPoint service manager",
        None,
        "national",
        shows="National team: lockdown, organisations, yearly figures",
    ),
    # A second national-team member: restoring access after a lockdown takes two people.
    DemoUser(
        "demo.national2",
        "national",
        "Robin",
        "Achebe",
        "National ContactPoint security officer",
        None,
        "national",
        shows="Second national team member: confirms a restore after lockdown",
    ),
    DemoUser(
        "demo.healthvisitor",
        "practitioner",
        "Nadia",
        "Hussain",
        "Health visitor",
        0,
        "health",
        service="health_visitor",
        shows="Practitioner (health visitor)",
    ),
    DemoUser(
        "demo.schoolnurse",
        "practitioner",
        "Ruth",
        "Ellison",
        "School nurse",
        0,
        "health",
        service="school_nursing",
        shows="Practitioner (school nurse): recorded a sensitive service",
    ),
    DemoUser(
        "demo.socialworker",
        "practitioner",
        "Daniel",
        "Price",
        "Social worker",
        0,
        "council",
        service="social_care",
        shows="Practitioner (social worker)",
    ),
    DemoUser(
        "demo.othercouncil",
        "practitioner",
        "Priya",
        "Shah",
        "Family support worker",
        1,
        "council",
        service="family_support",
        shows="Practitioner in another local authority",
    ),
    DemoUser(
        "demo.emergency",
        "practitioner",
        "Morgan",
        "Adeyemi",
        "Emergency duty social worker",
        0,
        "council",
        may_override_shield=True,
        shows="Practitioner (emergency duty) who may override shielding, with a warning",
    ),
    DemoUser(
        "demo.suspended",
        "practitioner",
        "Chris",
        "Lowe",
        "Family support worker",
        0,
        "council",
        suspended=True,
        shows="Refused: account suspended",
    ),
    DemoUser(
        "demo.crbexpired",
        "practitioner",
        "Pat",
        "Gibson",
        "Education welfare officer",
        0,
        "council",
        crb_years_ago=4,
        shows="Refused: criminal records check expired",
    ),
    DemoUser(
        "demo.untrained",
        "practitioner",
        "Lee",
        "Harding",
        "Youth justice worker",
        0,
        "yot",
        training_completed=False,
        shows="Refused: mandatory training not completed",
    ),
    DemoUser(
        "demo.noagreement",
        "practitioner",
        "Kim",
        "Barrett",
        "Connexions personal adviser",
        0,
        "connexions",
        agreement_signed=False,
        shows="Refused: end-user agreement not signed",
    ),
    DemoUser(
        "demo.noprocedures",
        "practitioner",
        "Robin",
        "Marsh",
        "Housing support officer",
        0,
        "housing",
        procedures_received=False,
        shows="Refused: security procedures not received",
    ),
    DemoUser(
        "demo.unaccredited",
        "practitioner",
        "Jordan",
        "Webb",
        "Volunteer mentor",
        0,
        "unaccredited",
        shows="Refused: organisation not accredited",
    ),
)


# Every demo account (training only), and the login refusal (API error code) each refused one shows.
DEMO_ACCOUNTS: Final = tuple(demo.username for demo in DEMO_USERS)
DEMO_REFUSALS: Final[dict[str, str]] = {
    "demo.suspended": "account_suspended",
    "demo.crbexpired": "crb_check_expired",
    "demo.untrained": "training_incomplete",
    "demo.noagreement": "agreement_unsigned",
    "demo.noprocedures": "procedures_not_received",
    "demo.unaccredited": "organisation_not_accredited",
}


@dataclass(frozen=True)
class Carer:
    """A carer as the seed writes one: planted below, or made up by the child stream (`children`)."""

    given: str
    family: str
    relationship: str
    parental_responsibility: int
    line1: str
    line2: str
    town: str
    postcode: str
    telephone: str


@dataclass(frozen=True)
class PlantedChild:
    """A child planted for a training scenario; dates of birth come from TRAINING_SCENARIOS."""

    scenario: str
    given: str
    middle: str
    family: str
    gender: str
    address: tuple[str, str, str, str]
    setting: str | None
    carers: tuple[Carer, ...]
    # (demo username or "" for a pooled practitioner, service, started days ago, lead, assessment)
    involvements: tuple[tuple[str, str, int, bool, bool], ...]
    former: tuple[str, ...] = ()
    shield_ground: str | None = None


_OLIVER_HOME = ("14 Kingfisher Close", "", "Northmere", "ZZ1 4QT")
_SKYE_HOME = ("8 Heron Way", "", "Cobble Hythe", "ZZ3 2NX")
_MAYA_HOME = ("31 Orchard Rise", "", "Fennick Bridge", "ZZ4 3LD")
_TOM_HOME = ("Flat 6", "2 Tannery Court", "Northmere", "ZZ1 8GB")
PLANTED_CHILDREN: Final = (
    PlantedChild(
        "ordinary",
        "Oliver",
        "James",
        "Thistlewood",
        "male",
        _OLIVER_HOME,
        "primary",
        (
            Carer("Hannah", "Thistlewood", "Mother", 1, *_OLIVER_HOME, "07700 900412"),
            Carer(
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
    PlantedChild(
        "shielded",
        "Skye",
        "Amber",
        "Wrenfield",
        "female",
        _SKYE_HOME,
        "primary",
        (Carer("Laura", "Wrenfield", "Mother", 1, *_SKYE_HOME, "07700 900233"),),
        (("", "social_care", 200, True, True), ("demo.practitioner", "family_support", 60, False, False)),
        shield_ground="significant_harm",
    ),
    PlantedChild(
        "sensitive",
        "Maya",
        "",
        "Brackenbury",
        "female",
        _MAYA_HOME,
        "secondary",
        (
            Carer("Donna", "Brackenbury", "Mother", 1, *_MAYA_HOME, "07700 900871"),
            Carer("Steve", "Brackenbury", "Stepfather", 0, *_MAYA_HOME, ""),
        ),
        (
            ("demo.schoolnurse", "sexual_health", 45, False, False),
            ("", "education_support", 300, False, False),
        ),
        former=("Maya Colwell",),
    ),
    PlantedChild(
        "missing_education",
        "Tom",
        "Riley",
        "Ellerby",
        "male",
        _TOM_HOME,
        None,
        (Carer("Kerry", "Ellerby", "Mother", 1, *_TOM_HOME, "07700 900109"),),
        (("", "education_welfare", 30, False, False),),
    ),
)
