"""The oversight area as sent: users, audit rows, alerts, incidents, child lists, shield states,
organisations, lockdown and yearly figures."""

from __future__ import annotations

import datetime as dt

import pyotp

from cpserver.api.oversight_schemas import (
    AlertPublic,
    AuditPage,
    AuditRowPublic,
    ChildList,
    ChildListItem,
    IncidentPublic,
    LockdownPublic,
    NotePublic,
    OrganisationPublic,
    OverseenUserPublic,
    ShieldStatePublic,
    UserEnrolmentPublic,
    YearFigures,
)
from cpserver.domain import users
from cpserver.domain.accreditation import crb_expiry
from cpserver.domain.audit_review import Row
from cpserver.domain.incidents import IncidentFile
from cpserver.domain.lockdown import LockdownState
from cpserver.domain.organisations import OrganisationSummary
from cpserver.domain.reports import Figures
from cpserver.store.models import Alert, Child, User

ISSUER = "ContactPoint"


def user_public(user: User, today: dt.date, crb_valid_years: int) -> OverseenUserPublic:
    la = user.local_authority
    return OverseenUserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        job_title=user.job_title,
        organisation_id=user.organisation_id,
        organisation=user.organisation.name,
        organisation_accredited=user.organisation.accredited,
        local_authority=la.name if la else None,
        telephone=user.telephone,
        email=user.email,
        manager_name=user.manager_name,
        manager_email=user.manager_email,
        crb_checked_on=user.crb_checked_on,
        crb_expires_on=crb_expiry(user.crb_checked_on, crb_valid_years) if user.crb_checked_on else None,
        training_completed=user.training_completed,
        procedures_received=user.procedures_received,
        agreement_signed=user.agreement_signed,
        suspended=user.suspended,
        suspended_reason=user.suspended_reason,
        problems=users.problems_of(user, today, crb_valid_years),
    )


def enrolment_public(enrolment: users.Enrolment, today: dt.date, crb_valid_years: int) -> UserEnrolmentPublic:
    """The new account with its first password and TOTP secret, shown once."""
    user = enrolment.user
    return UserEnrolmentPublic(
        user=user_public(user, today, crb_valid_years),
        initial_password=enrolment.password,
        totp_secret=enrolment.totp_secret,
        totp_uri=pyotp.TOTP(enrolment.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER),
    )


def audit_page(rows: list[Row], more: bool) -> AuditPage:
    return AuditPage(
        rows=[
            AuditRowPublic(
                seq=row.event.seq,
                occurred_at=row.event.occurred_at,
                action=row.event.action,
                outcome=row.event.outcome,
                username=row.event.username,
                role=row.event.role,
                cp_id=row.cp_id,
                child_name=row.child_name,
                reason_code=row.event.reason_code,
                reason_text=row.event.reason_text,
                workstation=row.event.workstation,
                shielded=row.event.shielded,
                shielded_access=bool((row.event.detail or {}).get("shielded_access")),
                search_criteria=row.criteria,
            )
            for row in rows
        ],
        more=more,
    )


def alert_public(alert: Alert) -> AlertPublic:
    la = alert.user.local_authority
    return AlertPublic(
        id=alert.id,
        raised_at=alert.raised_at,
        rule=alert.rule,
        severity=alert.severity,
        username=alert.user.username,
        user_display_name=alert.user.display_name,
        local_authority=la.name if la else None,
        summary=alert.summary,
        evidence=dict(alert.evidence or {}),
        status=alert.status,
        auto_suspended=alert.auto_suspended,
        justification=alert.justification,
        incident_id=alert.incident_id,
    )


def incident_public(file: IncidentFile) -> IncidentPublic:
    incident = file.incident
    la = incident.user.local_authority
    return IncidentPublic(
        id=incident.id,
        opened_at=incident.opened_at,
        opened_by=file.name_of(incident.opened_by_id),
        username=incident.user.username,
        user_display_name=incident.user.display_name,
        local_authority=la.name if la else None,
        summary=incident.summary,
        status=incident.status,
        outcome=incident.outcome,
        closed_at=incident.closed_at,
        manager_notified_at=incident.manager_notified_at,
        manager_notification=incident.manager_notification,
        reported_nationally_at=incident.reported_nationally_at,
        notes=[
            NotePublic(written_at=n.written_at, author=file.name_of(n.author_id), text=n.text)
            for n in incident.notes
        ],
    )


def child_list(children: list[Child], total: int) -> ChildList:
    return ChildList(
        children=[
            ChildListItem(
                id=child.cp_id,
                given=child.given_name,
                family=child.family_name,
                date_of_birth=child.date_of_birth,
                gender=child.gender,
                local_authority=child.local_authority.name,
                shielded=child.shielded,
                shield_ground=child.shield_ground,
                review_date=child.shield_review_date,
            )
            for child in children
        ],
        total=total,
    )


def shield_state(child: Child) -> ShieldStatePublic:
    return ShieldStatePublic(
        id=child.cp_id,
        shielded=child.shielded,
        ground=child.shield_ground,
        review_date=child.shield_review_date,
    )


def organisation_public(summary: OrganisationSummary) -> OrganisationPublic:
    o = summary.organisation
    return OrganisationPublic(
        id=o.id,
        name=o.name,
        local_authority=o.local_authority.name if o.local_authority else None,
        accredited=o.accredited,
        accredited_on=o.accredited_on,
        users=summary.users,
    )


def lockdown_public(state: LockdownState) -> LockdownPublic:
    return LockdownPublic(**state.__dict__)


def year_figures(figures: Figures) -> YearFigures:
    return YearFigures(**figures.__dict__)
