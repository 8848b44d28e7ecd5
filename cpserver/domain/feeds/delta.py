"""A daily delta's known children, applied as plain rows (no ORM object, no flush per row).

Most rows of an ordinary load change a child already on the directory (its record id is linked, or
the matcher matched it). The loader reads those children for its chunk in one query as `PlainChild`
rows, and `apply_known` applies the winning rule (apply.py, "Which source wins") to them: the
changed columns go to the chunk's `BulkWrites.child_updates` (one `UPDATE ... FROM unnest` per set
of changed columns), the links to `link_updates` / `links`, the provenance, carers, services and
former names to the chunk's other bulk writes, exactly as `apply_row` leaves them for an ORM child.
So the chunk-end flush has nothing to do, and what is stored is what `apply_row` stores.

Only a child the chunk has not touched yet is applied here (`settled`); a child written to twice in
one chunk, and every new child, goes through `apply_row` (after the pending writes are written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Final, cast

from sqlalchemy import ARRAY, Date, Integer, String, bindparam, func, select, text
from sqlalchemy.orm import Session

from cpserver.domain.feeds.apply import (
    NEW_IDENTITY,
    ApplyStats,
    BulkWrites,
    Move,
    ProvenanceRow,
    RowRejected,
    among,
    audit_move,
    by_field,
    carer_values,
    code_id,
    default_field,
    link_values,
    new_child_values,
    new_cp_ids,
    provenance_values,
    row_digest,
    said_fields,
    service_values,
    set_column_field,
    settle,
)
from cpserver.domain.feeds.initial import BLANK_CHILD, child_keys, write_models
from cpserver.domain.feeds.rows import FeedRow
from cpserver.domain.former_names import former_name_rows
from cpserver.store.models import (
    Child,
    EducationSetting,
    FeedBatch,
    FeedSource,
    FieldProvenance,
    GpPractice,
    LocalAuthority,
    SourceRecord,
)

# The columns a feed may write on a known child (besides these, `id`, `cp_id` and `shielded` are
# read: the move's audit row and message need them).
WRITTEN: Final = (
    "given_name",
    "given_norm",
    "given_key",
    "middle_names",
    "family_name",
    "family_norm",
    "family_key",
    "date_of_birth",
    "gender",
    "consent_to_25",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "postcode_norm",
    "address_status",
    "telephone",
    "local_authority_id",
    "education_setting_id",
    "education_start_date",
    "gp_practice_id",
    "former_names",
)


@dataclass(slots=True)
class PlainChild:
    """A known child's columns as read for the chunk; `changes` says which the rule has changed."""

    id: int
    cp_id: str
    shielded: bool
    given_name: str
    given_norm: str
    given_key: str
    middle_names: str
    family_name: str
    family_norm: str
    family_key: str
    date_of_birth: dt.date
    gender: str
    consent_to_25: bool
    address_line1: str
    address_line2: str
    town: str
    postcode: str
    postcode_norm: str
    address_status: str
    telephone: str
    local_authority_id: int
    education_setting_id: int | None
    education_start_date: dt.date | None
    gp_practice_id: int | None
    former_names: list[str]
    original: dict[str, Any] = field(default_factory=dict)

    def changes(self) -> dict[str, Any]:
        """The columns whose value differs from the one read (as the ORM's history would say)."""
        return {name: value for name in WRITTEN if (value := getattr(self, name)) != self.original[name]}


@dataclass(slots=True)
class LinkRow:
    """A source record's link as read for the chunk (a plain row, not an ORM object); what
    `_link` changes on it is written at the chunk's end (`queue_links`)."""

    id: int
    source_record_id: str
    child_pk: int
    row_digest: str
    last_batch_id: int
    original: tuple[int, str, int] = (0, "", 0)


