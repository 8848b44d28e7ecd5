"""Applying one feed row to a child (a new one when `child` is None), field by field, by the winning rule.

The winning rule (docs/feed-format.md, "Which source wins"): a field is overwritten when the
incoming source's priority is higher than the priority of the source that set it, or equal and the
incoming row's `as_of` is the same day or later; otherwise the stored value is kept (and counted).
A field no source has set yet (a seeded or new child) is always written. Each field written gets
its provenance (source, batch, priority, as_of, when) in `FieldProvenance`, compactly: a child's
*default row* (`field` "*" followed by the codes of the fields it covers, `FIELD_CODES`) stands for
each field it covers that has no row of its own. The row that first sets a child's fields writes one
default row for them all (an initial load: one row a child, not thirteen); a later row that wins
every field the default row covers re-sets that one row, else each field it wins gets (or re-sets)
a row of its own and the default row stays for the others (`settle`).

A row says nothing about an optional field it leaves empty (an empty telephone does not clear the
stored one), so a national source that does not know a child's GP never erases it.

Groups: the address (lines, town, postcode) is one field; carers are one field (the winning
source's set replaces the whole set); former names are one field. Services are not under the rule:
each local-authority source's set is diffed with the involvements that source sent before
(`diff_services`: kept, added, or ended, never deleted), and never touches an involvement a
practitioner recorded.

What is never touched: the shield (a feed neither shields nor unshields; a child who moves keeps
its shield), involvements recorded by practitioners, archive state.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from sqlalchemy import any_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from cpserver.audit import trail
from cpserver.domain.feeds.digest import canonical_utf8
from cpserver.domain.feeds.rows import FeedCarer, FeedRow, FeedService
from cpserver.domain.former_names import former_name_rows, replace_former_names
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.notify import Mailer
from cpserver.domain.service_types import BY_CODE as SERVICE_TYPES
from cpserver.store.models import (
    AuditEvent,
    Carer,
    Child,
    EducationSetting,
    FeedBatch,
    FeedSource,
    FieldProvenance,
    FormerName,
    GpPractice,
    Involvement,
    LocalAuthority,
    RetiredCpId,
    SourceRecord,
)
from cpserver.store.types import uncollated

if TYPE_CHECKING:
    from cpserver.domain.feeds.delta import LinkRow, PlainWrites

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
# Each field's letter in a default provenance row's `field` ("*" and the letters of the fields it
# covers). Stored: a letter is never given to another field.
FIELD_CODES: Final = {
    "given_name": "a",
    "middle_names": "b",
    "family_name": "c",
    "date_of_birth": "d",
    "gender": "e",
    "address": "f",
    "telephone": "g",
    "local_authority": "h",
    "education_setting": "i",
    "gp_practice": "j",
    "consent_to_25": "k",
    "former_names": "l",
    "carers": "m",
}
_BY_CODE: Final = {code: name for name, code in FIELD_CODES.items()}
DEFAULT: Final = "*"
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


# A source's services for known children, by (child, source): the row's as_of, and the services.
WantedServices = dict[tuple[int, int], tuple[dt.date, list[dict[str, Any]]]]


@dataclass
class ServiceChanges:
    """A source's services that a load added to (or reopened on) known children, and those it ended,
    as (child, involvement) pairs: the practitioners working with those children are told
    (`notices.after_feed_services`)."""

    added: list[tuple[int, int]] = field(default_factory=list)
    ended: list[tuple[int, int]] = field(default_factory=list)

    def take(self) -> ServiceChanges:
        """What is held, handed over (and no longer held)."""
        taken = ServiceChanges(self.added, self.ended)
        self.added, self.ended = [], []
        return taken


@dataclass(slots=True)
class ProvenanceRow:
    """A field's provenance as the loader reads it for a chunk (a plain row, not an ORM object);
    a change to it is written with the chunk's other provenance changes (`BulkWrites`)."""

    child_pk: int
    field: str
    priority: int
    as_of: dt.date


Provenance = TypeVar("Provenance", bound=FieldProvenance | ProvenanceRow)


def default_field(names: Iterable[str]) -> str:
    """The `field` of a default row covering `names`."""
    return DEFAULT + "".join(sorted(FIELD_CODES[name] for name in names))


@functools.lru_cache(maxsize=1 << 10)
def covered_fields(default: str) -> frozenset[str]:
    """The fields a default row's `field` covers."""
    return frozenset(_BY_CODE[code] for code in default[1:])


def by_field(rows: Iterable[Provenance]) -> dict[str, Provenance]:
    """A child's provenance rows by field: its own row, else its default row (for the fields the
    default row covers; a child's default rows, if ever several, cover fields apart); a field no
    source has set is absent. A new-identity mark is kept by its name."""
    held: dict[str, Provenance] = {}
    defaults: list[Provenance] = []
    for row in rows:
        if row.field.startswith(DEFAULT):
            defaults.append(row)
        else:
            held[row.field] = row
    for default in defaults:
        for name in covered_fields(default.field):
            held.setdefault(name, default)
    return held


