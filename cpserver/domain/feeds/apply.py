"""Applying one feed row to a child (a new one when `child` is None), field by field, by the winning rule.

The winning rule (docs/feed-format.md, "Which source wins"): a field is overwritten when the
incoming source's priority is higher than the priority of the source that set it, or equal and the
incoming row's `as_of` is the same day or later; otherwise the stored value is kept (and counted).
A field no source has set yet (a seeded or new child) is always written. Each field written gets
its `FieldProvenance` row (source, batch, priority, as_of, when).

A row says nothing about an optional field it leaves empty (an empty telephone does not clear the
stored one), so a national source that does not know a child's GP never erases it.

Groups: the address (lines, town, postcode) is one field; carers are one field (the winning
source's set replaces the whole set); former names are one field. Services are not under the rule:
each local-authority source's set replaces the involvements that source sent before, and never an
involvement a practitioner recorded.

What is never touched: the shield (a feed neither shields nor unshields; a child who moves keeps
its shield), involvements recorded by practitioners, archive state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.domain.feeds.rows import FeedCarer, FeedRow
from cpserver.domain.former_names import replace_former_names
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.notify import Mailer
from cpserver.domain.service_types import BY_CODE as SERVICE_TYPES
from cpserver.store.models import (
    Carer,
    Child,
    EducationSetting,
    FeedBatch,
    FeedSource,
    FieldProvenance,
    GpPractice,
    Involvement,
    LocalAuthority,
    RetiredCpId,
    SourceRecord,
)

# The fields under the winning rule, in the order they are applied.
FIELDS: Final = (
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "gender",
    "address",
    "telephone",
    "local_authority",
    "education_setting",
    "gp_practice",
    "consent_to_25",
    "former_names",
    "carers",
)
# The provenance row that marks a record created as an adopted child's new identity.
NEW_IDENTITY: Final = "new_identity"
# Where a feed session is seen in the audit trail (no workstation, no network address of a person).
FEED_ORIGIN: Final = trail.Origin(workstation="feed", client_address="")


class RowRejected(Exception):
    """The row cannot be applied as it stands (a stable code; nothing was written)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Move:
    """A child's record moved between authorities (told to both management teams)."""

    cp_id: str
    from_authority_id: int
    to_authority_id: int


@dataclass
class ApplyStats:
    """What applying rows did beyond the row counts: fields kept by the winning rule, moves made."""

    fields_kept: int = 0
    moves: list[Move] = field(default_factory=list)