@dataclass
class PlainWrites:
    """What `apply_known` changed, written together (`BulkWrites.write` writes it first): the
    children's changed columns and the links' (by key, by column name), and the provenance of the
    fields each child's row won (by child: the fields, and the row's `as_of`; the source, batch,
    priority and time are the chunk's)."""

    # New children's rows (their columns once their row is applied), written before anything else.
    new_children: list[dict[str, Any]] = field(default_factory=list)
    child_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    link_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    # (source id, batch id, priority, set at) -> child -> (stored `field`s of the rows re-set, as_of)
    provenance: dict[tuple[int, int, int, dt.datetime], dict[int, tuple[list[str], dt.date]]] = field(
        default_factory=dict
    )

    def write(self, session: Session) -> None:
        from cpserver.domain.feeds.bulk_update import update_rows

        if self.new_children:
            write_models(session, Child, self.new_children)
            self.new_children.clear()
        for table, updates in (
            (Child.__table__, self.child_updates),
            (SourceRecord.__table__, self.link_updates),
        ):
            if updates:
                update_rows(session, table, ("id",), list(updates.values()))  # type: ignore[arg-type]
                updates.clear()
        for (source_id, batch_id, priority, set_at), won in self.provenance.items():
            _write_provenance(session, source_id, batch_id, priority, set_at, won)
        self.provenance.clear()


def _write_provenance(
    session: Session,
    source_id: int,
    batch_id: int,
    priority: int,
    set_at: dt.datetime,
    won: dict[int, tuple[list[str], dt.date]],
) -> None:
    """Each child's provenance rows its row re-set (its own rows, and its default row when the row
    won every field that row stands for: `settle`), by their stored `field`: on PostgreSQL one
    UPDATE for the chunk with one array entry per child (the fields as one string), not one per
    field; else by `update_rows`. Fields that need a row of their own are INSERTed (COPY) instead."""
    from cpserver.domain.feeds.bulk_update import update_rows

    if not won:
        return
    columns = FieldProvenance.__table__.c
    if session.get_bind().dialect.name != "postgresql":
        update_rows(
            session,
            FieldProvenance.__table__,  # type: ignore[arg-type]
            ("child_id", "field"),
            [
                {
                    "child_id": pk,
                    "field": name,
                    "source_id": source_id,
                    "batch_id": batch_id,
                    "priority": priority,
                    "as_of": as_of,
                    "set_at": set_at,
                }
                for pk, (names, as_of) in won.items()
                for name in names
            ],
        )
        return
    statement = text(
        "UPDATE field_provenance AS p SET source_id = :source_id, batch_id = :batch_id, "
        "priority = :priority, as_of = v.as_of, set_at = :set_at "
        "FROM unnest(:ids, :fields, :as_ofs) AS v(id, fields, as_of) "
        "WHERE p.child_id = v.id AND p.field = ANY(string_to_array(v.fields, ','))"
    ).bindparams(
        bindparam("source_id", type_=columns["source_id"].type),
        bindparam("batch_id", type_=columns["batch_id"].type),
        bindparam("priority", type_=columns["priority"].type),
        bindparam("set_at", type_=columns["set_at"].type),
        bindparam("ids", type_=ARRAY(Integer())),
        bindparam("fields", type_=ARRAY(String())),
        bindparam("as_ofs", type_=ARRAY(Date())),
    )
    session.execute(
        statement,
        {
            "source_id": source_id,
            "batch_id": batch_id,
            "priority": priority,
            "set_at": set_at,
            "ids": list(won),
            "fields": [",".join(names) for names, _as_of in won.values()],
            "as_ofs": [as_of for _names, as_of in won.values()],
        },
    )


def new_plain_children(
    session: Session, rows: list[FeedRow], lane: tuple[int, int] = (0, 1)
) -> list[SimpleNamespace | RowRejected]:
    """A new, still empty child for each row (or why the row cannot be applied), as `new_children`
    makes them, but plain objects with their keys drawn from the sequence, nothing written: the
    loader applies each row to its child (`apply_row(..., created=True)`), then `queue_new_child`.

    `lane`: the ContactPoint IDs' lane (`new_cp_ids`; a delta's worker k of n, `--jobs`)."""
    made: list[SimpleNamespace | RowRejected] = []
    good: list[SimpleNamespace] = []
    cp_ids = iter(new_cp_ids(session, len(rows), lane=lane))
    for row in rows:
        try:
            code_id(session, EducationSetting, row.education_setting, "unknown_education_setting")
            code_id(session, GpPractice, row.gp_practice, "unknown_gp_practice")
            authority_id = code_id(session, LocalAuthority, row.local_authority, "unknown_local_authority")
            child = SimpleNamespace(**(BLANK_CHILD | new_child_values(row, authority_id, next(cp_ids))), id=0)
        except RowRejected as rejected:
            made.append(rejected)
            continue
        made.append(child)
        good.append(child)
    if good:
        for child, key in zip(good, child_keys(session, len(good)), strict=True):
            child.id = key
    return made


