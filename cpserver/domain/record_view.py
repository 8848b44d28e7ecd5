"""Opening a record (rules 3, 4, 5): reason checked, audit row written, then the record this user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload, selectinload

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
from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain import detection
from cpserver.domain.errors import DomainError
from cpserver.domain.reasons import ReasonProblem, check_reason
from cpserver.domain.retention import in_service
from cpserver.domain.service_types import BY_CODE as SERVICE_TYPES
from cpserver.store.models import Child, Involvement, User

# The sections a user who may not see a shielded record's details is not sent.
SHIELDED_WITHHELD = ["address", "telephone", "carer_contacts", "education", "gp", "involvements"]
FULL_SECTIONS = ["identity", "address", "telephone", "carers", "education", "gp", "involvements"]
SHIELDED_SECTIONS = ["identity", "carer_names", "management_contact", "own_involvements"]


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and from where."""

    user: User
    origin: trail.Origin


def audit_unavailable() -> DomainError:
    return DomainError(
        503,
        "audit_unavailable",
        "ContactPoint cannot record this access in the audit trail just now, so the record was not "
        "opened. Try again in a few minutes; if it keeps happening, contact your service desk.",
    )


def load_child(session: Session, cp_id: str) -> Child | None:
    """The child with everything a record shows, in a handful of queries."""
    return session.scalar(
        select(Child)
        .where(Child.cp_id == cp_id)
        .options(
            joinedload(Child.local_authority),
            joinedload(Child.education_setting),
            joinedload(Child.gp_practice),
            selectinload(Child.carers),
            selectinload(Child.involvements),
        )
    )


def sees_shielded_details(user: User, child: Child) -> bool:
    """The management team of the child's own authority may see a shielded record's details."""
    return user.role == "cmt" and user.local_authority_id == child.local_authority_id


def sees_involvement(user: User, child: Child, involvement: Involvement) -> bool:
    """Sensitive services are shown only to their recording practitioner and the management team."""
    if not involvement.sensitive:
        return True
    if involvement.practitioner_user_id == user.id:
        return True
    return user.role == "cmt" and user.local_authority_id == child.local_authority_id


@dataclass(frozen=True)
class Sight:
    """What one user may see of one child's record, decided once by `sight_of`.

    Every disclosure about a child asks this one decision: a record view, and an involvement notice
    (which must show exactly what opening the record would show its recipient).
    """

    user: User
    child: Child
    # The full record (False: the shielded shape, with the management team as the contact).
    details: bool

    @property
    def shown(self) -> list[str]:
        return FULL_SECTIONS if self.details else SHIELDED_SECTIONS

    @property
    def withheld(self) -> list[str]:
        return [] if self.details else SHIELDED_WITHHELD

    @property
    def shielded_access(self) -> bool:
        """Details of a shielded record are being seen (audited as such)."""
        return self.child.shielded and self.details

    def shows(self, involvement: Involvement) -> bool:
        """Whether this involvement (and its practitioner's contact details) is shown to the user."""
        if involvement.practitioner_user_id == self.user.id:
            return True  # one's own, even on a shielded record, so it can be ended
        return self.details and sees_involvement(self.user, self.child, involvement)

    def knows_of(self, involvement: Involvement) -> bool:
        """Whether the user may learn that this involvement exists, even with its details withheld.

        A sensitive service is known only to its recorder and the management team, whatever the
        shield; a shield withholds the details of the others (`shows`), not that they exist.
        """
        return sees_involvement(self.user, self.child, involvement)

    def overridden(self) -> Sight:
        """The sight after a permitted shield override: the details."""
        return Sight(self.user, self.child, details=True)


def sight_of(session: Session, user: User, child: Child) -> Sight:
    """What `user` may see of `child`'s record, for a record view and an involvement notice alike.

    `session` is there for rules that look beyond the child (a household's shielding).
    """
    del session  # no rule reads beyond the child yet
    return Sight(user, child, details=not child.shielded or sees_shielded_details(user, child))


