"""The management team's calls: users, audit trail, alerts, incidents, shielding, CME report.

The national team may read every authority's lists; acting on them is the local team's job.
"""

from __future__ import annotations

from typing import Annotated

import pyotp
from fastapi import APIRouter, Path, status

from cpserver.api.deps import CurrentActor, SessionDep, SettingsDep
from cpserver.api.oversight_schemas import (
    AccreditationUpdate,
    AlertPublic,
    AuditPage,
    AuditQuery,
    AuditRowPublic,
    ChildList,
    ChildListItem,
    DismissAlert,
    IncidentCreate,
    IncidentFromAlert,
    IncidentPublic,
    IncidentUpdate,
    NoteCreate,
    NotePublic,
    ReasonBody,
    ShieldCreate,
    ShieldStatePublic,
    UserAdminPublic,
    UserCreate,
    UserEnrolmentPublic,
)
from cpserver.api.schemas import ERROR_RESPONSES, MAX_ID
from cpserver.audit import trail
from cpserver.domain import audit_review, incidents, reports, shield_admin, user_admin
from cpserver.domain.accreditation import crb_expiry
from cpserver.domain.oversight_scope import require_overseer
from cpserver.store.models import Alert, Child, Incident, User

router = APIRouter(tags=["management"], responses=ERROR_RESPONSES)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
ChildId = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
ISSUER = "ContactPoint"


def user_admin_public(user: User, actor: CurrentActor, settings: SettingsDep) -> UserAdminPublic:
    la = user.local_authority
    return UserAdminPublic(
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
        crb_expires_on=crb_expiry(user.crb_checked_on, settings.crb_valid_years)
        if user.crb_checked_on
        else None,
        training_completed=user.training_completed,
        procedures_received=user.procedures_received,
        agreement_signed=user.agreement_signed,
        suspended=user.suspended,
        suspended_reason=user.suspended_reason,
        problems=user_admin.problems_of(user, actor.today, settings.crb_valid_years),
    )


# --- users ---------------------------------------------------------------------------------------


