"""Rule 7: unusual activity is noticed on every access, in the same transaction as its audit row.

Each alert names the rule, the user, the evidence (audit sequence numbers, counts; never a child's
details) and a severity. High-severity alerts suspend the account at once and say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import Session

from cpserver.config import Settings
from cpserver.domain import recent_activity
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.sessions import end_sessions_of
from cpserver.store.models import Alert, AuditEvent, Child, User
from cpserver.store.models import Session as LoginSession

DEDUPE = dt.timedelta(hours=24)
# On a training server, several demo accounts share one workstation and one address by design, and
# a class opens the same fictitious records over and over: the rules about shared access details
# and about volume would fire at every demonstration (and suspend the demo accounts), so they stay
# quiet there, as the rate limits do (cpserver.domain.rate_limits). Every other rule still fires
# (trainers demonstrate them), marked as training.
TRAINING_QUIET = frozenset(
    {
        "shared_workstation",
        "two_workstations",
        "two_addresses",
        "token_moved",
        "volume",
        "view_volume_high",
        "search_volume",
        "search_volume_high",
        "rate_limited",
        "rate_limit_high",
        "not_found_run",
        "not_found_run_high",
        "id_walk",
        "browsing",
    }
)


def raise_alert(
    session: Session,
    settings: Settings,
    user: User,
    *,
    rule: str,
    severity: str,
    summary: str,
    evidence: Mapping[str, object],
    now: dt.datetime,
    always: bool = False,
) -> Alert | None:
    """Record an alert (once a day per user and rule, unless `always`); high severity suspends."""
    if settings.training and rule in TRAINING_QUIET:
        return None
    if not always and _open_alert(session, user, rule, now):
        return None
    if settings.training:
        summary = "[Training] " + summary
    suspend = severity == "high" and settings.auto_suspend_high and not user.suspended
    alert = Alert(
        raised_at=now,
        rule=rule,
        severity=severity,
        user_id=user.id,
        local_authority_id=user.local_authority_id,
        summary=summary + (" The account was suspended automatically." if suspend else ""),
        evidence=dict(evidence),
        status="open",
        auto_suspended=suspend,
    )
    session.add(alert)
    if suspend:
        user.suspended = True
        user.suspended_reason = f"Suspended automatically: {rule} alert"
        end_sessions_of(session, user.id, "suspended", now)
    session.flush()
    return alert


@lru_cache(maxsize=1)
def _open_alert_statement() -> Select[tuple[int]]:
    """Built once: building a statement costs more CPU than sending it."""
    return select(Alert.id).where(
        Alert.user_id == bindparam("alert_user"),
        Alert.rule == bindparam("alert_rule"),
        Alert.status == "open",
        Alert.raised_at > bindparam("alert_since"),
    )


def _open_alert(session: Session, user: User, rule: str, now: dt.datetime) -> bool:
    found = session.scalar(
        _open_alert_statement(), {"alert_user": user.id, "alert_rule": rule, "alert_since": now - DEDUPE}
    )
    return found is not None


# Counting stops here: enough to compare with any sensible threshold, and the cost of an access
# does not grow with how many accesses came before it.
COUNT_CAP = 2000


def _count(
    session: Session, user: User, since: dt.datetime, *conditions: ColumnElement[bool], cap: int = COUNT_CAP
) -> int:
    """How many of the user's audit rows since `since` meet `conditions`, counting at most `cap`."""
    rows = (
        select(AuditEvent.id)
        .where(AuditEvent.user_id == user.id, AuditEvent.occurred_at >= since, *conditions)
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(rows)) or 0


VOLUME_SPANS = ((dt.timedelta(hours=1), "hour"), (dt.timedelta(days=1), "day"))


@lru_cache(maxsize=1)
def _view_counts() -> tuple[recent_activity.Count, ...]:
    """The user's record views (disclosed) in the last hour and in the last day, up to `COUNT_CAP`."""
    return tuple(
        recent_activity.Count(
            f"views_{label}",
            (
                AuditEvent.user_id == recent_activity.USER,
                AuditEvent.occurred_at >= recent_activity.since(span),
                AuditEvent.action == "view",
                AuditEvent.outcome == "disclosed",
            ),
            COUNT_CAP,
        )
        for span, label in VOLUME_SPANS
    )


