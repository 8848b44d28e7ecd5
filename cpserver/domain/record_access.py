"""Opening a record (rules 3, 4, 5): reason checked, audit row written, then what this user may see.

The domain decides what may be shown (`RecordAccess`); `cpserver.api.presenters.records` turns that
into the outgoing schema, a shielded record into a type that has no address or contact fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain import detection, harvesting, household_shield, rate_limits
from cpserver.domain.errors import DomainError, ErrorKind, child_not_found, forbidden, invalid
from cpserver.domain.reasons import INVESTIGATION, ReasonProblem, check_reason
from cpserver.domain.retention import in_service
from cpserver.store.models import Child, Involvement, LocalAuthority, User

# The sections a user who may not see a shielded record's details is not sent.
SHIELDED_WITHHELD = ["address", "telephone", "carer_contacts", "education", "gp", "involvements"]
FULL_SECTIONS = ["identity", "address", "telephone", "carers", "education", "gp", "involvements"]
SHIELDED_SECTIONS = ["identity", "carer_names", "management_contact", "own_involvements"]


@dataclass(frozen=True)
class RecordAccess:
    """What one opening of a record may show: the child, and whether in full.

    `full` False: only name, gender, date of birth, ContactPoint ID, carers' names, the management
    team's contact and the viewer's own involvements; the `withheld` sections are never sent.
    `involvements` are those this viewer may see (for a shielded record, only their own).
    """

    child: Child
    view_id: int
    full: bool
    withheld: list[str]
    involvements: list[Involvement]
    # True when the record is under a shield, its own or its household's (rule 5), and shown in
    # full: the management team's audited access.
    shielded_access: bool
    # Whose management team brokers contact: the child's own authority, or the authority of the
    # shielded child whose household this record shares.
    contact_authority: LocalAuthority


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and from where."""

    user: User
    origin: trail.Origin


def audit_unavailable() -> DomainError:
    return DomainError(
        ErrorKind.UNAVAILABLE,
        "audit_unavailable",
        "ContactPoint cannot record this access in the audit trail just now, so the record was not "
        "opened. Try again in a few minutes; if it keeps happening, contact your service desk.",
    )


@lru_cache(maxsize=1)
def _child_statement() -> Select[tuple[Child]]:
    """Built once: its loader options and cache key cost more CPU than the round trip they describe."""
    return (
        select(Child)
        .where(Child.cp_id == bindparam("cp_id"))
        .options(
            joinedload(Child.local_authority),
            joinedload(Child.education_setting),
            joinedload(Child.gp_practice),
            joinedload(Child.carers),
            joinedload(Child.involvements),
        )
    )


def load_child(session: Session, cp_id: str) -> Child | None:
    """The child with everything a record shows, in one query (one round trip of a view's dozen).

    Carers and involvements are few per child, so joining both (their product) costs less than
    the two extra round trips of loading each separately.
    """
    return (
        session.scalars(_child_statement(), {"cp_id": cp_id})
        .unique()
        .one_or_none()  # not first(): it would stop before the joined collections' other rows
    )


def sees_shielded_details(user: User, child: Child) -> bool:
    """The management team of the child's own authority may see a shielded record's details."""
    return household_shield.sees_shielded_details(user, child)


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
    # Under a shield: the child's own, or a household's (another shielded child shares the address
    # or a telephone; `household`).
    under_shield: bool
    household: bool
    # Whose management team brokers contact when details are withheld: the child's own authority,
    # or the authority of the shielded child whose household this record shares.
    contact_authority: LocalAuthority

    @property
    def shown(self) -> list[str]:
        return FULL_SECTIONS if self.details else SHIELDED_SECTIONS

    @property
    def withheld(self) -> list[str]:
        return [] if self.details else SHIELDED_WITHHELD

    @property
    def shielded_access(self) -> bool:
        """Details of a shielded record are being seen (audited as such)."""
        return self.under_shield and self.details

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
        return Sight(self.user, self.child, True, self.under_shield, self.household, self.contact_authority)


