"""Rule 7: harvesting escalates instead of going quiet.

Volume (searches and record views) is measured on every access, whether or not an alert is
already open; past a documented threshold it raises a high-severity alert, which suspends the
account (cpserver.domain.detection.raise_alert). Refusals by the rate limits keep being counted
and escalate the same way. Runs of ContactPoint IDs that do not exist, and walks through
consecutive IDs, are rules of their own.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from functools import lru_cache

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cpserver.config import Settings
from cpserver.domain import recent_activity
from cpserver.domain.detection import raise_alert
from cpserver.store.models import AuditEvent, Child, User

_DIGITS = re.compile(r"\d+")
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def _count(
    session: Session, user: User, since: dt.datetime, cap: int, *conditions: ColumnElement[bool]
) -> int:
    rows = (
        select(AuditEvent.id)
        .where(AuditEvent.user_id == user.id, AuditEvent.occurred_at >= since, *conditions)
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(rows)) or 0


@lru_cache(maxsize=64)
def _volume_counts(settings: Settings, action: str) -> tuple[recent_activity.Count, recent_activity.Count]:
    """The user's searches (answered) or record views (disclosed) in the last hour and day."""
    counted = (AuditEvent.action == action, AuditEvent.outcome.in_(("disclosed", "results", "no_results")))
    if action == "view":
        high_hour, high_day = settings.view_volume_high_hour, settings.view_volume_high_day
    else:
        high_hour, high_day = settings.search_volume_high_hour, settings.search_volume_high_day
    mine = AuditEvent.user_id == recent_activity.USER
    return (
        recent_activity.Count(
            f"{action}_volume_hour",
            (mine, AuditEvent.occurred_at >= recent_activity.since(HOUR), *counted),
            max(high_hour, settings.search_volume_hour),
        ),
        recent_activity.Count(
            f"{action}_volume_day",
            (mine, AuditEvent.occurred_at >= recent_activity.since(DAY), *counted),
            high_day,
        ),
    )


def volume_questions(settings: Settings, action: str) -> tuple[recent_activity.Question, ...]:
    """What `after_access` counts, to be asked before the access (`rate_limits.check(watch=...)`)."""
    return _volume_counts(settings, action)


def after_access(
    session: Session,
    settings: Settings,
    user: User,
    action: str,
    now: dt.datetime,
    *,
    before: recent_activity.Answers | None = None,
) -> None:
    """Escalate volume: searches or views past the high thresholds in an hour or a day suspend.

    Measured on every access that counts (a search answered, a record disclosed), open alerts or
    not. Searches also raise a medium alert past their own hourly minimum (record views have
    cpserver.domain.detection's baseline rule). `before`: the answers to `volume_questions` read
    before this access's own row, which is added here; without them the counts are read now.
    """
    hour_count, day_count = _volume_counts(settings, action)
    if before is None:
        before = recent_activity.read(
            session, (hour_count, day_count), recent_activity.parameters(user.id, "", now)
        )
        hour, day = before.counts[hour_count.name], before.counts[day_count.name]
    else:
        hour = hour_count.after(before, counts_own_row=True)
        day = day_count.after(before, counts_own_row=True)
    if action == "view":
        high_hour, high_day = settings.view_volume_high_hour, settings.view_volume_high_day
    else:
        high_hour, high_day = settings.search_volume_high_hour, settings.search_volume_high_day
    what = "records opened" if action == "view" else "searches"
    if hour >= high_hour or day >= high_day:
        raise_alert(
            session,
            settings,
            user,
            rule=f"{action}_volume_high",
            severity="high",
            summary=f"{hour} {what} in the last hour and {day} in the last day: "
            "past the threshold for harvesting the directory.",
            evidence={
                action + "s_hour": hour,
                action + "s_day": day,
                "threshold_hour": high_hour,
                "threshold_day": high_day,
            },
            now=now,
        )
    elif action == "search" and hour >= settings.search_volume_hour:
        raise_alert(
            session,
            settings,
            user,
            rule="search_volume",
            severity="medium",
            summary=f"{hour} searches in the last hour, far above a practitioner's usual.",
            evidence={"searches_hour": hour, "threshold": settings.search_volume_hour},
            now=now,
        )