def child_provenance(session: Session, child_pk: int) -> dict[str, FieldProvenance]:
    """Which source, batch, priority and as_of stand for each field of the child (`by_field`)."""
    return by_field(session.scalars(select(FieldProvenance).where(FieldProvenance.child_pk == child_pk)))


@dataclass(slots=True)
class Settled(Generic[Provenance]):
    """What a row does to a child by the winning rule (`settle`): the fields it writes, how many it
    keeps, and their provenance: the rows re-set (the child's own rows, and its default row when
    the row wins every field the default row stands for), the fields that get a row of their own
    (a field won from the default row when it does not win them all; a field no source has set,
    on a child with a default row), and the fields that go into a new default row (fields no
    source has set, on a child with no default row: a new child's row writes just that)."""

    written: list[str]
    kept: int
    reset: list[Provenance]
    own: list[str]
    default: list[str]


def settle(
    held: Mapping[str, Provenance], said: Collection[str], priority: int, as_of: dt.date
) -> Settled[Provenance]:
    """The winning rule, field by field, for a row from a source of `priority` saying `said` as of
    `as_of`, on a child whose provenance is `held` (`by_field`)."""
    settled: Settled[Provenance] = Settled([], 0, [], [], [])
    covered: dict[int, tuple[Provenance, list[str]]] = {}  # fields won from each default row
    unset: list[str] = []  # fields won that no source has set
    for name in FIELDS:
        if name not in said:
            continue
        current = held.get(name)
        if current is not None and not source_wins(priority, as_of, current):
            settled.kept += 1
            continue
        settled.written.append(name)
        if current is None:
            unset.append(name)
        elif current.field.startswith(DEFAULT):
            covered.setdefault(id(current), (current, []))[1].append(name)
        else:
            settled.reset.append(current)
    for default, names in covered.values():
        if len(names) == sum(1 for row in held.values() if row is default):
            settled.reset.append(default)  # every field it stands for won: the one row re-set
        else:
            settled.own.extend(names)
    if any(row.field.startswith(DEFAULT) for row in held.values()):
        settled.own.extend(unset)
    else:
        settled.default = unset
    return settled


@dataclass
class BulkWrites:
    """Rows for new children, written together (one INSERT per table) instead of object by object.

    The loader gives one to `ApplyStats.bulk` per chunk and `write`s it before the chunk commits;
    `apply_row` writes it itself before it reads anything a pending row could change.
    """

    provenance: list[dict[str, Any]] = field(default_factory=list)
    carers: list[dict[str, Any]] = field(default_factory=list)
    involvements: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    former_names: list[dict[str, Any]] = field(default_factory=list)
    # Known children's carers, and a source's services for a child, replaced: by child (and source).
    carers_replaced: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # A source's services for a known child: (the row's as_of, the services), diffed at `write`.
    services_replaced: WantedServices = field(default_factory=dict)
    # What the services diffs added and ended (for the notices, after the chunk is written).
    services: ServiceChanges = field(default_factory=ServiceChanges)
    former_names_replaced: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # Provenance rows re-set by this chunk (by key), by column name: one bulk UPDATE, not an ORM
    # flush per row.
    provenance_updates: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    # What the plain-row path (`delta.apply_known`) changed on known children: written first.
    plain: PlainWrites | None = None

    def write(self, session: Session) -> None:
        from cpserver.domain.feeds.initial import write_models

        if self.plain is not None:
            self.plain.write(session)
        if self.former_names or self.provenance or self.carers or self.links or self.carers_replaced:
            session.flush()  # what the session holds first (the children these rows name)
        for model, rows in (
            (FormerName, self.former_names),
            (FieldProvenance, self.provenance),
            (Carer, self.carers),
            (Involvement, self.involvements),
            (SourceRecord, self.links),
        ):
            if rows:
                if model is Involvement:
                    session.execute(insert(model), rows)
                else:  # COPY on PostgreSQL
                    write_models(session, model, rows)
                rows.clear()
        quiet = {"synchronize_session": False}
        if self.provenance_updates:
            from cpserver.domain.feeds.bulk_update import update_rows

            update_rows(
                session,
                FieldProvenance.__table__,  # type: ignore[arg-type]
                ("child_id", "field"),
                list(self.provenance_updates.values()),
            )
            self.provenance_updates.clear()
        if self.former_names_replaced:
            session.execute(
                delete(FormerName).where(among(session, FormerName.child_pk, self.former_names_replaced)),
                execution_options=quiet,
            )
            names = [values for rows in self.former_names_replaced.values() for values in rows]
            if names:
                write_models(session, FormerName, names)
            self.former_names_replaced.clear()
        if self.carers_replaced:
            diff_carers(session, self.carers_replaced)
            self.carers_replaced.clear()
        if self.services_replaced:
            diff_services(session, self.services_replaced, self.services)
            self.services_replaced.clear()