def row_digest(row: FeedRow) -> str:
    """SHA-256 of the row's canonical JSON: the same row again is recognised as unchanged."""
    canonical = json.dumps(row.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def source_username(source: FeedSource) -> str:
    return f"source:{source.name}"


def apply_row(
    session: Session,
    *,
    source: FeedSource,
    batch: FeedBatch,
    row: FeedRow,
    child: Child | None,
    now: dt.datetime,
    mailer: Mailer | None = None,
    stats: ApplyStats | None = None,
) -> Child:
    """Write `row` from `source` into `child` (or a new child) and link the source's record id to it.

    Raises `RowRejected` (before writing anything) when a school or GP code is unknown.
    A move between authorities is audited here (`record_moved`); the management teams are told
    through `mailer` at once when one is given, else the move is left in `stats.moves` for the
    caller to send after its commit (`notify_moves`).
    """
    stats = stats if stats is not None else ApplyStats()
    setting_id = _code_id(session, EducationSetting, row.education_setting, "unknown_education_setting")
    gp_id = _code_id(session, GpPractice, row.gp_practice, "unknown_gp_practice")
    authority_id = _code_id(session, LocalAuthority, row.local_authority, "unknown_local_authority")
    if child is None:
        child = _new_child(session, row, authority_id)
        held: dict[str, FieldProvenance] = {}
        if row.new_identity:
            # Marks the record as an adopted child's new identity, so that no later row can tie
            # it to a record id (or a child) it did not start with.
            held[NEW_IDENTITY] = _provenance(child, NEW_IDENTITY, source, batch, row, now)
            session.add(held[NEW_IDENTITY])
    else:
        held = {
            prov.field: prov
            for prov in session.scalars(select(FieldProvenance).where(FieldProvenance.child_pk == child.id))
        }
        if row.new_identity and NEW_IDENTITY not in held:
            # The new identity sent under a record id (or to a child) of the birth identity.
            raise RowRejected("new_identity_reuses_record_id")
    said = _said(row)
    before_authority = child.local_authority_id
    for name in FIELDS:
        if name not in said:
            continue
        current = held.get(name)
        if current is not None and not _wins(source.priority, row.as_of, current):
            stats.fields_kept += 1
            continue
        _write(session, child, name, row, setting_id=setting_id, gp_id=gp_id, authority_id=authority_id)
        if current is None:
            session.add(_provenance(child, name, source, batch, row, now))
        else:
            current.source_id, current.batch_id = source.id, batch.id
            current.priority, current.as_of, current.set_at = source.priority, row.as_of, now
    if source.kind == "local_authority":
        _replace_services(session, child, source, row)
    _link(session, source, batch, row, child)
    if authority_id is not None and before_authority not in (None, child.local_authority_id):
        move = Move(child.cp_id, before_authority, child.local_authority_id)
        _audit_move(session, source, batch, child, move)
        if mailer is not None:
            notify_moves(session, mailer, [move])
        else:
            stats.moves.append(move)
    session.flush()
    return child


def _provenance(
    child: Child, name: str, source: FeedSource, batch: FeedBatch, row: FeedRow, now: dt.datetime
) -> FieldProvenance:
    return FieldProvenance(
        child_pk=child.id,
        field=name,
        source_id=source.id,
        batch_id=batch.id,
        priority=source.priority,
        as_of=row.as_of,
        set_at=now,
    )


def _wins(priority: int, as_of: dt.date, current: FieldProvenance) -> bool:
    return priority > current.priority or (priority == current.priority and as_of >= current.as_of)


def _said(row: FeedRow) -> set[str]:
    """The fields this row says something about (an empty optional field says nothing)."""
    said = {"given_name", "family_name", "date_of_birth", "gender", "local_authority"}
    if row.middle_names:
        said.add("middle_names")
    if row.address_line1 or row.address_line2 or row.town or row.postcode:
        said.add("address")
    for name in ("telephone", "education_setting", "gp_practice", "former_names", "carers"):
        if getattr(row, name):
            said.add(name)
    if row.consent_to_25:
        said.add("consent_to_25")
    return said


def _code_id(session: Session, model: Any, code: str, problem: str) -> int | None:
    """The id of the setting, practice or authority with `code` (cached for the session), or None."""
    if not code:
        return None
    cache: dict[tuple[str, str], int | None] = session.info.setdefault("feeds.code_ids", {})
    key = (model.__tablename__, code)
    if key not in cache:
        cache[key] = session.scalar(select(model.id).where(model.code == code))
    found = cache[key]
    if found is None:
        raise RowRejected(problem)
    return found


def _new_child(session: Session, row: FeedRow, authority_id: int | None) -> Child:
    if authority_id is None:
        raise RowRejected("missing_field")
    child = Child(
        cp_id=new_cp_id(session),
        given_name=row.given_name,
        family_name=row.family_name,
        family_norm=normalise_name(row.family_name),
        family_key=phonetic_key(row.family_name),
        given_norm=normalise_name(row.given_name),
        given_key=phonetic_key(row.given_name),
        gender=row.gender,
        date_of_birth=row.date_of_birth,
        address_status="none",
        local_authority_id=authority_id,
        former_names=[],
    )
    session.add(child)
    session.flush()
    return child


def new_cp_id(session: Session) -> str:
    """A ContactPoint ID nobody has or had: the seed's style ("CP" and ten digits), drawn at random.

    Random, not the next number, so a new child's ID says nothing about its neighbours; drawn
    above the seed's range (which starts below 2,100,000,000 and grows by at most 400 a child).
    """
    while True:
        candidate = f"CP{5_000_000_000 + secrets.randbelow(4_999_999_999):010d}"
        # Nor had: a purged record's ID is retired, never issued again (rule 9; a trigger refuses it).
        if (
            session.scalar(select(Child.id).where(Child.cp_id == candidate)) is None
            and session.get(RetiredCpId, candidate) is None
        ):
            return candidate


def standard_postcode(postcode: str) -> str:
    """A postcode in the standard written form ("ZZ1 4AB"), as the household lookups expect."""
    plain = normalise_postcode(postcode)
    return f"{plain[:-3]} {plain[-3:]}" if len(plain) > 3 else plain


_NOT_TELEPHONE = re.compile(r"[^0-9+ ]")


def standard_telephone(telephone: str) -> str:
    """Digits, spaces and a leading plus only: the household lookups compare numbers without spaces."""
    return " ".join(_NOT_TELEPHONE.sub("", telephone).split())


def _write(
    session: Session,
    child: Child,
    name: str,
    row: FeedRow,
    *,
    setting_id: int | None,
    gp_id: int | None,
    authority_id: int | None,
) -> None:
    if name == "given_name":
        child.given_name = row.given_name
        child.given_norm, child.given_key = normalise_name(row.given_name), phonetic_key(row.given_name)
    elif name == "family_name":
        child.family_name = row.family_name
        child.family_norm, child.family_key = normalise_name(row.family_name), phonetic_key(row.family_name)
    elif name in ("middle_names", "date_of_birth", "gender", "consent_to_25"):
        setattr(child, name, getattr(row, name))
    elif name == "address":
        postcode = standard_postcode(row.postcode)
        child.address_line1, child.address_line2, child.town = row.address_line1, row.address_line2, row.town
        child.postcode, child.postcode_norm = postcode, normalise_postcode(postcode)
        child.address_status = "current"
    elif name == "telephone":
        child.telephone = standard_telephone(row.telephone)
    elif name == "local_authority":
        assert authority_id is not None
        child.local_authority_id = authority_id
    elif name == "education_setting":
        if child.education_setting_id != setting_id:
            child.education_setting_id, child.education_start_date = setting_id, None
    elif name == "gp_practice":
        child.gp_practice_id = gp_id
    elif name == "former_names":
        replace_former_names(session, child, row.former_names)
    elif name == "carers":
        _replace_carers(session, child, row.carers)


def _replace_carers(session: Session, child: Child, carers: tuple[FeedCarer, ...]) -> None:
    session.execute(delete(Carer).where(Carer.child_pk == child.id))
    session.expire(child, ["carers"])
    for carer in carers:
        session.add(
            Carer(
                child_pk=child.id,
                given_name=carer.given_name,
                family_name=carer.family_name,
                relationship_to_child=carer.relationship_to_child,
                parental_responsibility=carer.parental_responsibility,
                address_line1=carer.address_line1,
                address_line2=carer.address_line2,
                town=carer.town,
                postcode=standard_postcode(carer.postcode),
                telephone=standard_telephone(carer.telephone),
            )
        )


def _replace_services(session: Session, child: Child, source: FeedSource, row: FeedRow) -> None:
    """This source's involvements become the row's services; nobody else's are touched."""
    session.execute(
        delete(Involvement).where(Involvement.child_pk == child.id, Involvement.source_id == source.id)
    )
    session.expire(child, ["involvements"])
    for service in row.services:
        session.add(
            Involvement(
                child_pk=child.id,
                practitioner_user_id=None,
                practitioner_name=service.practitioner_name,
                practitioner_role=service.practitioner_role,
                organisation_name=service.organisation_name,
                telephone=standard_telephone(service.telephone),
                email=service.email,
                service_type=service.service_type,
                sensitive=SERVICE_TYPES[service.service_type].sensitive,
                consent_recorded=service.consent_recorded,
                started_on=service.started_on or row.as_of,
                ended_on=service.ended_on,
                lead_professional=service.lead_professional,
                assessment_completed=service.assessment_completed,
                source_id=source.id,
            )
        )


def _link(session: Session, source: FeedSource, batch: FeedBatch, row: FeedRow, child: Child) -> None:
    digest = row_digest(row)
    record = session.scalar(
        select(SourceRecord).where(
            SourceRecord.source_id == source.id, SourceRecord.source_record_id == row.source_record_id
        )
    )
    if record is None:
        session.add(
            SourceRecord(
                source_id=source.id,
                source_record_id=row.source_record_id,
                child_pk=child.id,
                row_digest=digest,
                last_batch_id=batch.id,
            )
        )
    else:
        record.child_pk, record.row_digest, record.last_batch_id = child.id, digest, batch.id


def _audit_move(session: Session, source: FeedSource, batch: FeedBatch, child: Child, move: Move) -> None:
    codes: dict[int, str] = {
        authority_id: code
        for authority_id, code in session.execute(
            select(LocalAuthority.id, LocalAuthority.code).where(
                LocalAuthority.id.in_((move.from_authority_id, move.to_authority_id))
            )
        ).tuples()
    }
    trail.record(
        session,
        action="record_moved",
        outcome="moved",
        origin=FEED_ORIGIN,
        child_pk=child.id,
        shielded=child.shielded,
        username=source_username(source),
        # The old authority's team finds the row by its authority; the new one by the child's.
        local_authority_id=move.from_authority_id,
        detail={
            "from": codes.get(move.from_authority_id, ""),
            "to": codes.get(move.to_authority_id, ""),
            "batch_id": batch.id,
        },
    )


def notify_moves(session: Session, mailer: Mailer, moves: list[Move]) -> None:
    """Tell both management teams of each move: the ContactPoint ID and the authorities, nothing else."""
    for move in moves:
        old = session.get(LocalAuthority, move.from_authority_id)
        new = session.get(LocalAuthority, move.to_authority_id)
        if old is None or new is None:
            continue
        subject = f"ContactPoint: record {move.cp_id} has moved from {old.name} to {new.name}"
        for team, text in (
            (
                old,
                f"It is no longer in {old.name}'s directory area; {new.name}'s management team now holds it.",
            ),
            (new, f"It is now in {new.name}'s directory area, with its shield (if any) and involvements."),
        ):
            mailer.send(
                to=team.cmt_email,
                subject=subject,
                body=(
                    f"Dear {team.cmt_name},\n\n"
                    f"A feed from a source system has moved the ContactPoint record {move.cp_id} "
                    f"from {old.name} to {new.name}. {text}\n\n"
                    "Open the record in ContactPoint (with a reason) to see its details.\n"
                ),
            )
