"""The possible-match queue (rule 12): is a feed row a child already on the directory? A person decides.

The loader holds a row here when the matcher is unsure (`possible_match`) or when a candidate is a
shielded child (`shielded_candidate`): such a row is never created as a new visible record without
a person. Only the management team of the item's authority (the candidate's) sees and decides it;
anyone else, and any id that does not exist, gets the same 404 (`match_review_not_found`), so the
queue is no oracle of which ids exist elsewhere. The national team does not work the queue: the
items name children and, for a shielded candidate, show its hidden details, which rule 5 keeps to
that authority's team alone.

Opening an item is a disclosure (the two records side by side), audited (`match_review_view`)
before anything is built. A decision is audited (`match_review_decision`) and made once (409
`already_decided`):

- `same_child`: the row is applied to the candidate and the source's record id linked to it; a
  shielded candidate stays shielded (the merge carries the shield).
- `different_children`: the row becomes a new record. For a shielded candidate this is safe: the
  new record is another child who resembles a shielded one and holds only the row's own facts. If
  the row's address or a telephone is the shielded household's, the household shield
  (`household_shield`) covers the new record at read time, as for any child who moves in.

A side's household facts (address, telephones, carers' contacts, school, GP) are withheld when
they belong to a shielded household of another authority that this team may not see.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.config import Settings
from cpserver.domain import household_shield, notices
from cpserver.domain.errors import conflict, invalid, not_found
from cpserver.domain.feeds.apply import ApplyStats, RowRejected, apply_row
from cpserver.domain.feeds.rows import FeedCarer, FeedRow
from cpserver.domain.notify import Mailer
from cpserver.domain.oversight_scope import list_shown, require_cmt
from cpserver.domain.paging import PAGE_MAX, Page, queue_page
from cpserver.domain.record_access import load_child, sight_of
from cpserver.store.models import (
    Carer,
    Child,
    EducationSetting,
    FeedBatch,
    FeedSource,
    GpPractice,
    LocalAuthority,
    MatchReview,
    User,
)

DECISIONS = ("same_child", "different_children")
WITHHELD = "Withheld: shielded household"
NOT_RECORDED = ""
# The fields compared, in the order shown (carers' rows are numbered: carer_1, carer_1_address, ...).
HOUSEHOLD_FIELDS = ("address", "telephone", "education_setting", "gp_practice")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True)
class Pair:
    """One compared field: the incoming row's value and the directory's, as text."""

    field: str
    incoming: str
    directory: str

    @property
    def agreement(self) -> str:
        """ "same" or "different" (letters and digits compared), or "not_in_row": the row says nothing
        of this field (a source that does not know a child's GP never erases it)."""
        if not self.incoming and self.directory:
            return "not_in_row"
        same = _NOT_ALNUM.sub("", self.incoming.upper()) == _NOT_ALNUM.sub("", self.directory.upper())
        return "same" if same else "different"


@dataclass(frozen=True)
class QueueItem:
    """An open item as listed: the review, the row, the candidate (None if it has gone), the source."""

    review: MatchReview
    row: FeedRow
    candidate: Child | None
    source_name: str


@dataclass(frozen=True)
class Comparison:
    """One item opened: the two records side by side."""

    item: QueueItem
    pairs: list[Pair]


def open_items(
    session: Session, actor: User, origin: trail.Origin, *, after: int | None = None, limit: int = PAGE_MAX
) -> Page[QueueItem]:
    """A page of the open items of the management team's authority, oldest first; the page is audited.

    `after`: the id of the last item of the page before (`queue_page`); `limit` is capped at `PAGE_MAX`.
    """
    authority = require_cmt(actor)
    query = (
        select(MatchReview, FeedSource.name)
        .join(FeedSource, FeedSource.id == MatchReview.source_id)
        .where(MatchReview.local_authority_id == authority, MatchReview.status == "open")
    )
    rows, more = queue_page(
        session,
        query,
        MatchReview,
        scope=MatchReview.local_authority_id == authority,
        after=after,
        limit=limit,
    )
    items = [
        QueueItem(review, FeedRow.from_json(review.incoming), review.candidate, name) for review, name in rows
    ]
    list_shown(session, actor, origin, "match_reviews", [item.candidate for item in items if item.candidate])
    return Page(items, more)


def _item(session: Session, actor: User, review_id: int, *, lock: bool = False) -> QueueItem:
    authority = require_cmt(actor)
    query = select(MatchReview).where(
        MatchReview.id == review_id, MatchReview.local_authority_id == authority
    )
    review = session.scalar(query.with_for_update() if lock else query)
    if review is None:
        raise not_found("match_review_not_found", "There is no such item in your authority's queue.")
    source = session.get(FeedSource, review.source_id)
    return QueueItem(
        review, FeedRow.from_json(review.incoming), review.candidate, source.name if source else ""
    )


def compare(session: Session, actor: User, origin: trail.Origin, review_id: int) -> Comparison:
    """Open one item: the audit row is written first, then the two records are compared."""
    item = _item(session, actor, review_id)
    candidate = load_child(session, item.candidate.cp_id) if item.candidate is not None else None
    directory_hidden = candidate is not None and not sight_of(session, actor, candidate).details
    incoming_hidden = _row_household_hidden(session, actor, item.row)
    trail.record(
        session,
        action="match_review_view",
        outcome="disclosed",
        origin=origin,
        user=actor,
        child_pk=candidate.id if candidate is not None else None,
        shielded=candidate is not None and candidate.shielded,
        shown=["incoming", "directory"],
        withheld=[
            side
            for side, hidden in (("incoming", incoming_hidden), ("directory", directory_hidden))
            if hidden
        ],
        detail={"review": item.review.id, "held_because": item.review.held_because},
    )
    session.flush()
    return Comparison(item, _pairs(session, item.row, candidate, incoming_hidden, directory_hidden))


def decide(
    session: Session,
    actor: User,
    origin: trail.Origin,
    review_id: int,
    *,
    decision: str,
    now: dt.datetime,
    mailer: Mailer | None = None,
    settings: Settings | None = None,
) -> MatchReview:
    """Decide an open item: apply the row to the candidate, or create a new record; audited.

    The loader's `apply_row` writes the row by the winning rule and links the source's record id
    to the child; a move between authorities it makes is told to both teams through `mailer`, and
    the practitioners working with the candidate are told of services the row adds or ends (as a
    feed's are, `notices.after_feed_services`, under `settings`).
    """
    if decision not in DECISIONS:
        raise invalid("decision_unknown", "Choose same child or different children.", field="decision")
    item = _item(session, actor, review_id, lock=True)
    review = item.review
    if review.status != "open":
        raise conflict("already_decided", "This possible match has already been decided.")
    source = session.get(FeedSource, review.source_id)
    batch = session.get(FeedBatch, review.batch_id)
    if source is None or batch is None:  # pragma: no cover - foreign keys keep them
        raise conflict("source_gone", "The feed this row came from is no longer registered.")
    candidate = item.candidate
    if decision == "same_child":
        if candidate is None:
            raise conflict("candidate_gone", "The record this row may match is no longer on the directory.")
        if item.row.new_identity:
            raise conflict(
                "new_identity",
                "This row is a new identity after adoption: it is never linked to another record.",
            )
        was_shielded = candidate.shielded
        result = _apply(session, source, batch, item.row, candidate, now, mailer, settings)
        # The merge carries the shield: the row is a source's view of the child, never a reason to lift it.
        if was_shielded and not result.shielded:
            result.shielded = True
    else:
        result = _apply(session, source, batch, item.row, None, now, mailer, settings)
    review.status = decision
    review.decided_by_user_id = actor.id
    review.decided_at = now
    review.result_child_pk = result.id
    trail.record(
        session,
        action="match_review_decision",
        outcome="recorded",
        origin=origin,
        user=actor,
        child_pk=result.id,
        shielded=result.shielded or (candidate is not None and candidate.shielded),
        detail={
            "review": review.id,
            "decision": decision,
            "held_because": review.held_because,
            "candidate": candidate.cp_id if candidate is not None else None,
        },
    )
    return review


def _apply(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    row: FeedRow,
    child: Child | None,
    now: dt.datetime,
    mailer: Mailer | None,
    settings: Settings | None,
) -> Child:
    stats = ApplyStats()
    try:
        result = apply_row(
            session, source=source, batch=batch, row=row, child=child, now=now, mailer=mailer, stats=stats
        )
    except RowRejected as rejected:  # nothing was written
        raise conflict(
            "row_rejected",
            "This row cannot be applied as it stands (its school, GP practice or local authority is "
            "not on the directory). Ask the source to correct it; it stays in the queue.",
        ) from rejected
    if stats.services.added or stats.services.ended:
        session.flush()
        notices.after_feed_services(
            session, settings or Settings(), added=stats.services.added, ended=stats.services.ended, now=now
        )
    return result


def result_cp_id(session: Session, review: MatchReview) -> str | None:
    """The ContactPoint ID of the record a decided item's row went to."""
    if review.result_child_pk is None:
        return None
    child = session.get(Child, review.result_child_pk)
    return child.cp_id if child is not None else None


# --- the comparison ----------------------------------------------------------------------------


def _row_household_hidden(session: Session, actor: User, row: FeedRow) -> bool:
    """Whether the row's own addresses or telephones belong to a shielded household `actor` may not see."""
    child = Child(
        address_status="current",
        address_line1=row.address_line1,
        address_line2=row.address_line2,
        postcode=row.postcode,
        telephone=row.telephone,
    )
    carers = [
        Carer(
            address_line1=carer.address_line1,
            address_line2=carer.address_line2,
            postcode=carer.postcode,
            telephone=carer.telephone,
        )
        for carer in row.carers
    ]
    covering = household_shield.covering_shields(session, [(child, carers)])
    return bool(household_shield.hidden_shields(actor, next(iter(covering.values()), [])))


def _join(parts: Iterable[str]) -> str:
    return ", ".join(part.strip() for part in parts if part and part.strip())


def _name(given: str, middle: str, family: str) -> str:
    return " ".join(part for part in (given.strip(), middle.strip(), family.strip()) if part)


def _carer_name(given: str, family: str, relationship: str, responsibility: bool) -> str:
    name = _name(given, "", family)
    details = _join([relationship, "parental responsibility" if responsibility else ""])
    return f"{name} ({details})" if details else name


def _setting_name(session: Session, model: type[EducationSetting] | type[GpPractice], code: str) -> str:
    if not code:
        return NOT_RECORDED
    found = session.scalar(select(model.name).where(model.code == code))
    return found if found is not None else f"Not on the directory (code {code})"


def _authority_name(session: Session, code: str) -> str:
    if not code:
        return NOT_RECORDED
    found = session.scalar(select(LocalAuthority.name).where(LocalAuthority.code == code))
    return found if found is not None else f"Unknown authority (code {code})"


def _incoming(session: Session, row: FeedRow, hidden: bool) -> dict[str, str]:
    values = {
        "name": _name(row.given_name, row.middle_names, row.family_name),
        # A former identity closed for adoption is never shown (nor matched, nor searched).
        "former_names": _join(
            _name(n.given_name, "", n.family_name) for n in row.former_names if not n.closed_for_adoption
        ),
        "date_of_birth": row.date_of_birth.isoformat(),
        "gender": row.gender,
        "address": _join([row.address_line1, row.address_line2, row.town, row.postcode]),
        "telephone": row.telephone,
        "local_authority": _authority_name(session, row.local_authority),
        "education_setting": _setting_name(session, EducationSetting, row.education_setting),
        "gp_practice": _setting_name(session, GpPractice, row.gp_practice),
    }
    values.update(_carers(row.carers, hidden))
    return _withhold(values) if hidden else values


def _directory(child: Child | None, hidden: bool) -> dict[str, str]:
    if child is None:
        return {}
    values = {
        "name": _name(child.given_name, child.middle_names, child.family_name),
        "former_names": ", ".join(child.former_names or []),
        "date_of_birth": child.date_of_birth.isoformat(),
        "gender": child.gender,
        "address": "No known address"
        if child.address_status == "none"
        else _join([child.address_line1, child.address_line2, child.town, child.postcode]),
        "telephone": child.telephone,
        "local_authority": child.local_authority.name,
        "education_setting": child.education_setting.name if child.education_setting else NOT_RECORDED,
        "gp_practice": child.gp_practice.name if child.gp_practice else NOT_RECORDED,
    }
    values.update(_carers(child.carers, hidden))
    return _withhold(values) if hidden else values


def _carers(carers: Sequence[FeedCarer | Carer], hidden: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, carer in enumerate(carers, start=1):
        key = f"carer_{number}"
        values[key] = _carer_name(
            carer.given_name, carer.family_name, carer.relationship_to_child, carer.parental_responsibility
        )
        values[f"{key}_address"] = _join(
            [carer.address_line1, carer.address_line2, carer.town, carer.postcode]
        )
        values[f"{key}_telephone"] = carer.telephone
    return values


def _withhold(values: dict[str, str]) -> dict[str, str]:
    """A shielded household's facts never reach a team that may not see them."""
    return {
        key: WITHHELD
        if key in HOUSEHOLD_FIELDS or key.endswith("_address") or key.endswith("_telephone")
        else value
        for key, value in values.items()
    }


FIELD_ORDER = (
    "name",
    "former_names",
    "date_of_birth",
    "gender",
    "address",
    "telephone",
    "local_authority",
)
TAIL_ORDER = ("education_setting", "gp_practice")


def _pairs(
    session: Session, row: FeedRow, child: Child | None, incoming_hidden: bool, directory_hidden: bool
) -> list[Pair]:
    incoming = _incoming(session, row, incoming_hidden)
    directory = _directory(child, directory_hidden)
    carer_count = max(len(row.carers), len(child.carers) if child is not None else 0)
    carer_fields = [
        f"carer_{number}{suffix}"
        for number in range(1, carer_count + 1)
        for suffix in ("", "_address", "_telephone")
    ]
    return [
        Pair(field, incoming.get(field, ""), directory.get(field, ""))
        for field in (*FIELD_ORDER, *carer_fields, *TAIL_ORDER)
    ]