@dataclass
class ApplyStats:
    """What applying rows did beyond the row counts: fields kept by the winning rule, moves made."""

    fields_kept: int = 0
    moves: list[Move] = field(default_factory=list)
    # New children's rows go here when given (the loader's chunks), else into the session.
    bulk: BulkWrites | None = None
    # What the loader read for its chunk in one query each: the provenance of the children of
    # changed known records (used for a `settled` child), and the source's known record ids.
    provenance: dict[int, dict[str, FieldProvenance | ProvenanceRow]] | None = None
    links: Mapping[str, SourceRecord | LinkRow] | None = None
    # Record ids the loader found linked to nothing (its chunk's unknown rows): `_link` links them
    # without looking first, and takes each out as it links it (a repeat in the chunk looks again).
    unlinked: set[str] | None = None
    # When given, audit rows (moves) are put here for the caller to append together before it
    # commits (`chain.append_many`), instead of one chain append (a lock, a read, a flush) each.
    audit: list[AuditEvent] | None = None
    # What the services diffs of known children added and ended when there is no `bulk`.
    services: ServiceChanges = field(default_factory=ServiceChanges)


@functools.lru_cache(maxsize=1 << 13)
def row_digest(row: FeedRow) -> str:
    """SHA-256 of the row's canonical JSON: the same row again is recognised as unchanged.

    Kept for the last rows asked (a frozen row is its own key): the loader asks up to three times
    for a known record's row (is it changed, is it unchanged, the link's digest)."""
    return fresh_row_digest(row)


def fresh_row_digest(row: FeedRow) -> str:
    """`row_digest` not kept: a new child's row is digested once (its link), and hashing the row
    for the cache costs a third of the digest."""
    return hashlib.sha256(canonical_utf8(row)).hexdigest()


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
    created: bool = False,
    settled: bool = False,
) -> Child:
    """Write `row` from `source` into `child` (or a new child) and link the source's record id to it.

    `created`: `child` was just made for this row by `new_children` (nothing of it is stored yet).
    `settled`: nothing pending in the session concerns `child` (the loader knows which children
    its chunk has touched), so the flush before reading its provenance is not needed.

    Raises `RowRejected` (before writing anything) when a school or GP code is unknown.
    A move between authorities is audited here (`record_moved`); the management teams are told
    through `mailer` at once when one is given, else the move is left in `stats.moves` for the
    caller to send after its commit (`notify_moves`).
    """
    stats = stats if stats is not None else ApplyStats()
    if child is not None and not created and not settled:
        if stats.bulk is not None:
            stats.bulk.write(session)
        session.flush()  # what earlier rows wrote for this child is seen by the lookups below
    with session.no_autoflush:  # one flush per row at most: the rest is written in batches
        return apply_to_child(session, source, batch, row, child, now, mailer, stats, created, settled)


def apply_to_child(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    row: FeedRow,
    child: Child | None,
    now: dt.datetime,
    mailer: Mailer | None,
    stats: ApplyStats,
    created: bool,
    settled: bool,
) -> Child:
    fresh = child is None or created
    bulk = stats.bulk if fresh else None
    setting_id = code_id(session, EducationSetting, row.education_setting, "unknown_education_setting")
    gp_id = code_id(session, GpPractice, row.gp_practice, "unknown_gp_practice")
    authority_id = code_id(session, LocalAuthority, row.local_authority, "unknown_local_authority")
    if child is None:
        child = _new_child(session, row, authority_id)
        session.flush()
    if fresh:
        held: Mapping[str, FieldProvenance | ProvenanceRow] = {}
        if row.new_identity:
            # Marks the record as an adopted child's new identity, so that no later row can tie
            # it to a record id (or a child) it did not start with.
            _add_provenance(session, bulk, provenance_values(child, NEW_IDENTITY, source, batch, row, now))
    elif settled and stats.provenance is not None and child.id in stats.provenance:
        held = stats.provenance.pop(child.id)
    else:
        held = child_provenance(session, child.id)
    if not fresh and row.new_identity and NEW_IDENTITY not in held:
        # The new identity sent under a record id (or to a child) of the birth identity.
        raise RowRejected("new_identity_reuses_record_id")
    before_authority = child.local_authority_id
    settled_fields = settle(held, said_fields(row), source.priority, row.as_of)
    stats.fields_kept += settled_fields.kept
    for name in settled_fields.written:
        _write(
            session,
            child,
            name,
            row,
            setting_id=setting_id,
            gp_id=gp_id,
            authority_id=authority_id,
            fresh=fresh,
            bulk=bulk,
            later=stats.bulk,
        )
    if settled_fields.default:
        name = default_field(settled_fields.default)
        _add_provenance(session, bulk, provenance_values(child, name, source, batch, row, now))
    for name in settled_fields.own:
        _add_provenance(session, bulk, provenance_values(child, name, source, batch, row, now))
    for current in settled_fields.reset:
        if isinstance(current, ProvenanceRow) and stats.bulk is not None:
            # A shared row as read for the chunk (never changed): re-set at the chunk's end.
            stats.bulk.provenance_updates[(child.id, current.field)] = {
                "child_id": child.id,  # by column name (written by `update_rows`)
                "field": current.field,
                "source_id": source.id,
                "batch_id": batch.id,
                "priority": source.priority,
                "as_of": row.as_of,
                "set_at": now,
            }
            continue
        stored = (
            current
            if isinstance(current, FieldProvenance)
            else session.get(FieldProvenance, (child.id, current.field))
        )
        assert stored is not None
        stored.source_id, stored.batch_id = source.id, batch.id
        stored.priority, stored.as_of, stored.set_at = source.priority, row.as_of, now
    if source.kind == "local_authority":
        _replace_services(
            session, child, source, row, fresh=fresh, bulk=bulk, later=stats.bulk, changes=stats.services
        )
    _link(
        session, source, batch, row, child, fresh=fresh, bulk=bulk, links=stats.links, unlinked=stats.unlinked
    )
    if authority_id is not None and before_authority not in (None, child.local_authority_id):
        move = Move(child.cp_id, before_authority, child.local_authority_id)
        audit_move(session, source, batch, child, move, stats.audit)
        if mailer is not None:
            notify_moves(session, mailer, [move])
        else:
            stats.moves.append(move)
    return child


