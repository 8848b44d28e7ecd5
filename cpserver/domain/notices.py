"""Involvement notices: who else is working with a child, told without asking.

When a practitioner records an involvement, each practitioner already involved hears of the new
service and the newcomer hears of each other one (a source system's current services among them);
when an involvement ends, the others hear of it. A source system's services are told the same way
when a feed adds or ends one (`after_feed_services`).
A notice row holds no content. What it discloses is decided when it is shown, by the same decision
a record view makes (`record_access.sight_of`), and the audit row is written before it is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload, selectinload

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain.accreditation import accreditation_problems
from cpserver.domain.errors import invalid, not_found, role_not_permitted
from cpserver.domain.oversight_scope import authority_filter
from cpserver.domain.record_access import Sight, audit_unavailable, sight_of
from cpserver.domain.retention import in_service
from cpserver.store.models import Child, Involvement, LocalAuthority, Notice, User
from cpserver.store.system import is_locked_down

ADDED = "added"
ENDED = "ended"
# The audit trail's reason for showing a notice (the recipient is the viewer).
REASONS: dict[str, tuple[str, str]] = {
    ADDED: ("notice_new_involvement", "Notice of a new involvement"),
    ENDED: ("notice_ended_involvement", "Notice of an ended involvement"),
}
FOLLOW_UPS = ("contacted", "not_needed", "not_yet")
# Answers that count as followed up (in time when given by the end of the window).
FOLLOWED_UP = ("contacted", "not_needed")
DELIVERIES = ("immediate", "daily_digest", "off")
INBOX_LIMIT = 50
# How many children one query asks about (well inside every database's limit on parameters).
_CHILDREN_PER_QUERY = 5000
# What a notice shows: the child's identity and the other service, or the management team instead.
SHOWN_WITH_DETAILS = ["identity", "involvements"]
SHOWN_WITHHELD = ["identity", "management_contact"]


# --- the policy and one user's choice -------------------------------------------------------------


def allowed_deliveries(settings: Settings) -> list[str]:
    """The ways the policy lets users receive notices, the default first."""
    chosen = [value for value in settings.notice_deliveries.split(",") if value in DELIVERIES]
    return chosen or ["immediate"]


def delivery_of(user: User, settings: Settings) -> str:
    """The user's choice, or the policy's default when the policy no longer allows it."""
    allowed = allowed_deliveries(settings)
    return user.notice_delivery if user.notice_delivery in allowed else allowed[0]


def set_delivery(
    session: Session, user: User, origin: trail.Origin, delivery: str, settings: Settings
) -> str:
    """Choose how notices arrive, within the policy; notices held for a digest come at once if
    the user now wants them at once."""
    if delivery not in allowed_deliveries(settings):
        raise invalid(
            "notice_delivery_not_allowed",
            "Your organisation's policy does not allow that choice. Choose one of the options shown.",
            "delivery",
        )
    user.notice_delivery = delivery
    if delivery == "immediate":
        session.execute(
            update(Notice)
            .where(Notice.recipient_user_id == user.id, Notice.digest.is_(True), Notice.read_at.is_(None))
            .values(digest=False)
        )
    trail.record(
        session,
        action="notice_settings_changed",
        outcome="recorded",
        origin=origin,
        user=user,
        detail={"delivery": delivery},
    )
    return delivery


# --- working days and the digest --------------------------------------------------------------------


def _working_days(settings: Settings) -> set[int]:
    return {int(day) for day in settings.working_days.split(",") if day.strip()} or {0, 1, 2, 3, 4}


def follow_up_due(settings: Settings, created: dt.datetime) -> dt.datetime:
    """The end of the follow-up window: the close of the Nth working day after `created`."""
    zone = ZoneInfo(settings.working_timezone)
    days = _working_days(settings)
    day = created.astimezone(zone).date()
    left = settings.notice_follow_up_working_days
    while left:
        day += dt.timedelta(days=1)
        if day.weekday() in days:
            left -= 1
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)


def last_digest(settings: Settings, now: dt.datetime) -> dt.datetime:
    """The most recent daily digest time at or before `now`."""
    zone = ZoneInfo(settings.working_timezone)
    local = now.astimezone(zone)
    today = dt.datetime.combine(local.date(), dt.time(settings.notice_digest_hour), tzinfo=zone)
    digest = today if today <= local else today - dt.timedelta(days=1)
    return digest.astimezone(dt.UTC)


def _delivered(settings: Settings, now: dt.datetime) -> ColumnElement[bool]:
    """SQL condition: the notice has reached its recipient (at once, or in a digest since)."""
    return or_(Notice.digest.is_(False), Notice.created_at <= last_digest(settings, now))


# --- making notices ---------------------------------------------------------------------------------


def _leads_on(child: Child, user_id: int) -> bool:
    return any(
        inv.practitioner_user_id == user_id and inv.lead_professional and inv.ended_on is None
        for inv in child.involvements
    )


def _recipients(
    session: Session, settings: Settings, user_ids: Iterable[int | None], today: dt.date
) -> list[User]:
    """The practitioners among `user_ids` who may receive anything today (rule 1, no lockdown)."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted or is_locked_down(session):
        return []
    users = session.scalars(
        select(User).where(User.id.in_(wanted)).options(joinedload(User.organisation)).order_by(User.id)
    ).all()
    return [
        user
        for user in users
        if user.role == "practitioner"
        and not accreditation_problems(user, today=today, crb_valid_years=settings.crb_valid_years)
    ]