def after_refusal(session: Session, settings: Settings, user: User, limit: str, now: dt.datetime) -> None:
    """A rate-limit refusal: an alert at the first; past the threshold in a day, high (suspends)."""
    refusals = _count(
        session,
        user,
        now - dt.timedelta(days=1),
        settings.rate_limit_refusals_high,
        AuditEvent.outcome == "refused:rate_limited",
    )
    high = refusals >= settings.rate_limit_refusals_high
    raise_alert(
        session,
        settings,
        user,
        rule="rate_limit_high" if high else "rate_limited",
        severity="high" if high else "medium",
        summary=f"Refused by the rate limit ({limit}) {refusals} times in a day"
        + (": kept trying, as harvesting would." if high else "."),
        evidence={"refusals_day": refusals, "limit": limit},
        now=now,
    )


def _number(cp_id: str) -> int | None:
    digits = _DIGITS.findall(cp_id or "")
    return int(digits[-1]) if digits else None


@lru_cache(maxsize=64)
def _attempt_questions(
    settings: Settings,
) -> tuple[recent_activity.Count, recent_activity.Count, recent_activity.Latest]:
    """IDs asked for that do not exist (last hour, last day), and the IDs of the latest view attempts
    in the hour but one (the attempt being made is the last)."""
    mine = (AuditEvent.user_id == recent_activity.USER, AuditEvent.action == "view")
    not_found = AuditEvent.outcome == "denied:child_not_found"
    in_the_hour = AuditEvent.occurred_at >= recent_activity.since(HOUR)
    asked_for = func.coalesce(Child.cp_id, AuditEvent.detail["requested"].as_string())
    return (
        recent_activity.Count(
            "not_found_hour", (*mine, in_the_hour, not_found), settings.not_found_limit_hour
        ),
        recent_activity.Count(
            "not_found_day",
            (*mine, AuditEvent.occurred_at >= recent_activity.since(DAY), not_found),
            settings.not_found_high_day,
        ),
        recent_activity.Latest(
            "ids_asked_for",
            select(asked_for)
            .select_from(AuditEvent)
            .outerjoin(Child, Child.id == AuditEvent.child_pk)
            .where(*mine, in_the_hour)
            .order_by(AuditEvent.seq.desc())
            .limit(max(settings.id_walk_window - 1, 0)),
        ),
    )


def view_attempt_questions(settings: Settings) -> tuple[recent_activity.Question, ...]:
    """What `after_view_attempt` reads, to be asked before the attempt (`rate_limits.check(watch=...)`)."""
    return _attempt_questions(settings)


def after_view_attempt(
    session: Session,
    settings: Settings,
    user: User,
    now: dt.datetime,
    *,
    before: recent_activity.Answers,
    asked_for: str,
    found: bool,
) -> None:
    """Runs of IDs that do not exist, and walks through consecutive IDs, among recent view attempts.

    `before`: the answers to `view_attempt_questions`, read under the user's lock before this
    attempt's own row (the ID `asked_for`, `found` or not), which is added here.
    """
    not_found_hour_count, not_found_day_count, latest = _attempt_questions(settings)
    not_found_hour = not_found_hour_count.after(before, counts_own_row=not found)
    not_found_day = not_found_day_count.after(before, counts_own_row=not found)
    if not_found_day >= settings.not_found_high_day or not_found_hour >= settings.not_found_limit_hour:
        high = not_found_day >= settings.not_found_high_day
        raise_alert(
            session,
            settings,
            user,
            rule="not_found_run_high" if high else "not_found_run",
            severity="high" if high else "medium",
            summary=f"Asked for {not_found_hour} ContactPoint IDs that do not exist in an hour "
            f"({not_found_day} in a day): guessing IDs?",
            evidence={"not_found_hour": not_found_hour, "not_found_day": not_found_day},
            now=now,
        )
    recent = [asked_for, *before.texts[latest.name]][: settings.id_walk_window]
    numbers = sorted({number for text in recent if (number := _number(text)) is not None})
    run = longest = 1 if numbers else 0
    for previous, following in itertools.pairwise(numbers):
        run = run + 1 if following - previous <= settings.id_walk_gap else 1
        longest = max(longest, run)
    if longest >= settings.id_walk_run:
        raise_alert(
            session,
            settings,
            user,
            rule="id_walk",
            severity="high",
            summary=f"Asked for {longest} consecutive ContactPoint IDs in a row: walking the directory.",
            evidence={"ids_in_run": longest},
            now=now,
        )