def _add_provenance(session: Session, bulk: BulkWrites | None, provenance: dict[str, Any]) -> None:
    if bulk is None:
        session.add(FieldProvenance(**provenance))
    else:
        bulk.provenance.append(provenance)


def provenance_values(
    child: Child, name: str, source: FeedSource, batch: FeedBatch, row: FeedRow, now: dt.datetime
) -> dict[str, Any]:
    return {
        "child_pk": child.id,
        "field": name,
        "source_id": source.id,
        "batch_id": batch.id,
        "priority": source.priority,
        "as_of": row.as_of,
        "set_at": now,
    }


def source_wins(priority: int, as_of: dt.date, current: FieldProvenance | ProvenanceRow) -> bool:
    return priority > current.priority or (priority == current.priority and as_of >= current.as_of)


def said_fields(row: FeedRow) -> set[str]:
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


def code_id(session: Session, model: Any, code: str, problem: str) -> int | None:
    """The id of the setting, practice or authority with `code` (cached for the session), or None."""
    if not code:
        return None
    # Each table's codes are read whole, once for the session (one query, not one a code: a
    # national file names tens of thousands of schools); a code not found is looked up again.
    tables: dict[str, dict[str, int | None]] = session.info.setdefault("feeds.code_ids", {})
    cache = tables.get(model.__tablename__)
    if cache is None:
        cache = tables[model.__tablename__] = dict(
            session.execute(select(model.code, model.id)).tuples().all()
        )
    if code not in cache:
        cache[code] = session.scalar(select(model.id).where(model.code == code))
    found = cache[code]
    if found is None:
        raise RowRejected(problem)
    return found


def new_children(session: Session, rows: Sequence[FeedRow]) -> list[Child | RowRejected]:
    """A new, still empty child for each row (or why the row cannot be applied), flushed together.

    The loader makes a chunk's new children in one statement, then applies each row to its child
    with `apply_row(..., created=True)`.
    """
    made: list[Child | RowRejected] = []
    cp_ids = iter(new_cp_ids(session, len(rows)))
    with session.no_autoflush:
        for row in rows:
            try:
                code_id(session, EducationSetting, row.education_setting, "unknown_education_setting")
                code_id(session, GpPractice, row.gp_practice, "unknown_gp_practice")
                authority_id = code_id(
                    session, LocalAuthority, row.local_authority, "unknown_local_authority"
                )
                made.append(_new_child(session, row, authority_id, next(cp_ids)))
            except RowRejected as rejected:
                made.append(rejected)
    session.flush()
    return made


def _new_child(session: Session, row: FeedRow, authority_id: int | None, cp_id: str | None = None) -> Child:
    child = unsaved_child(row, authority_id, cp_id or new_cp_id(session))
    session.add(child)
    return child


def unsaved_child(row: FeedRow, authority_id: int | None, cp_id: str) -> Child:
    """A new child's object before any field is applied (not added to a session)."""
    return Child(**new_child_values(row, authority_id, cp_id))