def queue_new_child(bulk: BulkWrites, child: SimpleNamespace) -> None:
    """A new child, its row applied, put in the chunk's bulk writes (written before its links)."""
    plain = bulk.plain = bulk.plain if bulk.plain is not None else PlainWrites()
    plain.new_children.append(dict(vars(child)))  # a copy: the row as applied now


def read_provenance(
    session: Session, pks: Collection[int]
) -> dict[int, dict[str, FieldProvenance | ProvenanceRow]]:
    """The children's provenance by field (priority and as_of: what the rule reads), in one query;
    a field with no row of its own is given its child's default row (`by_field`).

    On PostgreSQL one row per child (its fields aggregated into one string), each distinct string
    parsed once: most children's provenance reads alike. The rows are shared: read, never changed.
    """
    held: dict[int, dict[str, FieldProvenance | ProvenanceRow]] = {pk: {} for pk in pks}
    if not pks:
        return held
    if session.get_bind().dialect.name != "postgresql":
        rows: dict[int, list[ProvenanceRow]] = {}
        for pk, name, priority, as_of in session.execute(
            select(
                FieldProvenance.child_pk,
                FieldProvenance.field,
                FieldProvenance.priority,
                FieldProvenance.as_of,
            ).where(among(session, FieldProvenance.child_pk, pks))
        ).tuples():
            rows.setdefault(pk, []).append(ProvenanceRow(pk, name, priority, as_of))
        held.update((pk, by_field(found)) for pk, found in rows.items())
        return held
    summary = func.string_agg(
        FieldProvenance.field
        + " "
        + func.cast(FieldProvenance.priority, String())
        + " "
        + func.to_char(FieldProvenance.as_of, "YYYY-MM-DD"),
        ",",
    )
    parsed: dict[str, dict[str, FieldProvenance | ProvenanceRow]] = {}
    for pk, line in session.execute(
        select(FieldProvenance.child_pk, summary)
        .where(among(session, FieldProvenance.child_pk, pks))
        .group_by(FieldProvenance.child_pk)
    ).tuples():
        found = parsed.get(line)
        if found is None:
            found = parsed[line] = by_field(
                ProvenanceRow(0, name, int(priority), dt.date.fromisoformat(as_of))
                for name, priority, as_of in (item.split(" ") for item in line.split(","))
            )
        held[pk] = found
    return held


def read_links(session: Session, source: FeedSource, record_ids: Collection[str]) -> dict[str, LinkRow]:
    """The source's links for `record_ids`, by record id, in one query."""
    links: dict[str, LinkRow] = {}
    for pk, record_id, child_pk, digest, batch_id in session.execute(
        select(
            SourceRecord.id,
            SourceRecord.source_record_id,
            SourceRecord.child_pk,
            SourceRecord.row_digest,
            SourceRecord.last_batch_id,
        ).where(
            SourceRecord.source_id == source.id, among(session, SourceRecord.source_record_id, record_ids)
        )
    ).tuples():
        links[record_id] = LinkRow(pk, record_id, child_pk, digest, batch_id, (child_pk, digest, batch_id))
    return links


def queue_links(bulk: BulkWrites, links: Collection[LinkRow]) -> None:
    """The links changed since they were read, put in the chunk's bulk writes (their columns)."""
    for link in links:
        changes = {
            column: value
            for column, value, before in zip(
                ("child_id", "row_digest", "last_batch_id"),
                (link.child_pk, link.row_digest, link.last_batch_id),
                link.original,
                strict=True,
            )
            if value != before
        }
        if changes:
            if bulk.plain is None:
                bulk.plain = PlainWrites()
            bulk.plain.link_updates[link.id] = {"id": link.id, **changes}


_READ: Final = (Child.id, Child.cp_id, Child.shielded, *(getattr(Child, name) for name in WRITTEN))


def read_children(session: Session, pks: Collection[int], *, lock: bool = False) -> dict[int, PlainChild]:
    """The children with keys `pks` as plain rows, in one query.

    `lock` (PostgreSQL): their rows locked until the chunk commits, taken in key order (so two
    loaders locking overlapping sets wait for each other rather than deadlock): a delta's worker
    then reads a child another worker is writing only once that worker's chunk is committed.
    """
    if not pks:
        return {}
    children: dict[int, PlainChild] = {}
    query = select(*_READ).where(among(session, Child.id, pks))
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.order_by(Child.id).with_for_update(of=Child.__table__)
    for line in session.execute(query).tuples():
        pk, cp_id, shielded, *values = line
        named = dict(zip(WRITTEN, values, strict=True))
        named["former_names"] = list(named["former_names"] or [])
        children[pk] = PlainChild(pk, cp_id, shielded, **named, original=dict(named))
    return children