def _make(
    session: Session,
    settings: Settings,
    recipient: User,
    child: Child,
    about: Involvement,
    event: str,
    now: dt.datetime,
) -> Notice | None:
    """One notice, if the recipient may know of `about` and has not turned notices off."""
    if not sight_of(session, recipient, child).knows_of(about):
        return None
    lead = _leads_on(child, recipient.id)
    delivery = delivery_of(recipient, settings)
    if delivery == "off" and not lead:
        return None
    notice = Notice(
        recipient_user_id=recipient.id,
        child_pk=child.id,
        involvement_id=about.id,
        event=event,
        local_authority_id=child.local_authority_id,
        lead=lead,
        digest=delivery == "daily_digest" and not lead,
        created_at=now,
        follow_up_due_at=follow_up_due(settings, now),
    )
    session.add(notice)
    return notice


def _child_of(session: Session, involvement: Involvement) -> Child:
    child = session.scalar(
        select(Child)
        .where(Child.id == involvement.child_pk)
        .options(joinedload(Child.local_authority), selectinload(Child.involvements))
    )
    assert child is not None  # an involvement's child always exists (foreign key)
    return child


def after_involvement_added(
    session: Session, settings: Settings, involvement: Involvement, now: dt.datetime
) -> list[Notice]:
    """Tell each practitioner already involved of the new service, and the newcomer of theirs."""
    child = _child_of(session, involvement)
    newcomer = involvement.practitioner_user_id
    # A source system's services are among the others (a feed ends them, never deletes them, so a
    # notice keeps pointing at one). A fed service has no newcomer: only the others are told.
    others = [
        inv
        for inv in child.involvements
        if inv.id != involvement.id and inv.ended_on is None and inv.practitioner_user_id != newcomer
    ]
    made: list[Notice] = []
    recipients = _recipients(
        session, settings, [newcomer, *(inv.practitioner_user_id for inv in others)], now.date()
    )
    for recipient in recipients:
        if recipient.id == newcomer:
            made.extend(
                notice
                for inv in others
                if (notice := _make(session, settings, recipient, child, inv, ADDED, now)) is not None
            )
        elif (notice := _make(session, settings, recipient, child, involvement, ADDED, now)) is not None:
            made.append(notice)
    session.flush()
    return made


def after_involvement_ended(
    session: Session, settings: Settings, involvement: Involvement, now: dt.datetime
) -> list[Notice]:
    """Tell each practitioner still involved that this service has ended."""
    child = _child_of(session, involvement)
    still = {
        inv.practitioner_user_id
        for inv in child.involvements
        if inv.ended_on is None and inv.practitioner_user_id != involvement.practitioner_user_id
    }
    made = [
        notice
        for recipient in _recipients(session, settings, still, now.date())
        if (notice := _make(session, settings, recipient, child, involvement, ENDED, now)) is not None
    ]
    session.flush()
    return made


