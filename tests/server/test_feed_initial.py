"""The initial load (`load_feed(..., initial=True)`): the same stored data as the ordinary path, written
in bulk; refused unless the directory is empty; never a retired ContactPoint ID."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from cpserver.domain.errors import DomainError
from cpserver.domain.feeds import matching
from cpserver.domain.feeds.load import LoadReport, load_feed
from cpserver.domain.feeds.sources import add_source
from cpserver.seed.feed_file import child_rows, reference_in_memory, write_jsonl, write_reference_only
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.household_facts import carer_shield_drift
from cpserver.store.migrate import upgrade
from cpserver.store.models import AuditEvent, Base, Child, FeedSource, RetiredCpId
from cpserver.store.types import UtcDateTime
from tests.server.conftest import _pg_url, _postgres_admin
from tests.server.feeds_support import KeptMail

CHILDREN = 120
TODAY = dt.date(2026, 12, 6)
# Tables a load writes; compared row by row, children keyed by the source's record id.
TABLES = ("children", "carers", "involvements", "former_names", "field_provenance", "source_records")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.sqlite3'}", f"sqlite:///{tmp_path / 'b.sqlite3'}"
        return
    admin = _postgres_admin()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    names = [f"cp_feedinit_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(names[0]), _pg_url(names[1])
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _file(*, services: bool) -> bytes:
    reference = reference_in_memory(children=CHILDREN, random_seed=11, today=TODAY)
    rows = list(
        child_rows(
            reference,
            children=CHILDREN,
            random_seed=11,
            today=TODAY,
            services=services,
            authority=reference.authorities[0].code if services else None,
            id_prefix="LA" if services else "CB",
        )
    )
    out = io.StringIO()
    write_jsonl(rows, out)
    extra = [
        # rejected by the loader (an unknown school code), and by the reader (a bad date)
        {
            **json.loads(out.getvalue().splitlines()[0]),
            "source_record_id": "X-1",
            "education_setting": "0000000",
        },
        {
            **json.loads(out.getvalue().splitlines()[1]),
            "source_record_id": "X-2",
            "date_of_birth": "2020-02-30",
        },
        # an adopted child's new identity, with the birth name closed for adoption
        {
            **json.loads(out.getvalue().splitlines()[2]),
            "source_record_id": "X-3",
            "given_name": "Wren",
            "family_name": "Halloway",
            "new_identity": True,
            "former_names": [{"given_name": "Wren", "family_name": "Ostley", "closed_for_adoption": True}],
        },
    ]
    return out.getvalue().encode() + b"".join(json.dumps(item).encode() + b"\n" for item in extra)


def _prepare(url: str, *, kind: str) -> tuple[Engine, FeedSource, str]:
    engine = make_engine(url)
    upgrade(engine)
    write_reference_only(engine, children=CHILDREN, random_seed=11, today=TODAY)
    authority = reference_in_memory(children=CHILDREN, random_seed=11, today=TODAY).authorities[0].code
    with make_session_factory(engine)() as session:
        found, _ = add_source(
            session,
            name="census",
            kind=kind,
            priority=50,
            local_authority=authority if kind == "local_authority" else None,
        )
        session.commit()
        session.expunge(found)
    return engine, found, authority


def _load(
    engine: Engine, source: FeedSource, data: bytes, *, initial: bool, chunk_rows: int = 50
) -> LoadReport:
    with make_session_factory(engine)() as session:
        return load_feed(
            session,
            source=session.merge(source),
            stream=io.BytesIO(data),
            fmt="jsonl",
            via="file",
            mailer=KeptMail(),
            chunk_rows=chunk_rows,
            initial=initial,
        )


def _stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the load wrote, without generated keys, times, batch ids or ContactPoint IDs;
    a child's key is replaced by its record id."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        record_of: dict[Any, Any] = dict(
            connection.execute(sa.text("SELECT child_id, source_record_id FROM source_records")).all()
        )
        for name in TABLES:
            table = Base.metadata.tables[name]
            kept = [
                column.name
                for column in table.columns
                if column.name not in ("cp_id", "batch_id", "last_batch_id")
                and not isinstance(column.type, sa.DateTime | UtcDateTime)
                and (column.name != "id" or name == "children")
            ]
            found[name] = sorted(
                (
                    tuple(
                        record_of.get(values[column])
                        if column == "child_id" or (name, column) == ("children", "id")
                        else values[column]
                        for column in kept
                    )
                    for values in connection.execute(sa.select(table)).mappings()
                ),
                key=repr,
            )
    return found


def _report(report: LoadReport) -> dict[str, Any]:
    return {key: value for key, value in report.as_dict().items() if key != "batch_id"}


@pytest.mark.parametrize("kind", ["national", "local_authority"])
def test_the_initial_path_stores_what_the_ordinary_path_stores(
    two_databases: tuple[str, str], kind: str
) -> None:
    data = _file(services=kind == "local_authority")
    ordinary_engine, ordinary_source, _ = _prepare(two_databases[0], kind=kind)
    initial_engine, initial_source, _ = _prepare(two_databases[1], kind=kind)
    updates = {ordinary_engine: 0, initial_engine: 0}

    def count_updates(connection: sa.Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CHILDREN"):
            updates[connection.engine] += 1

    for engine in updates:
        sa.event.listen(engine, "before_cursor_execute", count_updates)
    classified = [0]
    classify = matching.classify

    def counted(*args: Any, **kwargs: Any) -> list[matching.Classification]:
        classified[0] += 1
        return classify(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching, "classify", counted)
        ordinary = _load(ordinary_engine, ordinary_source, data, initial=False)
        asked = classified[0]
        initial = _load(initial_engine, initial_source, data, initial=True)
    # The bulk path was taken: the ordinary path asks the matcher about new record ids (and writes
    # new children in bulk too, feeds/delta.py); the initial path neither asks nor updates.
    assert asked > 0 and classified[0] == asked and updates[initial_engine] == 0, (asked, updates)
    children = data.count(b"\n") - 2  # the generated rows and the new identity
    assert children > 12 and ordinary.rows_created == children and ordinary.rows_rejected == 2, (
        ordinary.as_dict()
    )
    assert _report(initial) == _report(ordinary)
    expected, got = _stored(ordinary_engine), _stored(initial_engine)
    assert got["children"] and got["carers"] and got["former_names"] and got["field_provenance"]
    if kind == "local_authority":
        assert got["involvements"]
    for table in TABLES:
        assert got[table] == expected[table], table
    for engine in updates:  # the carers' copy of their child's shield, though triggers were set aside
        with engine.connect() as connection:
            assert carer_shield_drift(connection) == 0
    # The same file again through the ordinary path: every row the initial path wrote is unchanged.
    again = _load(initial_engine, initial_source, data, initial=False)
    assert (again.rows_unchanged, again.rows_created, again.rows_rejected) == (children, 0, 2)
    ordinary_engine.dispose()
    initial_engine.dispose()


def test_a_record_id_sent_twice_is_one_child_on_the_initial_path(two_databases: tuple[str, str]) -> None:
    engine, source, _ = _prepare(two_databases[0], kind="national")
    lines = _file(services=False).splitlines(keepends=True)
    first = json.loads(lines[0])
    # the same record again in the same chunk, and in a later chunk, each with a later surname
    data = b"".join(
        [
            *lines[:10],
            json.dumps({**first, "family_name": "Marlowe"}).encode() + b"\n",
            *lines[10:60],
            json.dumps({**first, "family_name": "Tennant"}).encode() + b"\n",
        ]
    )
    report = _load(engine, source, data, initial=True, chunk_rows=20)
    assert (report.rows_created, report.rows_updated) == (60, 2), report.as_dict()
    with engine.connect() as connection:
        families = connection.execute(
            sa.text(
                "SELECT c.family_name FROM children c JOIN source_records s ON s.child_id = c.id "
                "WHERE s.source_record_id = :record"
            ),
            {"record": first["source_record_id"]},
        ).all()
    assert [row[0] for row in families] == ["Tennant"]
    engine.dispose()


def test_the_initial_path_is_refused_unless_the_directory_is_empty(two_databases: tuple[str, str]) -> None:
    engine, source, _ = _prepare(two_databases[0], kind="national")
    data = _file(services=False)
    assert _load(engine, source, data[: data.index(b"\n") + 1], initial=False).rows_created == 1
    factory = make_session_factory(engine)
    with factory() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(Child))
    with pytest.raises(DomainError) as refused:
        _load(engine, source, data, initial=True)
    assert refused.value.code == "initial_load_not_empty"
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Child)) == before == 1
        outcomes = list(
            session.scalars(sa.select(AuditEvent.outcome).where(AuditEvent.action == "feed_batch"))
        )
        assert "refused:initial_load_not_empty" in outcomes
    engine.dispose()


def test_the_initial_path_never_issues_a_retired_contactpoint_id(
    two_databases: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ID generator is made to draw retired IDs first: the load must skip them."""
    from cpserver.domain.feeds import apply

    engine, source, _ = _prepare(two_databases[0], kind="national")
    retired = [f"CP{5_000_000_000 + n:010d}" for n in range(40)]
    with make_session_factory(engine)() as session:
        session.add_all(RetiredCpId(cp_id=cp_id, retired_at=dt.datetime.now(dt.UTC)) for cp_id in retired)
        session.commit()
    drawn = iter([*retired, *(f"CP{6_000_000_000 + n:010d}" for n in range(1_000))])
    monkeypatch.setattr(apply, "_draw_cp_id", lambda *_lane: next(drawn))
    report = _load(engine, source, _file(services=False), initial=True)
    assert report.rows_created == CHILDREN + 1
    with engine.connect() as connection:
        issued = set(connection.execute(sa.text("SELECT cp_id FROM children")).scalars())
    assert len(issued) == CHILDREN + 1 and not issued & set(retired)
    engine.dispose()


def test_an_initial_load_stores_one_provenance_row_per_child(two_databases: tuple[str, str]) -> None:
    """Each child's default row stands for every field its row said (docs/feed-format.md, "How
    provenance is stored"); the adopted child's new-identity mark is its one other row."""
    engine, source, _ = _prepare(two_databases[0], kind="national")
    report = _load(engine, source, _file(services=False), initial=True)
    assert report.rows_created == CHILDREN + 1
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT child_id, field FROM field_provenance")).all()
        children = connection.execute(sa.text("SELECT count(*) FROM children")).scalar_one()
    defaults = [child for child, field in rows if field.startswith("*")]
    assert len(rows) == children + 1 == CHILDREN + 2, len(rows)
    assert len(defaults) == len(set(defaults)) == children
    assert sorted(field for _child, field in rows if not field.startswith("*")) == ["new_identity"]
    engine.dispose()