def view_questions() -> tuple[recent_activity.Question, ...]:
    """What `after_view` counts, to be asked before the view (`rate_limits.check(watch=...)`)."""
    return _view_counts()


def out_of_hours(settings: Settings, now: dt.datetime) -> bool:
    local = now.astimezone(ZoneInfo(settings.working_timezone))
    days = {int(day) for day in settings.working_days.split(",") if day.strip()}
    return (
        local.weekday() not in days
        or not settings.working_hours_start <= local.hour < settings.working_hours_end
    )


def same_family_name(user: User, family: str | None) -> bool:
    """The user's own family name, written the same way or sounding the same (Smith, Smyth)."""
    if not family or not user.family_name or not normalise_name(family):
        return False
    return normalise_name(family) == normalise_name(user.family_name) or phonetic_key(family) == phonetic_key(
        user.family_name
    )


def own_postcode(user: User, postcode: str | None) -> bool:
    home = normalise_postcode(user.home_postcode or "")
    return bool(home) and normalise_postcode(postcode or "") == home


@lru_cache(maxsize=1)
def _recent_searches_statement() -> Select[tuple[int, dict[str, Any]]]:
    """The user's latest searches (seq, detail), newest first; none while the user has an open
    browsing alert (`_open_alert`'s question, asked in the same round trip). Built once."""
    return (
        select(AuditEvent.seq, AuditEvent.detail)
        .where(
            AuditEvent.user_id == bindparam("search_user"),
            AuditEvent.action == "search",
            AuditEvent.occurred_at >= bindparam("search_since"),
            ~_open_alert_statement().exists(),
        )
        .order_by(AuditEvent.seq.desc())
        .limit(bindparam("search_limit"))
    )


def after_search(
    session: Session,
    settings: Settings,
    user: User,
    event: AuditEvent,
    family: str | None,
    now: dt.datetime,
    *,
    postcode: str | None = None,
) -> None:
    """Family-name and own-postcode searches, and browsing (many near-identical searches)."""
    if same_family_name(user, family):
        raise_alert(
            session,
            settings,
            user,
            rule="family_name_search",
            severity="medium",
            summary="Searched for the user's own family name, or one that sounds the same "
            "(possible family member).",
            evidence={"audit_seq": [event.seq]},
            now=now,
        )
    if own_postcode(user, postcode):
        raise_alert(
            session,
            settings,
            user,
            rule="own_postcode_search",
            severity="medium",
            summary="Searched on the user's own home postcode (possible family member or neighbour).",
            evidence={"audit_seq": [event.seq]},
            now=now,
        )
    if family:
        window = now - dt.timedelta(minutes=settings.browsing_window_minutes)
        # Bounded: only the most recent searches matter, however fast someone searches. None while
        # a browsing alert is open (it is not raised twice).
        recent = session.execute(
            _recent_searches_statement(),
            {
                "search_user": user.id,
                "search_since": window,
                "search_limit": settings.browsing_search_limit * 3,
                "alert_user": user.id,
                "alert_rule": "browsing",
                "alert_since": now - DEDUPE,
            },
        ).all()
        key = phonetic_key(family)
        similar = [
            seq
            for seq, detail in recent
            if phonetic_key(str(detail.get("criteria", {}).get("family", ""))) == key
        ]
        if len(similar) >= settings.browsing_search_limit:
            raise_alert(
                session,
                settings,
                user,
                rule="browsing",
                severity="medium",
                summary=f"{len(similar)} near-identical searches in "
                f"{settings.browsing_window_minutes} minutes.",
                evidence={"audit_seq": similar[-20:]},
                now=now,
            )
    _out_of_hours(session, settings, user, event, now)


def _out_of_hours(
    session: Session, settings: Settings, user: User, event: AuditEvent, now: dt.datetime
) -> None:
    if out_of_hours(settings, now):
        raise_alert(
            session,
            settings,
            user,
            rule="out_of_hours",
            severity="low",
            summary="Used ContactPoint outside working hours.",
            evidence={"audit_seq": [event.seq]},
            now=now,
        )


