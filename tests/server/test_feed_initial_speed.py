"""The initial load's cheaper forms keep its results: the row digest is the same text hashed as before
(digests stored by older loads still match), the COPY text escapes what it must, and the foreign
keys dropped around a PostgreSQL initial load come back exactly (and after a crash)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cpserver.domain.feeds.apply import row_digest
from cpserver.domain.feeds.digest import canonical_json, canonical_utf8
from cpserver.domain.feeds.format import ReadContext, read_feed
from cpserver.domain.feeds.parallel import DROPPED_INDEX, drop_search_indexes, restore_search_indexes
from cpserver.domain.feeds.rows import FeedCarer, FeedName, FeedRow, FeedService
from cpserver.store.bulk_load import copy_text
from cpserver.store.database import make_session_factory
from cpserver.store.models import SystemSetting
from tests.server.test_feed_initial import TABLES, _file, _load, _prepare, _stored, two_databases

__all__ = ["two_databases"]  # the fixture, shared with test_feed_initial

ODD = 'Ann \\ O\'Neil\t"Zoë"\n\r\u2028 \x01 end'
ODD_ROW = FeedRow(
    source_record_id="R-1",
    given_name=ODD,
    family_name="Smith",
    date_of_birth=dt.date(2015, 3, 4),
    gender="female",
    as_of=dt.date(2026, 12, 1),
    middle_names="Ünïcode ✓",
    former_names=(FeedName(family_name="Jones", given_name="", closed_for_adoption=True),),
    carers=(FeedCarer(given_name="A", family_name=ODD, relationship_to_child="Mother", postcode="ZZ1 1AA"),),
    services=(
        FeedService(
            service_type="health_visitor",
            organisation_name="Org",
            practitioner_name="P",
            started_on=dt.date(2024, 1, 2),
            ended_on=None,
            lead_professional=True,
        ),
    ),
    consent_to_25=True,
)


def _reference_json(row: FeedRow) -> str:
    """The digest's text as the loader has always made it (through `FeedRow.to_json`)."""
    return json.dumps(row.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_row_digest_hashes_the_same_text_as_before() -> None:
    rows = [ODD_ROW, dataclasses.replace(ODD_ROW, former_names=(), carers=(), services=())]
    for services in (False, True):
        data = _file(services=services)
        authorities = {json.loads(line).get("local_authority", "") for line in data.splitlines()} - {""}
        context = ReadContext(
            "local_authority" if services else "national",
            authorities=authorities,
            source_authority=sorted(authorities)[0] if services else None,
        )
        parsed = read_feed(io.BytesIO(data), "jsonl", context)
        rows += [row for _n, row in parsed if isinstance(row, FeedRow)]
    assert any(row.services for row in rows)
    assert len(rows) > 100
    for row in rows:
        assert canonical_json(row) == _reference_json(row)
        assert canonical_utf8(row) == _reference_json(row).encode("utf-8")
        assert row_digest(row) == hashlib.sha256(_reference_json(row).encode("utf-8")).hexdigest()
    # A digest stored by the loader before this change (so rows loaded then are still unchanged).
    assert row_digest(ODD_ROW) == "3dfb7a467752b283ab9d8fa0542fb0e632be8204a219fbdda233ccf8b8caa8f8"


# Every code point but the surrogates (which no row the reader accepts holds), the control
# characters, quotes, backslashes and U+2028/2029 (left unescaped by both encoders) included.
_ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=400, deadline=None)
@given(given_name=_ANY_TEXT, family_name=_ANY_TEXT, carer=_ANY_TEXT, former=_ANY_TEXT)
def test_the_digests_text_is_jsons_for_any_text(
    given_name: str, family_name: str, carer: str, former: str
) -> None:
    row = dataclasses.replace(
        ODD_ROW,
        given_name=given_name,
        family_name=family_name,
        former_names=(FeedName(family_name=former),),
        carers=(FeedCarer(given_name=carer, family_name=former, relationship_to_child=given_name),),
    )
    assert canonical_utf8(row) == _reference_json(row).encode("utf-8")
    assert row_digest(row) == hashlib.sha256(_reference_json(row).encode("utf-8")).hexdigest()