def new_child_values(row: FeedRow, authority_id: int | None, cp_id: str) -> dict[str, Any]:
    """A new child's columns before any field is applied (`RowRejected` without an authority)."""
    if authority_id is None:
        raise RowRejected("missing_field")
    return {
        "cp_id": cp_id,
        "given_name": row.given_name,
        "family_name": row.family_name,
        "family_norm": name_keys(row.family_name)[0],
        "family_key": name_keys(row.family_name)[1],
        "given_norm": name_keys(row.given_name)[0],
        "given_key": name_keys(row.given_name)[1],
        "gender": row.gender,
        "date_of_birth": row.date_of_birth,
        "address_status": "none",
        "local_authority_id": authority_id,
        "former_names": [],
    }


def new_cp_ids(
    session: Session, count: int, exclude: Collection[str] = (), lane: tuple[int, int] = (0, 1)
) -> list[str]:
    """`count` ContactPoint IDs nobody has or had (as `new_cp_id`), checked in two queries.

    `exclude`: IDs already drawn for children not written yet (the initial load's writer).
    `lane` (k, n): only IDs whose number is k modulo n, so that n loaders drawing at the same time
    (`--jobs`) never draw the same one; still random within the lane.
    """
    found: set[str] = set()
    while len(found) < count:
        drawn = {_draw_cp_id(lane) for _ in range(count - len(found))} - found - set(exclude)
        taken = set(session.scalars(select(Child.cp_id).where(among(session, Child.cp_id, drawn))))
        if drawn:
            taken |= set(
                session.scalars(select(RetiredCpId.cp_id).where(among(session, RetiredCpId.cp_id, drawn)))
            )
        found |= drawn - taken
    return list(found)


def _draw_cp_id(lane: tuple[int, int] = (0, 1)) -> str:
    lane_k, lanes = lane
    number = 5_000_000_000 + secrets.randbelow(4_999_999_999 // lanes) * lanes + lane_k
    return f"CP{number:010d}"


def among(session: Session, column: Any, values: Collection[Any]) -> Any:
    """`column IN values`; on PostgreSQL `column = ANY(array)`: one parameter, not one per value
    (a thousand-value IN list costs more to send and plan than the lookup itself)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(uncollated(column.type))))
    return column.in_(values)


def new_cp_id(session: Session) -> str:
    """A ContactPoint ID nobody has or had: the seed's style ("CP" and ten digits), drawn at random.

    Random, not the next number, so a new child's ID says nothing about its neighbours; drawn
    above the seed's range (which starts below 2,100,000,000 and grows by at most 400 a child).
    """
    while True:
        candidate = _draw_cp_id()
        # Nor had: a purged record's ID is retired, never issued again (rule 9; a trigger refuses it).
        if (
            session.scalar(select(Child.id).where(Child.cp_id == candidate)) is None
            and session.get(RetiredCpId, candidate) is None
        ):
            return candidate


@functools.lru_cache(maxsize=1 << 16)
def name_keys(name: str) -> tuple[str, str]:
    """A name's (normalised form, phonetic key), kept for the commonest names (they repeat a lot)."""
    return normalise_name(name), phonetic_key(name)


@functools.lru_cache(maxsize=1 << 16)
def postcode_forms(postcode: str) -> tuple[str, str]:
    """A postcode's (standard written form, normalised form), kept for the commonest postcodes."""
    standard = standard_postcode(postcode)
    return standard, normalise_postcode(standard)


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
    fresh: bool,
    bulk: BulkWrites | None,
    later: BulkWrites | None = None,
) -> None:
    if set_column_field(child, name, row, setting_id=setting_id, gp_id=gp_id, authority_id=authority_id):
        return
    if name == "former_names":
        if bulk is None and later is not None:  # a known child, in the loader's chunk: as carers
            rows, child.former_names = former_name_rows(child.id, child.date_of_birth, row.former_names)
            later.former_names_replaced[child.id] = rows
        elif bulk is None:
            replace_former_names(session, child, row.former_names)
        else:  # a new child: nothing to replace
            rows, child.former_names = former_name_rows(child.id, child.date_of_birth, row.former_names)
            bulk.former_names.extend(rows)
    elif name == "carers":
        _replace_carers(session, child, row.carers, fresh=fresh, bulk=bulk, later=later)


def set_column_field(
    child: Any,
    name: str,
    row: FeedRow,
    *,
    setting_id: int | None,
    gp_id: int | None,
    authority_id: int | None,
) -> bool:
    """Set field `name` of `child` (an ORM `Child` or a plain row with its attributes) from `row`
    when the field is the child's own columns; False for a field kept in other tables (former
    names, carers), which the caller writes its own way. The one place a field's columns are set."""
    if name == "given_name":
        child.given_name = row.given_name
        child.given_norm, child.given_key = name_keys(row.given_name)
    elif name == "family_name":
        child.family_name = row.family_name
        child.family_norm, child.family_key = name_keys(row.family_name)
    elif name in ("middle_names", "date_of_birth", "gender", "consent_to_25"):
        setattr(child, name, getattr(row, name))
    elif name == "address":
        child.address_line1, child.address_line2, child.town = row.address_line1, row.address_line2, row.town
        child.postcode, child.postcode_norm = postcode_forms(row.postcode)
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
    else:
        return False
    return True