def after_view(
    session: Session,
    settings: Settings,
    user: User,
    child: Child,
    event: AuditEvent,
    now: dt.datetime,
    *,
    override: bool = False,
    before: recent_activity.Answers | None = None,
) -> None:
    """Family members, volume, out of hours, repeated "other", outside the authority, overrides.

    `before`: the answers to `view_questions`, read before this view's own row (`event`, which is
    added here); without them the counts are read now.
    """
    seq: dict[str, object] = {"audit_seq": [event.seq], "child": child.cp_id}
    if override:
        raise_alert(
            session,
            settings,
            user,
            rule="shield_override",
            severity="high",
            summary="Overrode a shielded record to see its details; an investigation must follow.",
            evidence=seq,
            now=now,
            always=True,
        )
    # The child's family name or a carer's, exact or sounding the same; the child's home or a carer's.
    same_name = same_family_name(user, child.family_name) or any(
        same_family_name(user, carer.family_name) for carer in child.carers
    )
    same_home = own_postcode(user, child.postcode) or any(
        own_postcode(user, carer.postcode) for carer in child.carers
    )
    if same_name and same_home:
        raise_alert(
            session,
            settings,
            user,
            rule="family_member",
            severity="high",
            summary="Opened the record of a child with the user's family name at the user's own postcode.",
            evidence=seq,
            now=now,
            always=True,
        )
    elif same_name or same_home:
        what = "family name" if same_name else "home postcode"
        raise_alert(
            session,
            settings,
            user,
            rule="family_member",
            severity="medium",
            summary=f"Opened the record of a child sharing the user's {what}.",
            evidence=seq,
            now=now,
        )
    _volume(session, settings, user, now, before)
    _out_of_hours(session, settings, user, event, now)
    if event.reason_code == "other" and not _open_alert(session, user, "repeated_other", now):
        others = _count(
            session,
            user,
            now - dt.timedelta(days=1),
            AuditEvent.action == "view",
            AuditEvent.reason_code == "other",
            cap=settings.other_reason_limit_per_day,
        )
        if others >= settings.other_reason_limit_per_day:
            raise_alert(
                session,
                settings,
                user,
                rule="repeated_other",
                severity="low",
                summary=f'Gave the reason "Other" {others} times in a day.',
                evidence=seq,
                now=now,
            )
    if event.detail.get("outside_authority") and not _open_alert(session, user, "outside_authority", now):
        outside = _count(
            session,
            user,
            now - dt.timedelta(days=1),
            AuditEvent.action == "view",
            AuditEvent.detail["outside_authority"].as_boolean().is_(True),
            cap=settings.outside_authority_limit_per_day,
        )
        if outside >= settings.outside_authority_limit_per_day:
            raise_alert(
                session,
                settings,
                user,
                rule="outside_authority",
                severity="medium",
                summary=f"Opened {outside} records outside the user's authority "
                "with no involvement in a day.",
                evidence=seq,
                now=now,
            )


def outside_authority(user: User, child: Child) -> bool:
    """A practitioner opening a child of another authority with whom they have no involvement."""
    if user.role != "practitioner" or child.local_authority_id == user.local_authority_id:
        return False
    # The record's involvements (ended ones too) are loaded with it (record_access.load_child).
    return not any(involvement.practitioner_user_id == user.id for involvement in child.involvements)