def after_feed_services(
    session: Session,
    settings: Settings,
    *,
    added: Sequence[tuple[int, int]],
    ended: Sequence[tuple[int, int]],
    now: dt.datetime,
) -> list[Notice]:
    """A feed added (or ended) a source system's services, as (child, involvement) pairs: the
    practitioners working with each child are told, as of a practitioner's new (or ended) one.

    Most fed children have no practitioner: those who have are found first, in a few queries.
    """
    children = sorted({child_pk for child_pk, _ in (*added, *ended)})
    working: set[int] = set()
    for start in range(0, len(children), _CHILDREN_PER_QUERY):
        working.update(
            session.scalars(
                select(Involvement.child_pk)
                .where(
                    Involvement.child_pk.in_(children[start : start + _CHILDREN_PER_QUERY]),
                    Involvement.practitioner_user_id.is_not(None),
                    Involvement.ended_on.is_(None),
                )
                .distinct()
            )
        )
    if not working:
        return []
    # The feed wrote these children's involvements with bulk statements: read them afresh.
    fresh = {
        involvement.id: involvement
        for involvement in session.scalars(
            select(Involvement)
            .where(Involvement.child_pk.in_(working))
            .execution_options(populate_existing=True)
        )
    }
    made: list[Notice] = []
    for pairs, tell, still_open in (
        (added, after_involvement_added, True),
        (ended, after_involvement_ended, False),
    ):
        for child_pk, involvement_id in dict.fromkeys(pairs):
            involvement = fresh.get(involvement_id) if child_pk in working else None
            # As it stands now (a record sent twice in one batch may have added and ended it).
            if involvement is not None and (involvement.ended_on is None) == still_open:
                made.extend(tell(session, settings, involvement, now))
    return made


# --- showing notices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownNotice:
    """A notice as disclosed to its recipient: the decision of what they may see, and its audit row."""

    notice: Notice
    sight: Sight
    involvement: Involvement
    unread: bool
    audit_id: int

    @property
    def details(self) -> bool:
        """The other service's practitioner and contact details are shown (not the management team)."""
        return self.sight.shows(self.involvement)


def _inbox_query(user: User, settings: Settings, now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Notice.recipient_user_id == user.id,
        Notice.created_at >= now - dt.timedelta(days=settings.notice_inbox_days),
        _delivered(settings, now),
    )


def unread_count(session: Session, user: User, settings: Settings, now: dt.datetime) -> int:
    """How many delivered notices the user has not yet seen (a number: nothing to audit)."""
    rows = (
        select(Notice.id)
        .where(*_inbox_query(user, settings, now), Notice.read_at.is_(None))
        .limit(INBOX_LIMIT + 1)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(rows)) or 0


def show_inbox(
    session: Session, user: User, origin: trail.Origin, settings: Settings, now: dt.datetime
) -> list[ShownNotice]:
    """The user's delivered notices, newest first: each audited (and committed) before it is returned.

    A notice about a child who has left the service, or about a service the user may no longer
    know of, is not shown. If the audit rows cannot be written, nothing is disclosed.
    """
    notices = session.scalars(
        select(Notice)
        .where(*_inbox_query(user, settings, now))
        .options(
            joinedload(Notice.child).joinedload(Child.local_authority),
            joinedload(Notice.child).selectinload(Child.involvements),
            joinedload(Notice.involvement),
        )
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(INBOX_LIMIT)
    ).all()
    today = now.date()
    age, consent_age = settings.retention_age_years, settings.retention_consent_age_years
    shown: list[ShownNotice] = []
    try:
        for notice in notices:
            child = notice.child
            if not in_service(child, today, age, consent_age):
                continue
            sight = sight_of(session, user, child)
            if not sight.knows_of(notice.involvement):
                continue
            details = sight.shows(notice.involvement)
            code, label = REASONS[notice.event]
            event = trail.record(
                session,
                action="notice_view",
                outcome="disclosed",
                origin=origin,
                user=user,
                child_pk=child.id,
                reason_code=code,
                reason_text=label,
                shielded=sight.under_shield,
                shown=SHOWN_WITH_DETAILS if details else SHOWN_WITHHELD,
                withheld=sight.withheld,
                detail={
                    "notice_id": notice.id,
                    "involvement_id": notice.involvement_id,
                    "shielded_access": sight.shielded_access,
                },
            )
            unread = notice.read_at is None
            if unread:
                notice.read_at = now
            shown.append(ShownNotice(notice, sight, notice.involvement, unread, event.id))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise audit_unavailable() from None
    return shown


