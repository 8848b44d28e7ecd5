"""A small, hand-built fictitious world for the server tests: known users, children and markers.

Every hidden field of the shielded children holds a unique canary marker, so a test can scan raw
response bytes for any of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from cpserver.domain.former_names import from_display_name as former_name
from cpserver.domain.former_names import replace_former_names
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.passwords import hash_password
from cpserver.seed.staff import accredited_user
from cpserver.store.models import (
    Carer,
    Child,
    EducationSetting,
    GpPractice,
    Involvement,
    LocalAuthority,
    Organisation,
    User,
)
from cpserver.store.system import set_mode

PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"
TODAY = dt.date.today()

# Canary markers: each appears only in a field a practitioner must never receive for a shielded child.
CANARIES = {
    "address_line1": "CANARYADDRONE",
    "address_line2": "CANARYADDRTWO",
    "town": "CANARYTOWN",
    "postcode": "ZZ99 9QX",
    "telephone": "01632 990001",
    "carer_address": "CANARYCARERADDR",
    "carer_town": "CANARYCARERTOWN",
    "carer_postcode": "ZZ98 8QX",
    "carer_telephone": "01632 990002",
    "school_name": "CANARYSCHOOL",
    "school_address": "CANARYSCHOOLADDR",
    "school_telephone": "01632 990003",
    "gp_name": "CANARYSURGERY",
    "gp_address": "CANARYSURGERYADDR",
    "gp_telephone": "01632 990004",
    "practitioner_name": "CANARYPRACTITIONER",
    "practitioner_org": "CANARYORG",
    "practitioner_telephone": "01632 990005",
    "practitioner_email": "canary.practitioner@canary.example",
    "former_name": "CANARYFORMERNAME",
    # The rest of the Northmere shielded household (rule 5: a shield covers the household).
    # The shielded child's father lives elsewhere, with his other child (a half-sibling).
    "father_address": "CANARYFATHERADDR",
    "father_town": "CANARYFATHERTOWN",
    "father_postcode": "ZZ94 4QX",
    "father_telephone": "01632 990006",
    "half_sibling_telephone": "01632 990007",
    "stepmother_telephone": "01632 990008",
    "sibling_former_name": "CANARYSIBLINGFORMER",
    "half_sibling_former_name": "CANARYHALFFORMER",
}
# Southwold Vale's shielded child has a household of its own: its management team may see these.
SOUTH_CANARIES = {
    "south_address_line1": "CANARYSOUTHADDR",
    "south_town": "CANARYSOUTHTOWN",
    "south_postcode": "ZZ93 3QX",
    "south_telephone": "01632 990011",
    "south_carer_address": "CANARYSOUTHCARER",
    "south_carer_postcode": "ZZ92 2QX",
    "south_carer_telephone": "01632 990012",
    "south_school_name": "CANARYSOUTHSCHOOL",
    "south_school_telephone": "01632 990013",
    "south_gp_name": "CANARYSOUTHSURGERY",
    "south_gp_telephone": "01632 990014",
    "south_practitioner_name": "CANARYSOUTHWORKER",
    "south_practitioner_telephone": "01632 990015",
    "south_practitioner_email": "canary.south@canary.example",
    "south_former_name": "CANARYSOUTHFORMER",
}


def _marker_bytes(values: dict[str, str]) -> list[bytes]:
    markers = [value.encode().lower() for value in values.values()]
    markers += [
        normalise_postcode(value).encode().lower()
        for key, value in values.items()
        if key.endswith("postcode")
    ]
    return markers


NORTH_CANARY_BYTES = _marker_bytes(CANARIES)
SOUTH_CANARY_BYTES = _marker_bytes(SOUTH_CANARIES)
CANARY_BYTES = NORTH_CANARY_BYTES + SOUTH_CANARY_BYTES

# The users, by username. All share PASSWORD and TOTP_SECRET.
PRACTITIONER = "p.north"  # practitioner in Northmere
PRACTITIONER_2 = "p.north2"  # another practitioner in Northmere
PRACTITIONER_SOUTH = "p.south"  # practitioner in Southwold Vale
CMT = "cmt.north"  # management team, Northmere
CMT_SOUTH = "cmt.south"  # management team, Southwold Vale
NATIONAL = "national.one"
NATIONAL_2 = "national.two"
SUSPENDED = "p.suspended"
CRB_EXPIRED = "p.crbexpired"
CRB_MISSING = "p.crbmissing"
UNTRAINED = "p.untrained"
NO_PROCEDURES = "p.noprocedures"
NO_AGREEMENT = "p.noagreement"
UNACCREDITED = "p.unaccredited"

ROLE_USERS = {"practitioner": PRACTITIONER, "cmt": CMT, "national": NATIONAL}

# Children, by ContactPoint ID.
ORDINARY = "CP0000000001"  # Northmere, not shielded, with carers, school, GP, involvements
SHIELDED = "CP0000000002"  # Northmere, shielded, every hidden field a canary
SHIELDED_SOUTH = "CP0000000003"  # Southwold Vale, shielded, canaries too
PAST_18 = "CP0000000004"  # 19 years old, no consent: not findable
CONSENT_25 = "CP0000000005"  # 20 years old with consent to 25: findable
NO_SCHOOL = "CP0000000006"  # no education setting recorded
SENSITIVE = "CP0000000007"  # has a sensitive involvement recorded by PRACTITIONER_2
SIBLING = "CP0000000008"  # Northmere, not shielded, lives with SHIELDED (same home, same mother)
HALF_SIBLING = "CP0000000009"  # Northmere, not shielded, lives with SHIELDED's father elsewhere
NORTH_HOUSEHOLD = (SHIELDED, SIBLING, HALF_SIBLING)

ORDINARY_FAMILY = "Thistlewood"
SHIELDED_FAMILY = "Quillfeather"
ORDINARY_DOB = dt.date(TODAY.year - 9, 3, 14)
SHIELDED_DOB = dt.date(TODAY.year - 7, 6, 2)
SIBLING_DOB = dt.date(TODAY.year - 10, 2, 9)
HALF_SIBLING_FAMILY = "Marlowe"
HALF_SIBLING_DOB = dt.date(TODAY.year - 5, 11, 20)
ORDINARY_POSTCODE = "ZZ1 4AB"


def _years_ago(years: int, extra_days: int = 0) -> dt.date:
    try:
        day = TODAY.replace(year=TODAY.year - years)
    except ValueError:
        day = TODAY.replace(year=TODAY.year - years, day=28)
    return day - dt.timedelta(days=extra_days)


def build_world(session: Session) -> None:
    """Fill an empty, migrated database with the world above (a live database)."""
    set_mode(session, "live")
    north = LocalAuthority(
        code="NMR",
        name="Northmere Council",
        cmt_name="Northmere ContactPoint Management Team",
        cmt_telephone="01632 960100",
        cmt_email="contactpoint@northmere.example",
    )
    south = LocalAuthority(
        code="SWV",
        name="Southwold Vale Council",
        cmt_name="Southwold Vale ContactPoint Management Team",
        cmt_telephone="01632 960200",
        cmt_email="contactpoint@southwold.example",
    )
    session.add_all([north, south])
    session.flush()
    org_north = Organisation(
        name="Northmere Children's Services", local_authority_id=north.id, accredited=True
    )
    org_south = Organisation(name="Southwold Vale Health", local_authority_id=south.id, accredited=True)
    org_national = Organisation(name="National ContactPoint Team", accredited=True)
    org_bad = Organisation(name="Unaccredited Test Org", local_authority_id=north.id, accredited=False)
    session.add_all([org_north, org_south, org_national, org_bad])
    session.flush()

    password_hash = hash_password(PASSWORD)

    def user(
        username: str, role: str, org: Organisation, la: LocalAuthority | None, family: str, **kw: Any
    ) -> None:
        checks: dict[str, Any] = {"crb_checked_on": TODAY - dt.timedelta(days=200), **kw}
        session.add(
            accredited_user(
                username=username,
                role=role,
                organisation_id=org.id,
                local_authority_id=la.id if la else None,
                password_hash=password_hash,
                totp_secret=TOTP_SECRET,
                given_name="Test",
                family_name=family,
                **checks,
            )
        )

    user(PRACTITIONER, "practitioner", org_north, north, "Practitioner")
    user(PRACTITIONER_2, "practitioner", org_north, north, "Secondworker")
    user(PRACTITIONER_SOUTH, "practitioner", org_south, south, "Southworker")
    user(CMT, "cmt", org_north, north, "Manager")
    user(CMT_SOUTH, "cmt", org_south, south, "Southmanager")
    user(NATIONAL, "national", org_national, None, "National")
    user(NATIONAL_2, "national", org_national, None, "Nationaltwo")
    user(SUSPENDED, "practitioner", org_north, north, "Suspended", suspended=True, suspended_reason="test")
    user(CRB_EXPIRED, "practitioner", org_north, north, "Expired", crb_checked_on=_years_ago(3, 1))
    user(CRB_MISSING, "practitioner", org_north, north, "Missing", crb_checked_on=None)
    user(UNTRAINED, "practitioner", org_north, north, "Untrained", training_completed=False)
    user(NO_PROCEDURES, "practitioner", org_north, north, "Noprocedures", procedures_received=False)
    user(NO_AGREEMENT, "practitioner", org_north, north, "Noagreement", agreement_signed=False)
    user(UNACCREDITED, "practitioner", org_bad, north, "Unaccredited")
    session.flush()

    school = EducationSetting(
        name="Brambleford Primary School",
        address="1 School Lane, Brambleford",
        postcode="ZZ1 1AA",
        telephone="01632 960300",
        local_authority_id=north.id,
    )
    gp = GpPractice(
        name="Brambleford Surgery",
        address="2 Surgery Road, Brambleford",
        postcode="ZZ1 1AB",
        telephone="01632 960400",
    )
    canary_school = EducationSetting(
        name=CANARIES["school_name"],
        address=CANARIES["school_address"],
        postcode="ZZ97 7QX",
        telephone=CANARIES["school_telephone"],
        local_authority_id=north.id,
    )
    canary_gp = GpPractice(
        name=CANARIES["gp_name"],
        address=CANARIES["gp_address"],
        postcode="ZZ96 6QX",
        telephone=CANARIES["gp_telephone"],
    )
    south_school = EducationSetting(
        name=SOUTH_CANARIES["south_school_name"],
        address="1 Vale Road",
        postcode="ZZ91 1QX",
        telephone=SOUTH_CANARIES["south_school_telephone"],
        local_authority_id=south.id,
    )
    south_gp = GpPractice(
        name=SOUTH_CANARIES["south_gp_name"],
        address="2 Vale Road",
        postcode="ZZ91 1QY",
        telephone=SOUTH_CANARIES["south_gp_telephone"],
    )
    session.add_all([school, gp, canary_school, canary_gp, south_school, south_gp])
    session.flush()

    def child(cp_id: str, given: str, family: str, dob: dt.date, la: LocalAuthority, **kw: object) -> Child:
        values: dict[str, object] = {
            "address_line1": "3 Orchard Row",
            "address_line2": "",
            "town": "Brambleford",
            "postcode": ORDINARY_POSTCODE,
            "telephone": "01632 960500",
            "education_setting_id": school.id,
            "education_start_date": dob.replace(year=dob.year + 4),
            "gp_practice_id": gp.id,
            "gender": "female",
        }
        values.update(kw)
        shown_former = values.pop("former_names", [])
        former = [str(name) for name in shown_former] if isinstance(shown_former, list) else []
        row = Child(
            cp_id=cp_id,
            given_name=given,
            middle_names="",
            family_name=family,
            family_norm=normalise_name(family),
            family_key=phonetic_key(family),
            given_norm=normalise_name(given),
            given_key=phonetic_key(given),
            date_of_birth=dob,
            local_authority_id=la.id,
            postcode_norm=normalise_postcode(str(values["postcode"])),
            **values,
        )
        session.add(row)
        session.flush()
        # The one writer of former names: the shown list and the searched table together.
        replace_former_names(session, row, [former_name(shown) for shown in former])
        return row

    ordinary = child(
        ORDINARY, "Amelia", ORDINARY_FAMILY, ORDINARY_DOB, north, former_names=["Amelia Oldname"]
    )
    shielded_kw: dict[str, object] = {
        "address_line1": CANARIES["address_line1"],
        "address_line2": CANARIES["address_line2"],
        "town": CANARIES["town"],
        "postcode": CANARIES["postcode"],
        "telephone": CANARIES["telephone"],
        "education_setting_id": canary_school.id,
        "gp_practice_id": canary_gp.id,
        "shielded": True,
        "shield_ground": "significant_harm",
        "shield_review_date": TODAY + dt.timedelta(days=180),
        "former_names": [CANARIES["former_name"]],
    }
    shielded = child(SHIELDED, "Rowan", SHIELDED_FAMILY, SHIELDED_DOB, north, **shielded_kw)
    south_kw: dict[str, object] = {
        **shielded_kw,
        "address_line1": SOUTH_CANARIES["south_address_line1"],
        "address_line2": "",
        "town": SOUTH_CANARIES["south_town"],
        "postcode": SOUTH_CANARIES["south_postcode"],
        "telephone": SOUTH_CANARIES["south_telephone"],
        "education_setting_id": south_school.id,
        "gp_practice_id": south_gp.id,
        "former_names": [SOUTH_CANARIES["south_former_name"]],
    }
    shielded_south = child(SHIELDED_SOUTH, "Linden", SHIELDED_FAMILY, SHIELDED_DOB, south, **south_kw)
    child(PAST_18, "Old", ORDINARY_FAMILY, _years_ago(19), north)
    child(CONSENT_25, "Young", ORDINARY_FAMILY, _years_ago(20), north, consent_to_25=True)
    child(
        NO_SCHOOL,
        "Nomad",
        "Wanderley",
        ORDINARY_DOB,
        north,
        education_setting_id=None,
        education_start_date=None,
    )
    sensitive = child(SENSITIVE, "Sage", "Hollowell", ORDINARY_DOB, north)
    # The shielded child's household: a sibling at the same home (not shielded) and a half-sibling
    # who lives with the shielded child's father (one shared carer, another home).
    sibling_kw = {
        **shielded_kw,
        "shielded": False,
        "shield_ground": None,
        "shield_review_date": None,
        "former_names": [CANARIES["sibling_former_name"]],
    }
    sibling = child(SIBLING, "Ash", SHIELDED_FAMILY, SIBLING_DOB, north, **sibling_kw)
    half_sibling = child(
        HALF_SIBLING,
        "Birch",
        HALF_SIBLING_FAMILY,
        HALF_SIBLING_DOB,
        north,
        address_line1=CANARIES["father_address"],
        town=CANARIES["father_town"],
        postcode=CANARIES["father_postcode"],
        telephone=CANARIES["half_sibling_telephone"],
        former_names=[CANARIES["half_sibling_former_name"]],
    )

    def carer(target: Child, given: str, family: str, relationship: str, **kw: object) -> None:
        session.add(
            Carer(
                child_pk=target.id,
                given_name=given,
                family_name=family,
                relationship_to_child=relationship,
                parental_responsibility=True,
                **kw,
            )
        )

    mother = {
        "address_line1": CANARIES["carer_address"],
        "town": CANARIES["carer_town"],
        "postcode": CANARIES["carer_postcode"],
        "telephone": CANARIES["carer_telephone"],
    }
    father = {
        "address_line1": CANARIES["father_address"],
        "town": CANARIES["father_town"],
        "postcode": CANARIES["father_postcode"],
        "telephone": CANARIES["father_telephone"],
    }
    carer(shielded, "Parent", SHIELDED_FAMILY, "Mother", **mother)
    carer(shielded, "Dad", HALF_SIBLING_FAMILY, "Father", **father)
    carer(sibling, "Parent", SHIELDED_FAMILY, "Mother", **mother)
    carer(half_sibling, "Dad", HALF_SIBLING_FAMILY, "Father", **father)
    carer(
        half_sibling,
        "Step",
        HALF_SIBLING_FAMILY,
        "Mother",
        **{**father, "telephone": CANARIES["stepmother_telephone"]},
    )
    carer(
        shielded_south,
        "Parent",
        SHIELDED_FAMILY,
        "Mother",
        address_line1=SOUTH_CANARIES["south_carer_address"],
        postcode=SOUTH_CANARIES["south_carer_postcode"],
        telephone=SOUTH_CANARIES["south_carer_telephone"],
    )
    for target, markers in (
        (shielded, CANARIES),
        (sibling, CANARIES),
        (
            shielded_south,
            {
                "practitioner_name": SOUTH_CANARIES["south_practitioner_name"],
                "practitioner_org": "Southwold Vale Health",
                "practitioner_telephone": SOUTH_CANARIES["south_practitioner_telephone"],
                "practitioner_email": SOUTH_CANARIES["south_practitioner_email"],
            },
        ),
    ):
        session.add(
            Involvement(
                child_pk=target.id,
                practitioner_user_id=None,
                practitioner_name=markers["practitioner_name"],
                practitioner_role="Social worker",
                organisation_name=markers["practitioner_org"],
                telephone=markers["practitioner_telephone"],
                email=markers["practitioner_email"],
                service_type="social_care",
                started_on=TODAY - dt.timedelta(days=30),
                lead_professional=True,
                assessment_completed=True,
            )
        )
    session.add(
        Carer(
            child_pk=ordinary.id,
            given_name="Jo",
            family_name=ORDINARY_FAMILY,
            relationship_to_child="Father",
            parental_responsibility=True,
            address_line1="3 Orchard Row",
            town="Brambleford",
            postcode=ORDINARY_POSTCODE,
            telephone="01632 960501",
        )
    )
    session.add(
        Involvement(
            child_pk=ordinary.id,
            practitioner_user_id=None,
            practitioner_name="Pat Healthworker",
            practitioner_role="Health visitor",
            organisation_name="Southwold Vale Health",
            telephone="01632 960600",
            email="pat@health.example",
            service_type="health_visitor",
            started_on=TODAY - dt.timedelta(days=90),
            lead_professional=True,
            assessment_completed=True,
        )
    )
    p2 = session.query(User).filter_by(username=PRACTITIONER_2).one()
    session.add(
        Involvement(
            child_pk=sensitive.id,
            practitioner_user_id=p2.id,
            practitioner_name="Test Secondworker",
            practitioner_role="Counsellor",
            organisation_name="Northmere Children's Services",
            telephone="01632 960700",
            email="p.north2@staff.example",
            service_type="mental_health",
            sensitive=True,
            consent_recorded=True,
            started_on=TODAY - dt.timedelta(days=10),
        )
    )