def _put(
    session: Session, bulk: BulkWrites | None, model: Any, rows: list[dict[str, Any]], values: dict[str, Any]
) -> None:
    """Add one row: to the bulk writes when given, else as an object in the session."""
    if bulk is None:
        session.add(model(**values))
    else:
        rows.append(values)


def _replace_carers(
    session: Session,
    child: Child,
    carers: tuple[FeedCarer, ...],
    *,
    fresh: bool,
    bulk: BulkWrites | None,
    later: BulkWrites | None = None,
) -> None:
    values = [carer_values(child, carer) for carer in carers]
    if fresh:
        for carer in values:
            _put(session, bulk, Carer, bulk.carers if bulk is not None else [], carer)
        return
    # A known child's carers are diffed with the stored ones (`diff_carers`): at the chunk's end,
    # with every other child's, when the loader gives `later` (the last set sent for a child
    # wins), else at once. The child's carers are expired (the diff bypasses the session).
    session.expire(child, ["carers"])
    if later is not None:
        later.carers_replaced[child.id] = values
    else:
        diff_carers(session, {child.id: values})


def carer_values(child: Child, carer: FeedCarer) -> dict[str, Any]:
    """A carer row's columns as the feed sends it (the stored forms of postcode and telephone)."""
    return {
        "child_pk": child.id,
        "given_name": carer.given_name,
        "family_name": carer.family_name,
        "relationship_to_child": carer.relationship_to_child,
        "parental_responsibility": carer.parental_responsibility,
        "address_line1": carer.address_line1,
        "address_line2": carer.address_line2,
        "town": carer.town,
        "postcode": postcode_forms(carer.postcode)[0],
        "telephone": standard_telephone(carer.telephone),
    }


# A carer's columns a feed sets (besides its child): compared, and written only where they differ.
_CARER_DETAILS: Final = (
    "given_name",
    "family_name",
    "relationship_to_child",
    "parental_responsibility",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "telephone",
)


def diff_carers(session: Session, wanted: dict[int, list[dict[str, Any]]]) -> None:
    """Make each child's stored carers (in id order) the `wanted` list (in the feed's order), by
    position: a carer whose columns are all the same keeps its row untouched; one that differs is
    updated in place (only the columns that differ); extra stored carers are deleted; extra wanted
    ones are inserted after the others. So the carers' order (by id) is the feed's, as a delete and
    re-insert would leave it, and a reload of the same carers writes nothing.

    One SELECT for all the children, then at most one UPDATE per set of changed columns, one
    DELETE and one INSERT (COPY on PostgreSQL). `child_shielded` is never written here: the
    triggers (migration 0011) set it on insert, and an update of other columns leaves it right.
    """
    from cpserver.domain.feeds.bulk_update import update_rows
    from cpserver.domain.feeds.initial import write_models

    if not wanted:
        return
    stored: dict[int, list[tuple[Any, ...]]] = {pk: [] for pk in wanted}
    columns = [getattr(Carer, name) for name in _CARER_DETAILS]
    for line in session.execute(
        select(Carer.child_pk, Carer.id, *columns)
        .where(among(session, Carer.child_pk, wanted))
        .order_by(Carer.child_pk, Carer.id)
    ).tuples():
        stored[line[0]].append(tuple(line[1:]))
    updates: list[dict[str, Any]] = []
    gone: list[int] = []
    added: list[dict[str, Any]] = []
    for pk, rows in wanted.items():
        have = stored[pk]
        for old, new in zip(have, rows, strict=False):
            changes = {
                name: new[name]
                for name, value in zip(_CARER_DETAILS, old[1:], strict=True)
                if new[name] != value
            }
            if changes:
                updates.append({"id": old[0], **changes})
        gone.extend(old[0] for old in have[len(rows) :])
        added.extend(rows[len(have) :])
    if updates:
        update_rows(session, Carer.__table__, ("id",), updates)  # type: ignore[arg-type]
    if gone:
        session.execute(
            delete(Carer).where(among(session, Carer.id, gone)),
            execution_options={"synchronize_session": False},
        )
    if added:
        write_models(session, Carer, added)