def test_a_row_with_a_lone_surrogate_is_refused_by_the_digest_as_before() -> None:
    # The reader refuses such a row (bad_encoding); a row made another way fails as it always did.
    row = dataclasses.replace(ODD_ROW, given_name="Ann\udc80")
    with pytest.raises(UnicodeEncodeError):
        row_digest(row)


def test_copy_text_escapes_what_copy_reads_as_special() -> None:
    when = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
    text = copy_text(
        [
            ["a\\b", "tab\there", "line\nbreak\rcr", "plain"],
            [1, None, 3, 4],
            [True, False, None, True],
            [dt.date(2020, 1, 2), None, dt.date(2021, 3, 4), None],
            [when, when, None, when],
            [None, "", "x", "y"],
        ]
    )
    assert text.split("\n") == [
        "a\\\\b\t1\tt\t2020-01-02\t2026-12-01T10:30:00+00:00\t\\N",
        "tab\\there\t\\N\tf\t\\N\t2026-12-01T10:30:00+00:00\t",
        "line\\nbreak\\rcr\t3\t\\N\t2021-03-04\t\\N\tx",
        "plain\t4\tt\t\\N\t2026-12-01T10:30:00+00:00\ty",
        "",
    ]
    with pytest.raises(ValueError, match="NUL"):
        copy_text([["a\x00b", "c"]])


def test_text_with_copys_special_characters_is_stored_as_the_ordinary_path_stores_it(
    two_databases: tuple[str, str],
) -> None:
    lines = _file(services=False).splitlines()
    odd = [
        json.dumps(
            json.loads(line)
            | {"given_name": f"Ann{character}Marie", "address_line1": f"1{character}Road \\N"},
            ensure_ascii=False,
        ).encode("utf-8")
        for line, character in zip(lines[:4], ("\\", "\t", "\n", "\r"), strict=True)
    ]
    data = b"\n".join(odd + lines[4:]) + b"\n"
    ordinary_engine, ordinary_source, _ = _prepare(two_databases[0], kind="national")
    initial_engine, initial_source, _ = _prepare(two_databases[1], kind="national")
    _load(ordinary_engine, ordinary_source, data, initial=False)
    _load(initial_engine, initial_source, data, initial=True)
    expected, got = _stored(ordinary_engine), _stored(initial_engine)
    for table in TABLES:
        assert got[table] == expected[table], table
    with initial_engine.connect() as connection:
        names = set(connection.execute(sa.text("SELECT given_name FROM children")).scalars())
    assert {"Ann\\Marie", "Ann\tMarie", "Ann\nMarie", "Ann\rMarie"} <= names
    ordinary_engine.dispose()
    initial_engine.dispose()


def _foreign_keys(engine: Engine) -> list[tuple[str, str, str, bool]]:
    with engine.connect() as connection:
        return sorted(
            connection.execute(
                sa.text(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
                    "FROM pg_constraint WHERE contype = 'f'"
                )
            ).tuples()
        )