def answer_follow_up(
    session: Session,
    user: User,
    origin: trail.Origin,
    notice_id: int,
    answer: str,
    settings: Settings,
    now: dt.datetime,
) -> Notice:
    """The recipient says whether they contacted the other practitioner: contacted, not needed, not yet."""
    if user.role != "practitioner":
        raise role_not_permitted()  # only practitioners receive notices
    notice = session.scalar(
        select(Notice).where(Notice.id == notice_id, *_inbox_query(user, settings, now)).with_for_update()
    )
    if notice is None:
        raise not_found("notice_not_found", "There is no notice with that number for you.")
    if answer not in FOLLOW_UPS:
        raise invalid("follow_up_unknown", "Choose contacted, not needed or not yet.", "answer")
    notice.follow_up = answer
    notice.followed_up_at = now
    trail.record(
        session,
        action="notice_follow_up",
        outcome=answer,
        origin=origin,
        user=user,
        child_pk=notice.child_pk,
        detail={"notice_id": notice.id},
    )
    return notice


# --- follow-up figures ------------------------------------------------------------------------------


@dataclass
class FollowUpFigures:
    """One authority's notices and how they were followed up (counts only: no child, no user)."""

    local_authority_id: int
    local_authority: str
    notices: int = 0
    followed_up_in_time: int = 0
    contacted_in_time: int = 0
    followed_up_late: int = 0
    not_followed_up: int = 0
    window_open: int = 0


def follow_up_report(
    session: Session, user: User, now: dt.datetime, *, days: int = 365
) -> list[FollowUpFigures]:
    """Per authority (a management team its own; the national team all), for notices made in the last
    `days` days: how many were followed up (contacted, or not needed) within the window."""
    followed = Notice.follow_up.in_(FOLLOWED_UP)
    in_time = followed & (Notice.followed_up_at <= Notice.follow_up_due_at)
    counts = session.execute(
        select(
            Notice.local_authority_id,
            LocalAuthority.name,
            func.count(),
            func.sum(case((in_time, 1), else_=0)),
            func.sum(case((in_time & (Notice.follow_up == "contacted"), 1), else_=0)),
            func.sum(case((followed & (Notice.followed_up_at > Notice.follow_up_due_at), 1), else_=0)),
            func.sum(case((~followed & (Notice.follow_up_due_at <= now), 1), else_=0)),
            func.sum(case((~followed & (Notice.follow_up_due_at > now), 1), else_=0)),
        )
        .join(LocalAuthority, LocalAuthority.id == Notice.local_authority_id)
        .where(
            authority_filter(user, Notice.local_authority_id),
            Notice.created_at >= now - dt.timedelta(days=days),
        )
        .group_by(Notice.local_authority_id, LocalAuthority.name)
        .order_by(LocalAuthority.name)
    ).all()
    return [
        FollowUpFigures(la_id, name, int(total), *(int(value or 0) for value in sums))
        for la_id, name, total, *sums in counts
    ]


def yearly_counts(session: Session) -> dict[tuple[int, int], tuple[int, int]]:
    """(year, authority id) → (notices made, followed up in time), for the yearly figures."""
    year = func.extract("year", Notice.created_at)
    in_time = Notice.follow_up.in_(FOLLOWED_UP) & (Notice.followed_up_at <= Notice.follow_up_due_at)
    rows = session.execute(
        select(year, Notice.local_authority_id, func.count(), func.sum(case((in_time, 1), else_=0))).group_by(
            year, Notice.local_authority_id
        )
    ).all()
    return {(int(y), int(la)): (int(n), int(done or 0)) for y, la, n, done in rows}