def open_record(
    session: Session,
    viewer: Viewer,
    cp_id: str,
    reason: str | None,
    reason_text: str | None,
    *,
    settings: Settings,
    now: dt.datetime,
    override_shield: bool = False,
) -> RecordPublic | ShieldedRecordPublic:
    """Check the reason, write the audit row, commit it, and only then build the disclosure.

    A refused attempt is audited too (and committed) before the refusal is raised. If the audit
    row cannot be written, the call fails with 503 and nothing is disclosed.
    """
    today = now.date()
    age, consent_age = settings.retention_age_years, settings.retention_consent_age_years
    child = load_child(session, cp_id)
    if child is not None and not in_service(child, today, age, consent_age):
        child = None
    try:
        code, text = check_reason(reason, reason_text)
    except ReasonProblem as problem:
        _deny(session, viewer, child, problem.code, reason)
        raise DomainError(400, problem.code, problem.message, field="reason") from None
    if child is None:
        _deny(session, viewer, None, "child_not_found", code, detail={"requested": cp_id[:20]})
        raise DomainError(404, "child_not_found", "There is no record with that ContactPoint ID.")

    sight = sight_of(session, viewer.user, child)
    if override_shield and sight.details:
        override_shield = False  # nothing to override
    if override_shield and not viewer.user.may_override_shield:
        _deny(session, viewer, child, "override_not_permitted", code)
        raise DomainError(403, "override_not_permitted", "Your account cannot override shielding.")
    if override_shield:
        sight = sight.overridden()
    detail: dict[str, object] = {"shielded_access": sight.shielded_access}
    if override_shield:
        detail["shield_override"] = True
    if detection.outside_authority(session, viewer.user, child):
        detail["outside_authority"] = True
    try:
        event = trail.record(
            session,
            action="view",
            outcome="disclosed",
            origin=viewer.origin,
            user=viewer.user,
            child_id=child.id,
            reason_code=code,
            reason_text=text,
            shielded=child.shielded,
            shown=sight.shown,
            withheld=sight.withheld,
            detail=detail,
        )
        # A shield override always raises its alert, whatever the benchmark switch says.
        if settings.detection_enabled or override_shield:
            detection.after_view(session, settings, viewer.user, child, event, now, override=override_shield)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise audit_unavailable() from None
    if sight.details:
        return full_record(sight, event.id)
    return shielded_record(sight, event.id)


def _deny(
    session: Session,
    viewer: Viewer,
    child: Child | None,
    why: str,
    reason: str | None,
    detail: dict[str, str] | None = None,
) -> None:
    try:
        trail.record(
            session,
            action="view",
            outcome=f"denied:{why}",
            origin=viewer.origin,
            user=viewer.user,
            child_id=child.id if child is not None else None,
            reason_code=(reason or "")[:40] or None,
            detail=detail,
        )
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise audit_unavailable() from None


def management_contact(child: Child) -> ContactPublic:
    la = child.local_authority
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


def _address(line1: str, line2: str, town: str, postcode: str) -> AddressPublic | None:
    if not (line1 or line2 or town or postcode):
        return None
    return AddressPublic(line1=line1, line2=line2, town=town, postcode=postcode)


def full_record(sight: Sight, view_id: int) -> RecordPublic:
    """Everything Schedule 1 holds, less sensitive involvements this user may not see."""
    child, user = sight.child, sight.user
    school = child.education_setting
    gp = child.gp_practice
    return RecordPublic(
        id=child.cp_id,
        given=child.given_name,
        middle_names=child.middle_names,
        family=child.family_name,
        former_names=list(child.former_names or []),
        gender=child.gender,
        date_of_birth=child.date_of_birth,
        shielded=child.shielded,
        shielded_access=child.shielded,
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
        involvements=[
            involvement_public(involvement, user)
            for involvement in child.involvements
            if sight.shows(involvement)
        ],
        management_contact=management_contact(child),
        local_authority=child.local_authority.name,
        view_id=view_id,
    )


def shielded_record(sight: Sight, view_id: int) -> ShieldedRecordPublic:
    """Name, gender, date of birth, ContactPoint ID, parents' names and the management team's contact.

    The user's own involvements (their own contact details) are included so they can end them.
    """
    child, user = sight.child, sight.user
    return ShieldedRecordPublic(
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
        management_contact=management_contact(child),
        local_authority=child.local_authority.name,
        withheld=SHIELDED_WITHHELD,
        own_involvements=[
            involvement_public(involvement, user)
            for involvement in child.involvements
            if sight.shows(involvement)
        ],
        view_id=view_id,
    )