def _replace_services(
    session: Session,
    child: Child,
    source: FeedSource,
    row: FeedRow,
    *,
    fresh: bool,
    bulk: BulkWrites | None,
    later: BulkWrites | None = None,
    changes: ServiceChanges | None = None,
) -> None:
    """This source's involvements become the row's services; nobody else's are touched.

    A new child's are inserted. A known child's are diffed against what the source sent before
    (`diff_services`): at the chunk's end when the loader gives `later`, else at once.
    """
    services = [service_values(child, source, service) for service in row.services]
    if fresh:
        for values in services:
            values["started_on"] = values["started_on"] or row.as_of
            _put(session, bulk, Involvement, bulk.involvements if bulk is not None else [], values)
        return
    session.expire(child, ["involvements"])
    if later is not None:  # at the chunk's end, as carers (the last set sent for a child wins)
        later.services_replaced[(child.id, source.id)] = (row.as_of, services)
    else:
        diff_services(
            session,
            {(child.id, source.id): (row.as_of, services)},
            changes if changes is not None else ServiceChanges(),
        )


def service_values(child: Child, source: FeedSource, service: FeedService) -> dict[str, Any]:
    """An involvement's columns for a fed service (`started_on` None when the row gives none)."""
    return {
        "child_pk": child.id,
        "practitioner_user_id": None,
        "practitioner_name": service.practitioner_name,
        "practitioner_role": service.practitioner_role,
        "organisation_name": service.organisation_name,
        "telephone": standard_telephone(service.telephone),
        "email": service.email,
        "service_type": service.service_type,
        "sensitive": SERVICE_TYPES[service.service_type].sensitive,
        "consent_recorded": service.consent_recorded,
        "started_on": service.started_on,
        "ended_on": service.ended_on,
        "lead_professional": service.lead_professional,
        "assessment_completed": service.assessment_completed,
        "source_id": source.id,
    }


# What a fed service may change in place (its identity is its type, organisation and start date).
_SERVICE_DETAILS: Final = (
    "practitioner_name",
    "practitioner_role",
    "organisation_name",
    "telephone",
    "email",
    "sensitive",
    "consent_recorded",
    "started_on",
    "ended_on",
    "lead_professional",
    "assessment_completed",
)


def _organisation_key(name: str) -> str:
    return " ".join(name.casefold().split())


def _same_service(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """The source's service identity (docs/feed-format.md, "Services"): a service row carries no id
    of its own, so it is its type, its organisation (case and spacing aside) and its start date; a
    row without a start date names the open service of that type and organisation."""
    if stored["service_type"] != wanted["service_type"]:
        return False
    if _organisation_key(stored["organisation_name"]) != _organisation_key(wanted["organisation_name"]):
        return False
    if wanted["started_on"] is None:
        return stored["ended_on"] is None
    return bool(stored["started_on"] == wanted["started_on"])


def diff_services(
    session: Session,
    wanted: WantedServices,
    changes: ServiceChanges,
) -> None:
    """Make each (child, source)'s involvements the services given, keeping every row's id.

    A service the source sent before keeps its row (its details updated in place when they
    changed); a new one is inserted; one the source no longer sends is ended on the row's `as_of`
    (never before it started), as a practitioner ends theirs, not deleted: a notice pointing at it
    stays valid. Added (or reopened) services and ended ones are put in `changes`.
    """
    stored: dict[tuple[int, int], list[dict[str, Any]]] = {key: [] for key in wanted}
    columns = [getattr(Involvement, name) for name in ("id", "child_pk", "source_id", "service_type")]
    columns += [getattr(Involvement, name) for name in _SERVICE_DETAILS]
    for source_id in {source_id for _child, source_id in wanted}:
        children = [child for child, source in wanted if source == source_id]
        for found in session.execute(
            select(*columns).where(Involvement.child_pk.in_(children), Involvement.source_id == source_id)
        ).mappings():
            if (found["child_pk"], source_id) in stored:
                stored[(found["child_pk"], source_id)].append(dict(found))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, (as_of, services) in wanted.items():
        pool = sorted(stored[key], key=lambda found: found["id"])
        # Services with a start date first: a service without one must not take their rows.
        for values in sorted(services, key=lambda values: values["started_on"] is None):
            fits = [found for found in pool if _same_service(found, values)]
            if not fits:
                inserts.append({**values, "started_on": values["started_on"] or as_of})
                continue
            # The open one first, then the same practitioner's.
            match = min(
                fits,
                key=lambda found: (
                    found["ended_on"] is not None,
                    found["practitioner_name"] != values["practitioner_name"],
                ),
            )
            pool.remove(match)
            kept = {**values, "started_on": values["started_on"] or match["started_on"]}
            if any(kept[name] != match[name] for name in _SERVICE_DETAILS):
                updates.append({"id": match["id"], **{name: kept[name] for name in _SERVICE_DETAILS}})
            if match["ended_on"] is None and kept["ended_on"] is not None:
                changes.ended.append((key[0], match["id"]))
            elif match["ended_on"] is not None and kept["ended_on"] is None:
                changes.added.append((key[0], match["id"]))  # reopened: told as new
        for left in pool:
            if left["ended_on"] is None:
                ended = {name: left[name] for name in _SERVICE_DETAILS}
                updates.append({"id": left["id"], **ended, "ended_on": max(as_of, left["started_on"])})
                changes.ended.append((key[0], left["id"]))
    if updates:
        session.execute(update(Involvement), updates)
    if inserts:
        for child_pk, involvement_id, ended_on in session.execute(
            insert(Involvement).returning(Involvement.child_pk, Involvement.id, Involvement.ended_on), inserts
        ):
            if ended_on is None:
                changes.added.append((child_pk, involvement_id))


def _link(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    row: FeedRow,
    child: Child,
    *,
    fresh: bool,
    bulk: BulkWrites | None,
    links: Mapping[str, SourceRecord | LinkRow] | None,
    unlinked: set[str] | None = None,
) -> None:
    digest = fresh_row_digest(row) if fresh else row_digest(row)
    # A new child is made only for a record id not linked yet (the loader looks first; a held row
    # is never linked); the unique index on (source, record id) stands behind that.
    record = None if fresh else (links or {}).get(row.source_record_id)
    if unlinked is not None and row.source_record_id in unlinked:
        unlinked.discard(row.source_record_id)  # linked now: a repeat in the chunk looks it up
    elif record is None and not fresh:
        record = session.scalar(
            select(SourceRecord).where(
                SourceRecord.source_id == source.id, SourceRecord.source_record_id == row.source_record_id
            )
        )
    if record is None:
        _put(
            session,
            bulk,
            SourceRecord,
            bulk.links if bulk is not None else [],
            link_values(source, batch, row, child.id, digest),
        )
    else:
        record.child_pk, record.row_digest, record.last_batch_id = child.id, digest, batch.id


def link_values(
    source: FeedSource, batch: FeedBatch, row: FeedRow, child_pk: int, digest: str
) -> dict[str, Any]:
    """A new source-record link's values: the source's record id tied to the child, with the digest
    of the row last applied and its batch."""
    return {
        "source_id": source.id,
        "source_record_id": row.source_record_id,
        "child_pk": child_pk,
        "row_digest": digest,
        "last_batch_id": batch.id,
    }


def audit_move(
    session: Session,
    source: FeedSource,
    batch: FeedBatch,
    child: Child,
    move: Move,
    pending: list[AuditEvent] | None,
) -> None:
    codes: dict[int, str] = session.info.get("feeds.authority_codes") or {}
    if move.from_authority_id not in codes or move.to_authority_id not in codes:
        codes = dict(session.execute(select(LocalAuthority.id, LocalAuthority.code)).tuples().all())
        session.info["feeds.authority_codes"] = codes
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
        pending=pending,
    )