def _kept(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as session:
        return list(
            session.scalars(sa.select(SystemSetting.value).where(SystemSetting.key.startswith(DROPPED_INDEX)))
        )


@pytest.mark.postgres
def test_the_foreign_keys_dropped_around_an_initial_load_come_back_exactly(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("the foreign keys are dropped on PostgreSQL only")
    data = _file(services=False)
    engine, source, _ = _prepare(two_databases[0], kind="national")
    before = _foreign_keys(engine)
    assert len(before) > 10
    # As a crashed initial load leaves them: dropped, their definitions kept.
    with make_session_factory(engine)() as session:
        drop_search_indexes(session)
    dropped = {(table, name) for table, name, _d, _v in before} - {
        (table, name) for table, name, _d, _v in _foreign_keys(engine)
    }
    assert ("field_provenance", "fk_field_provenance_child_id_children") in dropped
    assert sum("FOREIGN KEY" in kept for kept in _kept(engine)) == len(dropped)
    # The next load (the ordinary path) puts them back before it writes.
    report = _load(engine, source, data, initial=False)
    assert report.rows_created > 100
    assert _foreign_keys(engine) == before and _kept(engine) == []
    engine.dispose()
    # An initial load: back as they were when it ends, and every row refers to a row.
    other, other_source, _ = _prepare(two_databases[1], kind="national")
    report = _load(other, other_source, data, initial=True)
    assert report.rows_created > 100
    assert _foreign_keys(other) == before and _kept(other) == []
    other.dispose()


def _indexes(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        else:
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        return sorted(connection.execute(sa.text(query)).tuples())


@pytest.mark.parametrize("jobs", [1, 3])
def test_a_rebuild_shared_by_several_connections_puts_back_every_index_and_key(
    two_databases: tuple[str, str], jobs: int
) -> None:
    engine, source, _ = _prepare(two_databases[0], kind="national")
    _load(engine, source, _file(services=False), initial=False)
    indexes, keys = _indexes(engine), _foreign_keys(engine) if engine.dialect.name == "postgresql" else []
    with make_session_factory(engine)() as session:
        drop_search_indexes(session)
    dropped = len(_kept(engine))
    assert len(_indexes(engine)) < len(indexes) and dropped > 5
    # The matcher's blocks among them (the given-name block's too, migration 0013_given_key_dob).
    for block in ("ix_children_family_key_dob", "ix_children_given_key_dob", "ix_children_postcode_norm"):
        assert sum(block in kept for kept in _kept(engine)) == 1, block
    with make_session_factory(engine)() as session:
        assert restore_search_indexes(session, jobs=jobs) == dropped
    assert _indexes(engine) == indexes and _kept(engine) == []
    if keys:
        assert _foreign_keys(engine) == keys  # the same definitions, every one validated
    engine.dispose()


@pytest.mark.postgres
def test_a_rebuild_that_fails_keeps_only_what_is_still_to_do_and_the_next_one_finishes_it(
    two_databases: tuple[str, str],
) -> None:
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("the foreign keys are dropped on PostgreSQL only")
    engine, source, _ = _prepare(two_databases[0], kind="national")
    _load(engine, source, _file(services=False), initial=False)
    indexes, keys = _indexes(engine), _foreign_keys(engine)
    with make_session_factory(engine)() as session:
        drop_search_indexes(session)
    # A carer whose child is not there (written while the keys were away): its key cannot validate.
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE carers SET child_id = -5 WHERE id = (SELECT MIN(id) FROM carers)"))
    with make_session_factory(engine)() as session, pytest.raises(sa.exc.IntegrityError):
        restore_search_indexes(session, jobs=2)
    assert _indexes(engine) == indexes  # every index was rebuilt and its definition let go
    left = _kept(engine)
    assert left and all("VALIDATE CONSTRAINT" in kept for kept in left)
    assert any(kept.startswith("ALTER TABLE carers ") for kept in left)
    # Every key is in place again; those kept are not validated yet (so a new row is checked).
    now = {(t, n, d.removesuffix(" NOT VALID"), v) for t, n, d, v in _foreign_keys(engine)}
    assert {(t, n, d) for t, n, d, _v in now} == {(t, n, d) for t, n, d, _v in keys}
    assert {n for _t, n, _d, valid in now if not valid} == {kept.split('"')[1] for kept in left}
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM carers WHERE child_id = -5"))
    with make_session_factory(engine)() as session:
        assert restore_search_indexes(session, jobs=2) == len(left)
    assert _foreign_keys(engine) == keys and _kept(engine) == []
    engine.dispose()


def test_an_initial_load_leaves_the_planner_statistics_of_what_it_wrote(
    two_databases: tuple[str, str],
) -> None:
    """A first load wrote 11M children, their carers, provenance and source records and left the
    planner no statistics of them: the next delta's link, candidate and provenance reads then ran
    by guessed plans, about a second a statement (autovacuum may be off, as on the CI machine's
    server, or not yet round). The end phase analyses the tables it wrote."""
    engine, source, _ = _prepare(two_databases[0], kind="national")
    report = _load(engine, source, _file(services=False), initial=True)
    assert report.rows_created > 100
    with engine.connect() as connection:
        for table in ("children", "carers", "field_provenance", "source_records"):
            rows = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            assert rows > 0, table
            if engine.dialect.name == "postgresql":
                columns = connection.execute(
                    sa.text("SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = :t"),
                    {"t": table},
                ).scalar_one()
                estimate = connection.execute(
                    sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
                ).scalar_one()
                assert columns > 0 and estimate == rows, (table, columns, estimate, rows)
                continue
            has_stat1 = connection.execute(
                sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            ).scalar_one()
            stats = (
                connection.execute(sa.text("SELECT stat FROM sqlite_stat1 WHERE tbl = :t"), {"t": table})
                .scalars()
                .all()
                if has_stat1
                else []
            )
            assert any(int(stat.split()[0]) == rows for stat in stats), (table, stats, rows)
    engine.dispose()


def test_partial_indexes_stay_through_an_initial_load(two_databases: tuple[str, str]) -> None:
    """The shielded and archived indexes hold only the rows that meet their condition (none in a
    first load): they are kept up as rows arrive instead of being rebuilt by a read of the table."""
    engine, _source, _ = _prepare(two_databases[0], kind="national")
    partial = {"ix_children_shielded_dob", "ix_carers_shielded_postcode_key", "ix_children_archived_at"}
    assert partial <= {name for name, _d in _indexes(engine)}
    with make_session_factory(engine)() as session:
        drop_search_indexes(session)
    assert partial <= {name for name, _d in _indexes(engine)}
    assert not any(name in kept for kept in _kept(engine) for name in partial)
    assert any("ix_children_postcode_norm" in kept for kept in _kept(engine))
    with make_session_factory(engine)() as session:
        restore_search_indexes(session)
    engine.dispose()


@pytest.mark.postgres
def test_a_chunks_link_check_reads_the_index_by_record_id_on_a_table_nobody_has_analysed(
    two_databases: tuple[str, str],
) -> None:
    """Each initial-load chunk asks whether any of its record ids is linked. Asked with `LIMIT 1`,
    PostgreSQL, on the source-records table the load is filling (no statistics yet), walked every
    link of the source and tested each against the chunk's ids: the whole table read per chunk."""
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("PostgreSQL's planner")
    engine, source, _ = _prepare(two_databases[0], kind="national")
    _load(engine, source, _file(services=False), initial=True)
    with engine.begin() as connection:
        # 300,000 links more, as an initial load leaves them part way (no ANALYZE since).
        columns = ", ".join(
            connection.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = 'children' "
                    "AND column_name NOT IN ('id', 'cp_id') ORDER BY ordinal_position"
                )
            ).scalars()
        )
        connection.execute(
            sa.text(
                f"INSERT INTO children (cp_id, {columns}) "
                f"SELECT 'CP' || (6000000000 + g * 1000 + c.id), {columns} "
                "FROM (SELECT * FROM children LIMIT 100) AS c CROSS JOIN generate_series(1, 3000) AS g"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO source_records "
                "(source_id, source_record_id, child_id, row_digest, last_batch_id) "
                "SELECT :source, 'CX-' || lpad(c.id::text, 9, '0'), c.id, '', "
                "(SELECT MAX(last_batch_id) FROM source_records) FROM children AS c "
                "WHERE NOT EXISTS (SELECT 1 FROM source_records AS r WHERE r.child_id = c.id)"
            ),
            {"source": source.id},
        )
        connection.execute(sa.text("SELECT pg_stat_reset()"))
    from cpserver.domain.feeds.load import linked_among

    with make_session_factory(engine)() as session:
        ids = [f"CX-{number:09d}" for number in range(400_000, 401_000)]  # a chunk's, none linked
        statement = linked_among(session, session.merge(source), ids).compile(dialect=engine.dialect)
        plan = (
            session.connection()
            .exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", statement.params)
            .scalar_one()
        )
        assert session.execute(linked_among(session, session.merge(source), ids)).first() is None
        linked = ["CX-000000200", *ids]
        assert session.execute(linked_among(session, session.merge(source), linked)).first() is not None

    def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for inner in node.get("Plans", []):
            yield from nodes(inner)

    reads = [node for node in nodes(plan[0]["Plan"]) if node.get("Relation Name") == "source_records"]
    assert reads, plan
    for node in reads:  # each id one probe of the unique index, by source and record id
        assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node
        assert node["Index Name"] == "uq_source_records_source_record", node
        assert "source_record_id" in node["Index Cond"] and "Filter" not in node, node
    engine.dispose()