def _volume(
    session: Session, settings: Settings, user: User, now: dt.datetime, before: recent_activity.Answers | None
) -> None:
    """Opens in the last hour or day far above the user's own baseline and the authority's norm.

    Measured even while a volume alert is open (the alert is raised once a day); the escalation
    to high severity is cpserver.domain.harvesting's.
    """
    counts = _view_counts()
    if before is None:
        fresh = recent_activity.read(session, counts, recent_activity.parameters(user.id, "", now))
        found = [fresh.counts[count.name] for count in counts]
    else:
        found = [count.after(before, counts_own_row=True) for count in counts]
    minimums = (settings.volume_hour_minimum, settings.volume_day_minimum)
    for (span, label), minimum, count in zip(VOLUME_SPANS, minimums, found, strict=True):
        if count <= minimum:  # the cheap check first: most views stop here
            continue
        # The month-long comparison is dearer: run it just past the threshold and every fifth view after.
        if (count - minimum - 1) % 5 != 0:
            continue
        month_ago = now - dt.timedelta(days=30)
        periods = dt.timedelta(days=29) / span
        own = _count(
            session, user, month_ago, AuditEvent.occurred_at < now - span, AuditEvent.action == "view"
        )
        authority_views = (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.local_authority_id == user.local_authority_id,
                    AuditEvent.action == "view",
                    AuditEvent.occurred_at >= month_ago,
                    AuditEvent.occurred_at < now - span,
                )
            )
            or 0
        )
        users = (
            session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.local_authority_id == user.local_authority_id)
            )
            or 1
        )
        limit = max(
            minimum,
            settings.volume_baseline_factor * own / periods,
            settings.volume_baseline_factor * authority_views / users / periods,
        )
        if count > limit:
            raise_alert(
                session,
                settings,
                user,
                rule="volume",
                severity="medium",
                summary=f"Opened {count} records in the last {label}, far above the usual.",
                evidence={"views": count, "threshold": round(limit, 1), "period": label},
                now=now,
            )


def after_login(
    session: Session, settings: Settings, user: User, login: LoginSession, now: dt.datetime
) -> None:
    """Shared access details: one account on two workstations or from two addresses at once, or a
    workstation passed between users."""
    active_since = now - dt.timedelta(minutes=settings.session_idle_minutes)
    # The declared workstation name is the client's word; the network address is the server's.
    other_address = session.scalar(
        select(LoginSession.id).where(
            LoginSession.user_id == user.id,
            LoginSession.id != login.id,
            LoginSession.ended_at.is_(None),
            LoginSession.last_seen_at >= active_since,
            LoginSession.client_address != login.client_address,
        )
    )
    if other_address is not None:
        raise_alert(
            session,
            settings,
            user,
            rule="two_addresses",
            severity="medium",
            summary="The account is signed in from two network addresses at once (shared access details?).",
            evidence={"sessions": [other_address, login.id]},
            now=now,
        )
    elsewhere = session.scalar(
        select(LoginSession.id).where(
            LoginSession.user_id == user.id,
            LoginSession.id != login.id,
            LoginSession.ended_at.is_(None),
            LoginSession.last_seen_at >= active_since,
            LoginSession.workstation != login.workstation,
        )
    )
    if elsewhere is not None:
        raise_alert(
            session,
            settings,
            user,
            rule="two_workstations",
            severity="medium",
            summary="The account is active on two workstations at once (shared access details?).",
            evidence={"sessions": [elsewhere, login.id]},
            now=now,
        )
    recent = now - dt.timedelta(minutes=settings.shared_workstation_minutes)
    other_user = session.scalar(
        select(LoginSession.user_id).where(
            LoginSession.workstation == login.workstation,
            LoginSession.user_id != user.id,
            LoginSession.created_at >= recent,
        )
    )
    first_time_here = (
        session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.workstation == login.workstation)
        )
        or 0
    ) <= 1
    if other_user is not None and first_time_here:
        raise_alert(
            session,
            settings,
            user,
            rule="shared_workstation",
            severity="medium",
            summary="Signed in from a new workstation minutes after another user signed in on it.",
            evidence={"workstation": login.workstation[:100], "sessions": [login.id]},
            now=now,
        )


def after_request(
    session: Session, settings: Settings, login: LoginSession, client_address: str, now: dt.datetime
) -> bool:
    """A session's token used from another network address than the one it signed in from.

    Returns True when an alert was raised (the caller commits it).
    """
    if client_address == login.client_address or not settings.detection_enabled:
        return False
    alert = raise_alert(
        session,
        settings,
        login.user,
        rule="token_moved",
        severity="medium",
        summary="A session was used from a second network address (a copied token?).",
        evidence={"sessions": [login.id]},
        now=now,
    )
    return alert is not None