def notify_moves(session: Session, mailer: Mailer, moves: list[Move]) -> None:
    """Tell both management teams of the moves: the ContactPoint IDs and the authorities, nothing else.

    One message to each team per pair of authorities (a chunk's moves from A to B are one message to
    A's team and one to B's, listing the records' IDs in the order they moved), not one per move.
    """
    pairs: dict[tuple[int, int], list[str]] = {}
    for move in moves:
        pairs.setdefault((move.from_authority_id, move.to_authority_id), []).append(move.cp_id)
    named = {pk for pair in pairs for pk in pair}
    teams = (
        {
            team.id: team
            for team in session.scalars(select(LocalAuthority).where(LocalAuthority.id.in_(named)))
        }
        if named
        else {}
    )
    for (from_id, to_id), cp_ids in pairs.items():
        old, new = teams.get(from_id), teams.get(to_id)
        if old is None or new is None:
            continue
        one = len(cp_ids) == 1
        subject = (
            f"ContactPoint: record {cp_ids[0]} has moved from {old.name} to {new.name}"
            if one
            else f"ContactPoint: {len(cp_ids)} records have moved from {old.name} to {new.name}"
        )
        what = f"the ContactPoint record {cp_ids[0]}" if one else f"{len(cp_ids)} ContactPoint records"
        listed = "" if one else "\n\n" + "\n".join(cp_ids)
        for team, text in (
            (
                old,
                f"{'It is' if one else 'They are'} no longer in {old.name}'s directory area; "
                f"{new.name}'s management team now holds {'it' if one else 'them'}.",
            ),
            (
                new,
                f"{'It is' if one else 'They are'} now in {new.name}'s directory area, with "
                f"{'its shield' if one else 'their shields'} (if any) and involvements.",
            ),
        ):
            mailer.send(
                to=team.cmt_email,
                subject=subject,
                body=(
                    f"Dear {team.cmt_name},\n\n"
                    f"A feed from a source system has moved {what} from {old.name} to {new.name}. "
                    f"{text}{listed}\n\n"
                    f"Open {'the record' if one else 'a record'} in ContactPoint (with a reason) to see "
                    "its details.\n"
                ),
            )