def apply_known(
    session: Session,
    *,
    source: FeedSource,
    batch: FeedBatch,
    row: FeedRow,
    child: PlainChild,
    link: LinkRow | None,
    now: dt.datetime,
    stats: ApplyStats,
) -> None:
    """`apply_row` for a known child nothing in the chunk has written to yet, as plain rows.

    `link`: the row's record's link (None: the record id is linked now, to `child`). Raises
    `RowRejected` (before writing anything) as `apply_row` does.
    """
    bulk = stats.bulk
    assert bulk is not None
    setting_id = code_id(session, EducationSetting, row.education_setting, "unknown_education_setting")
    gp_id = code_id(session, GpPractice, row.gp_practice, "unknown_gp_practice")
    authority_id = code_id(session, LocalAuthority, row.local_authority, "unknown_local_authority")
    held = _held(session, stats, child.id)
    if row.new_identity and NEW_IDENTITY not in held:
        raise RowRejected("new_identity_reuses_record_id")
    before_authority = child.local_authority_id
    plain = bulk.plain = bulk.plain if bulk.plain is not None else PlainWrites()
    settled = settle(held, said_fields(row), source.priority, row.as_of)
    stats.fields_kept += settled.kept
    for name in settled.written:
        _write(child, name, row, bulk, setting_id=setting_id, gp_id=gp_id, authority_id=authority_id)
    if settled.default:
        name = default_field(settled.default)
        bulk.provenance.append(provenance_values(cast(Child, child), name, source, batch, row, now))
    for name in settled.own:  # a field only the default row stood for: a row of its own
        bulk.provenance.append(provenance_values(cast(Child, child), name, source, batch, row, now))
    won = [current.field for current in settled.reset]  # rows re-set: the child's own, its default
    if source.kind == "local_authority":
        services = [service_values(cast(Child, child), source, service) for service in row.services]
        bulk.services_replaced[(child.id, source.id)] = (row.as_of, services)
    digest = row_digest(row)
    if link is None:
        assert stats.unlinked is not None
        stats.unlinked.discard(row.source_record_id)
        bulk.links.append(link_values(source, batch, row, child.id, digest))
    else:
        link.child_pk, link.row_digest, link.last_batch_id = child.id, digest, batch.id
    changes = child.changes()
    if changes:
        plain.child_updates[child.id] = {"id": child.id, **changes}
    if won:
        chunk = plain.provenance.setdefault((source.id, batch.id, source.priority, now), {})
        chunk[child.id] = (won, row.as_of)
    if authority_id is not None and before_authority not in (None, child.local_authority_id):
        move = Move(child.cp_id, before_authority, child.local_authority_id)
        # `audit_move` reads the child's key and shield only.
        audit_move(session, source, batch, cast(Child, child), move, stats.audit)
        stats.moves.append(move)


def _held(session: Session, stats: ApplyStats, pk: int) -> dict[str, Any]:
    """The child's provenance by field: read with the chunk's, else (a row rejected after it was
    taken) read now."""
    if stats.provenance is not None and pk in stats.provenance:
        return stats.provenance.pop(pk)
    return read_provenance(session, [pk])[pk]


def _write(
    child: PlainChild,
    name: str,
    row: FeedRow,
    bulk: BulkWrites,
    *,
    setting_id: int | None,
    gp_id: int | None,
    authority_id: int | None,
) -> None:
    """apply.py's `_write` for a known child in the loader's chunk: the child's columns set by the
    same `set_column_field`; carers and former names at the chunk's end, as there."""
    if set_column_field(child, name, row, setting_id=setting_id, gp_id=gp_id, authority_id=authority_id):
        return
    if name == "former_names":
        rows, child.former_names = former_name_rows(child.id, child.date_of_birth, row.former_names)
        bulk.former_names_replaced[child.id] = rows
    elif name == "carers":
        bulk.carers_replaced[child.id] = [carer_values(cast(Child, child), carer) for carer in row.carers]
