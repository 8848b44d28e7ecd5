"""Finding a child: minimum criteria, exact and phonetic name matching (former names too, never an
identity closed for adoption), shielded children protected."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    any_,
    bindparam,
    case,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain import detection, harvesting, household_shield, rate_limits
from cpserver.domain.errors import DomainError, invalid
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.retention import in_service_condition, years_before
from cpserver.store.models import Carer, Child, FormerName, LocalAuthority, User

ENOUGH = (
    "Enter the family name and date of birth (or a date range), "
    "or the given name, family name and either date of birth or postcode."
)


@dataclass(frozen=True)
class Criteria:
    family: str | None = None
    given: str | None = None
    date_of_birth: dt.date | None = None
    date_of_birth_from: dt.date | None = None
    date_of_birth_to: dt.date | None = None
    gender: str | None = None
    postcode: str | None = None
    exact: bool = False


@dataclass(frozen=True)
class Found:
    cp_id: str
    given: str
    family: str
    date_of_birth: dt.date
    gender: str
    locality: str | None
    shielded: bool
    exact_match: bool


@dataclass(frozen=True)
class Outcome:
    results: list[Found]
    more: bool


def _too_broad(message: str, field: str | None = None) -> DomainError:
    return invalid("search_too_broad", message, field=field)


def check_criteria(criteria: Criteria, *, max_range_days: int, today: dt.date) -> None:
    """Raise 400 saying what to add or fix when the criteria are not enough or not valid."""
    family = normalise_name(criteria.family or "")
    given = normalise_name(criteria.given or "")
    has_range = criteria.date_of_birth_from is not None or criteria.date_of_birth_to is not None
    if criteria.date_of_birth is not None and has_range:
        raise invalid(
            "invalid_request",
            "Enter either a date of birth or a date range, not both.",
            field="date_of_birth",
        )
    if has_range:
        start, end = criteria.date_of_birth_from, criteria.date_of_birth_to
        if start is None or end is None:
            field = "date_of_birth_from" if start is None else "date_of_birth_to"
            raise invalid("invalid_request", "Enter both ends of the date range.", field=field)
        if start > end:
            raise invalid(
                "invalid_request",
                "The start of the date range must be before its end.",
                field="date_of_birth_from",
            )
        if (end - start).days > max_range_days:
            raise _too_broad(
                f"The date range is too wide: make it {max_range_days} days or fewer.", "date_of_birth_from"
            )
    for value, field in (
        (criteria.date_of_birth, "date_of_birth"),
        (criteria.date_of_birth_from, "date_of_birth_from"),
    ):
        if value is not None and value > today:
            raise invalid("invalid_request", "The date of birth cannot be in the future.", field=field)
    postcode = normalise_postcode(criteria.postcode or "")
    if criteria.postcode and not 5 <= len(postcode) <= 7:
        raise invalid("invalid_request", "Enter a full postcode, like ZZ1 2AB.", field="postcode")
    if criteria.family and not family:
        raise invalid("invalid_request", "The family name must contain letters.", field="family")
    if criteria.given and not given:
        raise invalid("invalid_request", "The given name must contain letters.", field="given")
    has_dob = criteria.date_of_birth is not None or has_range
    if not family:
        raise _too_broad(f"Add the family name. {ENOUGH}", "family")
    if has_dob or (given and postcode):
        return
    if given:
        raise _too_broad(f"Add the date of birth or the postcode. {ENOUGH}", "date_of_birth")
    raise _too_broad(f"Add the date of birth. {ENOUGH}", "date_of_birth")


@dataclass(frozen=True)
class Shape:
    """Which criteria a search gives (not their values): searches of one shape share one statement."""

    former: bool
    exact: bool
    date_of_birth: bool
    date_range: bool
    given: bool
    gender: bool
    postcode: bool

    @staticmethod
    def of(criteria: Criteria, *, former: bool) -> Shape:
        return Shape(
            former=former,
            exact=criteria.exact,
            date_of_birth=criteria.date_of_birth is not None,
            date_range=criteria.date_of_birth is None
            and criteria.date_of_birth_from is not None
            and criteria.date_of_birth_to is not None,
            given=bool(normalise_name(criteria.given or "")),
            gender=criteria.gender is not None,
            postcode=bool(criteria.postcode),
        )


def build_query(
    criteria: Criteria,
    *,
    today: dt.date,
    age: int,
    consent_age: int,
    limit: int,
) -> tuple[Select[tuple[Child, str, int]], dict[str, object]]:
    """The search as one statement of two indexed queries (family key + date of birth), each with
    its best `limit` matches, and its values (`_both_statement`).

    The second part matches the family name against the child's former names (the `former_names`
    table, indexed the same way), never an identity closed for adoption; every other criterion is
    the child's own, and the child is shown by its current name.

    The statement is built once per `Shape` with bound parameters (building it and computing its
    cache key cost more CPU than the search's round trip); the values are this search's.
    """
    family = normalise_name(criteria.family or "")
    given = normalise_name(criteria.given or "")
    values: dict[str, object] = {
        "family": family,
        "family_key": phonetic_key(family),
        "given": given,
        "given_key": phonetic_key(given) if given else "",
        "date_of_birth": criteria.date_of_birth,
        "born_from": criteria.date_of_birth_from,
        "born_to": criteria.date_of_birth_to,
        "gender": criteria.gender,
        "postcode": normalise_postcode(criteria.postcode or ""),
        "limit": limit,
        "born_after": years_before(today, age),
        "born_after_with_consent": years_before(today, consent_age),
    }
    return _both_statement(Shape.of(criteria, former=False)), values


@lru_cache(maxsize=128)
def _statement(shape: Shape) -> Select[tuple[Child, str, int]]:
    names: type[Child] | type[FormerName] = FormerName if shape.former else Child
    given: BindParameter[str] = bindparam("given")
    exact_family = names.family_norm == bindparam("family")
    exact_given = (
        or_(Child.given_norm == given, FormerName.given_norm == given)
        if shape.former
        else Child.given_norm == given
    )
    rank = case((exact_family, 0), else_=1) + (case((exact_given, 0), else_=1) if shape.given else 0)
    query = select(Child, LocalAuthority.name, rank.label("rank")).join(
        LocalAuthority, Child.local_authority_id == LocalAuthority.id
    )
    if shape.former:
        query = query.join(FormerName, FormerName.child_pk == Child.id).where(
            FormerName.closed_for_adoption.is_(False)
        )
    query = (
        query.where(exact_family) if shape.exact else query.where(names.family_key == bindparam("family_key"))
    )
    # The date of birth of the row the name is on (a former name carries the child's), so the
    # family key and the date are one index range either way.
    if shape.date_of_birth:
        query = query.where(names.date_of_birth == bindparam("date_of_birth"))
    elif shape.date_range:
        query = query.where(names.date_of_birth.between(bindparam("born_from"), bindparam("born_to")))
    if shape.given:
        phonetic_given = Child.given_key == bindparam("given_key")
        query = query.where(exact_given if shape.exact else or_(phonetic_given, exact_given))
    if shape.gender:
        query = query.where(Child.gender == bindparam("gender"))
    if shape.postcode:
        # A shielded child's postcode is a hidden field: never matched on it.
        query = query.where(Child.postcode_norm == bindparam("postcode"), Child.shielded.is_(False))
    query = query.where(in_service_condition(bindparam("born_after"), bindparam("born_after_with_consent")))
    return query.order_by(rank, Child.family_name, Child.given_name, Child.date_of_birth, Child.id).limit(
        bindparam("limit")
    )


@lru_cache(maxsize=64)
def _both_statement(shape: Shape) -> Select[tuple[Child, str, int]]:
    """The search by the child's name and by its former names (`shape`'s `former` is ignored), each
    with its own order and limit, in one statement: one round trip instead of two. Built once.

    Each part is wrapped as a subquery (SQLite takes no ORDER BY or LIMIT on a compound's parts);
    a child found by both comes back twice, and `matching_rows` keeps its best rank.
    """
    parts = [
        select(*_statement(each).subquery().c)
        for each in (replace(shape, former=False), replace(shape, former=True))
    ]
    both = union_all(*parts).subquery("found")
    child = aliased(Child, both, adapt_on_names=True)
    return select(child, both.c.name, both.c.rank)


def _ordering(row: tuple[Child, str, int]) -> tuple[int, str, str, dt.date, int]:
    child, _la, rank = row
    return (rank, child.family_name, child.given_name, child.date_of_birth, child.id)


def matching_rows(
    session: Session, criteria: Criteria, *, today: dt.date, age: int, consent_age: int, limit: int
) -> list[tuple[Child, str, int]]:
    """Children matching by their name or a former name, each once (its best rank), best first."""
    best: dict[int, tuple[Child, str, int]] = {}
    query, values = build_query(criteria, today=today, age=age, consent_age=consent_age, limit=limit)
    for child, la_name, rank in session.execute(query, values).tuples():
        if child.id not in best or rank < best[child.id][2]:
            best[child.id] = (child, la_name, rank)
    return sorted(best.values(), key=_ordering)[:limit]


@lru_cache(maxsize=2)
def _carers_statement(postgres: bool) -> Select[tuple[Carer]]:
    """The carers of the children found (bound as `children`), built once.

    On PostgreSQL the ids are one array parameter (`= ANY`), so the text is the same whatever the
    number of results and the server plans it once per connection (a prepared statement), as
    `household_shield`'s probe does; `IN` would be a new text, parsed and planned, for each count.
    """
    wanted: ColumnElement[bool]
    if postgres:
        wanted = Carer.child_pk == any_(bindparam("children", type_=postgresql.ARRAY(Integer)))
    else:
        wanted = Carer.child_pk.in_(bindparam("children", expanding=True))
    return select(Carer).where(wanted)


def find_children(
    session: Session,
    criteria: Criteria,
    *,
    today: dt.date,
    age: int,
    consent_age: int,
    max_results: int,
    user: User | None = None,
) -> Outcome:
    """At most `max_results` children matching `criteria`, and whether there were more.

    As `user` may see them (None: a user who may see no shielded details). A postcode that
    belongs to a shielded household this user may not see matches nothing; a child covered by a
    household shield is listed as shielded, with no locality (cpserver.domain.household_shield).
    """
    if criteria.postcode and household_shield.postcode_hidden_from(session, user, criteria.postcode):
        return Outcome(results=[], more=False)
    rows = matching_rows(
        session, criteria, today=today, age=age, consent_age=consent_age, limit=max_results + 1
    )
    shown = [child for child, _la, _rank in rows[:max_results]]
    carers: dict[int, list[Carer]] = {child.id: [] for child in shown}
    if shown:
        postgres = session.get_bind().dialect.name == "postgresql"
        for carer in session.scalars(_carers_statement(postgres), {"children": list(carers)}):
            carers[carer.child_pk].append(carer)
    cover = household_shield.covering_shields(session, [(child, carers[child.id]) for child in shown])
    withheld = {
        child.id
        for child in shown
        if (child.shielded and not household_shield.sees_shielded_details(user, child))
        or household_shield.hidden_shields(user, cover[child.id])
    }
    results = [
        Found(
            cp_id=child.cp_id,
            given=child.given_name,
            family=child.family_name,
            date_of_birth=child.date_of_birth,
            gender=child.gender,
            locality=None if child.id in withheld or child.shielded else (child.town or la_name),
            shielded=child.shielded or child.id in withheld,
            exact_match=rank == 0,
        )
        for child, la_name, rank in rows[:max_results]
    ]
    return Outcome(results=results, more=len(rows) > max_results)


def search(
    session: Session,
    actor: User,
    origin: trail.Origin,
    criteria: Criteria,
    *,
    settings: Settings,
    now: dt.datetime,
) -> Outcome:
    """A practitioner's search: criteria checked, children found, the search audited, then detection.

    The criteria are kept in the audit trail (never in logs) for misuse investigations.
    """
    today = now.date()
    # The volume rule's counts are read with the rate limits', in one round trip under the user's
    # lock (as a record view's are); `after_access` adds this search's own row to them.
    before = rate_limits.check(
        session,
        settings,
        actor,
        origin,
        "search",
        now,
        detail={"criteria": _as_json(criteria)},
        watch=harvesting.volume_questions(settings, "search") if settings.detection_enabled else (),
    )
    check_criteria(criteria, max_range_days=settings.search_max_dob_range_days, today=today)
    outcome = find_children(
        session,
        criteria,
        today=today,
        age=settings.retention_age_years,
        consent_age=settings.retention_consent_age_years,
        max_results=settings.search_max_results,
        user=actor,
    )
    event = trail.record(
        session,
        action="search",
        outcome="results" if outcome.results else "no_results",
        origin=origin,
        user=actor,
        detail={"criteria": _as_json(criteria), "count": len(outcome.results)},
    )
    if settings.detection_enabled:
        detection.after_search(
            session, settings, actor, event, criteria.family, now, postcode=criteria.postcode
        )
        harvesting.after_access(session, settings, actor, "search", now, before=before)
    return outcome


def _as_json(criteria: Criteria) -> dict[str, object]:
    """The criteria given, as JSON values (dates as ISO strings), leaving out those not given."""
    return {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in asdict(criteria).items()
        if value is not None
    }