@router.get("/users")
def list_users(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> list[UserAdminPublic]:
    """The authority's users (every authority's for the national team)."""
    return [user_admin_public(u, actor, settings) for u in user_admin.overseen_users(db, actor.user)]


@router.get("/users/expiring-checks")
def expiring_checks(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> list[UserAdminPublic]:
    """Users whose criminal records check runs out within 60 days (or already has)."""
    users = user_admin.overseen_users(db, actor.user)
    due = user_admin.expiring_checks(users, actor.today, settings.crb_valid_years)
    return [user_admin_public(u, actor, settings) for u in due]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(
    body: UserCreate, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> UserEnrolmentPublic:
    """Add an account (not yet accredited); its first password and TOTP secret are shown once."""
    user, password, secret = user_admin.add_user(db, actor.user, actor.origin, body.model_dump())
    db.commit()
    db.refresh(user)
    return UserEnrolmentPublic(
        user=user_admin_public(user, actor, settings),
        initial_password=password,
        totp_secret=secret,
        totp_uri=pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER),
    )


@router.put("/users/{user_id}/accreditation")
def record_accreditation(
    user_id: Id, body: AccreditationUpdate, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> UserAdminPublic:
    user = user_admin.set_accreditation(
        db, actor.user, actor.origin, user_id, today=actor.today, **body.model_dump()
    )
    db.commit()
    return user_admin_public(user, actor, settings)


@router.post("/users/{user_id}/suspension")
def suspend_user(
    user_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> UserAdminPublic:
    """Suspend with a reason: every session of the user ends at once."""
    user = user_admin.suspend_user(db, actor.user, actor.origin, user_id, body.reason, actor.now)
    db.commit()
    return user_admin_public(user, actor, settings)


@router.post("/users/{user_id}/reinstatement")
def reinstate_user(
    user_id: Id, body: ReasonBody, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> UserAdminPublic:
    user = user_admin.reinstate_user(db, actor.user, actor.origin, user_id, body.reason)
    db.commit()
    return user_admin_public(user, actor, settings)


# --- audit trail ---------------------------------------------------------------------------------


@router.post("/audit-queries")
def query_audit(body: AuditQuery, actor: CurrentActor, db: SessionDep) -> AuditPage:
    """Audit rows on screen (filters in the body, never the URL); the query is audited too."""
    rows, more = audit_review.review(db, actor.user, actor.origin, audit_review.Filters(**body.model_dump()))
    db.commit()
    return AuditPage(
        rows=[
            AuditRowPublic(
                seq=row.event.seq,
                occurred_at=row.event.occurred_at,
                action=row.event.action,
                outcome=row.event.outcome,
                username=row.event.username,
                role=row.event.role,
                child_id=row.child_cp_id,
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


# --- alerts and incidents ------------------------------------------------------------------------


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


def incident_public(db: SessionDep, incident: Incident) -> IncidentPublic:
    names = {
        u.id: u.display_name
        for u in db.query(User).filter(
            User.id.in_([incident.opened_by_id, *[n.author_id for n in incident.notes]])
        )
    }
    la = incident.user.local_authority
    return IncidentPublic(
        id=incident.id,
        opened_at=incident.opened_at,
        opened_by=names.get(incident.opened_by_id, ""),
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
            NotePublic(written_at=n.written_at, author=names.get(n.author_id, ""), text=n.text)
            for n in incident.notes
        ],
    )


@router.get("/alerts")
def list_alerts(actor: CurrentActor, db: SessionDep) -> list[AlertPublic]:
    """Open alerts, newest first, with their evidence."""
    return [alert_public(a) for a in incidents.alerts_for(db, actor.user)]


@router.post("/alerts/{alert_id}/dismissal")
def dismiss_alert(alert_id: Id, body: DismissAlert, actor: CurrentActor, db: SessionDep) -> AlertPublic:
    alert = incidents.dismiss_alert(db, actor.user, actor.origin, alert_id, body.justification, actor.now)
    db.commit()
    return alert_public(alert)


@router.post("/alerts/{alert_id}/incident", status_code=status.HTTP_201_CREATED)
def incident_from_alert(
    alert_id: Id, body: IncidentFromAlert, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> IncidentPublic:
    incident = incidents.open_incident_from_alert(
        db, actor.user, actor.origin, alert_id, summary=body.summary, settings=settings, now=actor.now
    )
    db.commit()
    return incident_public(db, incident)


@router.get("/incidents")
def list_incidents(actor: CurrentActor, db: SessionDep) -> list[IncidentPublic]:
    """The authority's incidents; for the national team, the national incident register."""
    return [incident_public(db, i) for i in incidents.incidents_for(db, actor.user)]


@router.post("/incidents", status_code=status.HTTP_201_CREATED)
def open_incident(
    body: IncidentCreate, actor: CurrentActor, db: SessionDep, settings: SettingsDep
) -> IncidentPublic:
    """Suspend the user, notify their manager, report nationally, and start the investigation."""
    incident = incidents.open_incident(
        db,
        actor.user,
        actor.origin,
        user_id=body.user_id,
        summary=body.summary,
        alert_id=body.alert_id,
        settings=settings,
        now=actor.now,
    )
    db.commit()
    return incident_public(db, incident)


@router.patch("/incidents/{incident_id}")
def update_incident(
    incident_id: Id, body: IncidentUpdate, actor: CurrentActor, db: SessionDep
) -> IncidentPublic:
    incident = incidents.update_incident(
        db, actor.user, actor.origin, incident_id, status=body.status, outcome=body.outcome, now=actor.now
    )
    db.commit()
    return incident_public(db, incident)


@router.post("/incidents/{incident_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(incident_id: Id, body: NoteCreate, actor: CurrentActor, db: SessionDep) -> IncidentPublic:
    """A note about the investigation (never about a child)."""
    incident = incidents.add_note(db, actor.user, actor.origin, incident_id, body.text)
    db.commit()
    return incident_public(db, incident)


# --- shielding and reports -----------------------------------------------------------------------


def child_item(child: Child) -> ChildListItem:
    return ChildListItem(
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


@router.post("/children/{child_id}/shield")
def shield_child(
    child_id: ChildId, body: ShieldCreate, actor: CurrentActor, db: SessionDep
) -> ShieldStatePublic:
    """Shield a record on a statutory ground, with a review date; effective for everyone at once."""
    child = shield_admin.shield(
        db,
        actor.user,
        actor.origin,
        child_id,
        ground=body.ground,
        review_date=body.review_date,
        reason=body.reason,
        today=actor.today,
    )
    db.commit()
    return ShieldStatePublic(
        id=child.cp_id, shielded=True, ground=child.shield_ground, review_date=child.shield_review_date
    )


@router.post("/children/{child_id}/unshield")
def unshield_child(
    child_id: ChildId, body: ReasonBody, actor: CurrentActor, db: SessionDep
) -> ShieldStatePublic:
    child = shield_admin.unshield(db, actor.user, actor.origin, child_id, reason=body.reason)
    db.commit()
    return ShieldStatePublic(id=child.cp_id, shielded=False, ground=None, review_date=None)


def list_shown(db: SessionDep, actor: CurrentActor, report: str, children: list[Child]) -> None:
    """A list naming children was shown: audit it (which list, how many rows) and commit."""
    trail.record(
        db,
        action="report_viewed",
        outcome="shown",
        origin=actor.origin,
        user=actor.user,
        detail={"report": report, "rows": len(children)},
    )
    db.commit()


@router.get("/shield-reviews")
def shield_reviews(actor: CurrentActor, db: SessionDep) -> ChildList:
    """Shielded records due for review within 30 days."""
    children = shield_admin.due_for_review(db, actor.user, actor.today)
    list_shown(db, actor, "shield_reviews", children)
    return ChildList(children=[child_item(c) for c in children], total=len(children))


@router.get("/reports/children-missing-education")
def children_missing_education(actor: CurrentActor, db: SessionDep, settings: SettingsDep) -> ChildList:
    """Children with no education setting recorded (on screen only)."""
    require_overseer(actor.user)
    children, total = reports.children_missing_education(
        db,
        actor.user,
        today=actor.today,
        age=settings.retention_age_years,
        consent_age=settings.retention_consent_age_years,
    )
    list_shown(db, actor, "children_missing_education", children)
    return ChildList(children=[child_item(c) for c in children], total=total)
