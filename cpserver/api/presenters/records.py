"""A record as sent: the full `RecordPublic`, or a `ShieldedRecordPublic` that has no contact fields."""

from __future__ import annotations

import datetime as dt

from cpserver.api.schemas import (
    AddressPublic,
    CarerPublic,
    ContactPublic,
    InvolvementPublic,
    RecordPublic,
    SettingPublic,
    ShieldedCarerPublic,
    ShieldedRecordPublic,
)
from cpserver.domain.record_access import RecordAccess
from cpserver.domain.service_types import BY_CODE as SERVICE_TYPES
from cpserver.store.models import Child, Involvement, LocalAuthority, User


def management_contact(la: LocalAuthority) -> ContactPublic:
    """How to reach an authority's management team."""
    return ContactPublic(name=la.cmt_name, telephone=la.cmt_telephone, email=la.cmt_email)


def involvement_public(involvement: Involvement, user: User) -> InvolvementPublic:
    service = SERVICE_TYPES.get(involvement.service_type)
    return InvolvementPublic(
        id=involvement.id,
        practitioner_name=involvement.practitioner_name,
        role=involvement.practitioner_role,
        organisation=involvement.organisation_name,
        telephone=involvement.telephone,
        email=involvement.email,
        service_type=involvement.service_type,
        service_label=service.label if service else involvement.service_type,
        sensitive=involvement.sensitive,
        started_on=involvement.started_on,
        ended_on=involvement.ended_on,
        lead_professional=involvement.lead_professional,
        assessment_completed=involvement.assessment_completed,
        mine=involvement.practitioner_user_id == user.id,
    )


def archived_on(child: Child) -> dt.date | None:
    """The day the record was archived (rule 9; only the national team, investigating, sees one)."""
    return None if child.archived_at is None else child.archived_at.date()


def record_public(access: RecordAccess, user: User) -> RecordPublic | ShieldedRecordPublic:
    """The record this user may see: in full, or through the shielded type."""
    if access.full:
        return full_record(access, user)
    return shielded_record(access, user)


def _address(line1: str, line2: str, town: str, postcode: str) -> AddressPublic | None:
    if not (line1 or line2 or town or postcode):
        return None
    return AddressPublic(line1=line1, line2=line2, town=town, postcode=postcode)


def full_record(access: RecordAccess, user: User) -> RecordPublic:
    """Everything Schedule 1 holds, less sensitive involvements this user may not see."""
    child: Child = access.child
    school = child.education_setting
    gp = child.gp_practice
    return RecordPublic(
        archived_on=archived_on(child),
        id=child.cp_id,
        given=child.given_name,
        middle_names=child.middle_names,
        family=child.family_name,
        former_names=list(child.former_names or []),
        gender=child.gender,
        date_of_birth=child.date_of_birth,
        shielded=child.shielded,
        shielded_access=access.shielded_access,
        address_status=child.address_status,
        address=_address(child.address_line1, child.address_line2, child.town, child.postcode),
        telephone=child.telephone or None,
        left_england=child.left_england,
        carers=[
            CarerPublic(
                name=f"{carer.given_name} {carer.family_name}",
                relationship=carer.relationship_to_child,
                parental_responsibility=carer.parental_responsibility,
                address=_address(carer.address_line1, carer.address_line2, carer.town, carer.postcode),
                telephone=carer.telephone or None,
            )
            for carer in child.carers
        ],
        education=SettingPublic(
            name=school.name,
            address=school.address,
            postcode=school.postcode,
            telephone=school.telephone,
            start_date=child.education_start_date,
        )
        if school is not None
        else None,
        gp=SettingPublic(name=gp.name, address=gp.address, postcode=gp.postcode, telephone=gp.telephone)
        if gp is not None
        else None,
        involvements=[involvement_public(involvement, user) for involvement in access.involvements],
        management_contact=management_contact(child.local_authority),
        local_authority=child.local_authority.name,
        view_id=access.view_id,
    )


def shielded_record(access: RecordAccess, user: User) -> ShieldedRecordPublic:
    """Name, gender, date of birth, ContactPoint ID, parents' names and the management team's contact.

    The user's own involvements (their own contact details) are included so they can end them.
    """
    child = access.child
    return ShieldedRecordPublic(
        archived_on=archived_on(child),
        id=child.cp_id,
        given=child.given_name,
        middle_names=child.middle_names,
        family=child.family_name,
        gender=child.gender,
        date_of_birth=child.date_of_birth,
        carers=[
            ShieldedCarerPublic(
                name=f"{carer.given_name} {carer.family_name}", relationship=carer.relationship_to_child
            )
            for carer in child.carers
        ],
        management_contact=management_contact(access.contact_authority),
        local_authority=child.local_authority.name,
        withheld=access.withheld,
        own_involvements=[involvement_public(involvement, user) for involvement in access.involvements],
        view_id=access.view_id,
    )