def sight_of(session: Session, user: User, child: Child) -> Sight:
    """What `user` may see of `child`'s record, for a record view and an involvement notice alike.

    A shield covers the household: another shielded child's address or telephone on this record
    withholds this record's details too from whoever may not see that child's (rule 5).
    """
    covering = household_shield.covering_shields(session, [(child, child.carers)])[child.id]
    hidden = household_shield.hidden_shields(user, covering)
    return Sight(
        user,
        child,
        details=(not child.shielded or sees_shielded_details(user, child)) and not hidden,
        under_shield=child.shielded or bool(covering),
        household=bool(covering),
        contact_authority=hidden[0].local_authority if hidden else child.local_authority,
    )


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
) -> RecordAccess:
    """Check the reason, write the audit row, commit it, and only then build the disclosure.

    A refused attempt is audited too (and committed) before the refusal is raised. If the audit
    row cannot be written, the call fails with 503 and nothing is disclosed.
    """
    today = now.date()
    age, consent_age = settings.retention_age_years, settings.retention_consent_age_years
    # The detection rules' counts are read with the rate limits', in one round trip under the
    # user's lock; each rule adds this attempt's own row to what was read.
    watch = (
        detection.view_questions()
        + harvesting.volume_questions(settings, "view")
        + harvesting.view_attempt_questions(settings)
        if settings.detection_enabled
        else ()
    )
    before = rate_limits.check(
        session,
        settings,
        viewer.user,
        viewer.origin,
        "view",
        now,
        detail={"requested": cp_id[:20]},
        watch=watch,
    )
    child = load_child(session, cp_id)
    # A record past retention (rule 9: left search, archived) is, to everyone but the national team
    # giving an investigation, exactly an unknown ID: the same answer, audit row and detection.
    archive = child is not None and not in_service(child, today, age, consent_age)
    try:
        code, text = check_reason(reason, reason_text, viewer.user.role)
    except ReasonProblem as problem:
        _deny(session, viewer, None if archive else child, problem.code, reason)
        raise invalid(problem.code, problem.message, field="reason") from None
    if archive and code != INVESTIGATION:  # only the national team may give it (check_reason)
        child = None
    if child is None:
        _deny(session, viewer, None, "child_not_found", code, detail={"requested": cp_id[:20]})
        if settings.detection_enabled:
            try:
                harvesting.after_view_attempt(
                    session, settings, viewer.user, now, before=before, asked_for=cp_id[:20], found=False
                )
                session.commit()
            except SQLAlchemyError:
                session.rollback()
                raise audit_unavailable() from None
        raise child_not_found()

    sight = sight_of(session, viewer.user, child)
    if override_shield and sight.details:
        override_shield = False  # nothing to override
    if override_shield and not viewer.user.may_override_shield:
        _deny(session, viewer, child, "override_not_permitted", code)
        raise forbidden("override_not_permitted", "Your account cannot override shielding.")
    if override_shield:
        sight = sight.overridden()
    detail: dict[str, object] = {"shielded_access": sight.shielded_access}
    if archive:
        detail["archived"] = True
    if sight.household:
        detail["household_shield"] = True
    if override_shield:
        detail["shield_override"] = True
    if detection.outside_authority(viewer.user, child):
        detail["outside_authority"] = True
    try:
        event = trail.record(
            session,
            action="view",
            outcome="disclosed",
            origin=viewer.origin,
            user=viewer.user,
            child_pk=child.id,
            reason_code=code,
            reason_text=text,
            shielded=sight.under_shield,
            shown=sight.shown,
            withheld=sight.withheld,
            detail=detail,
        )
        # A shield override always raises its alert, whatever the benchmark switch says.
        if settings.detection_enabled or override_shield:
            detection.after_view(
                session,
                settings,
                viewer.user,
                child,
                event,
                now,
                override=override_shield,
                before=before if settings.detection_enabled else None,
            )
        if settings.detection_enabled:
            harvesting.after_access(session, settings, viewer.user, "view", now, before=before)
            harvesting.after_view_attempt(
                session, settings, viewer.user, now, before=before, asked_for=child.cp_id, found=True
            )
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise audit_unavailable() from None
    return RecordAccess(
        child=child,
        view_id=event.id,
        full=sight.details,
        withheld=sight.withheld,
        involvements=[involvement for involvement in child.involvements if sight.shows(involvement)],
        shielded_access=sight.shielded_access,
        contact_authority=sight.contact_authority,
    )


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
            child_pk=child.id if child is not None else None,
            reason_code=(reason or "")[:40] or None,
            detail=detail,
        )
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise audit_unavailable() from None
