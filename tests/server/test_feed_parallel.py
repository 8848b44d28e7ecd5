"""The initial load's speed-ups keep its results: `--jobs N` stores what one job stores, the search
indexes dropped around a first load come back exactly, and an interrupted load (a worker stopped,
or a crash with the indexes dropped) is completed by loading the file again."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cpserver.domain.feeds.format import ReadContext
from cpserver.domain.feeds.load import LoadReport, load_feed
from cpserver.domain.feeds.parallel import DROPPED_INDEX, SliceTask, _load_slice, drop_search_indexes
from cpserver.domain.feeds.sources import add_source, source_authority_code
from cpserver.domain.feeds.workers import LoaderGone
from cpserver.seed.feed_file import child_rows, reference_in_memory, write_jsonl, write_reference_only
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.migrate import upgrade
from cpserver.store.models import FeedBatch, FeedSource, LocalAuthority, SystemSetting
from tests.server.feeds_support import KeptMail
from tests.server.test_feed_initial import TABLES, TODAY, _file, _prepare, _report, _stored, two_databases

__all__ = ["two_databases"]  # the fixture, shared with test_feed_initial


def _indexes(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return sorted(
                connection.execute(
                    sa.text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")
                ).scalars()
            )
        return sorted(
            connection.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            ).scalars()
        )


def _load_file(
    engine: Engine, source: FeedSource, path: Path, *, initial: bool, jobs: int = 1, chunk_rows: int = 20
) -> LoadReport:
    with make_session_factory(engine)() as session, path.open("rb") as stream:
        return load_feed(
            session,
            source=session.merge(source),
            stream=stream,
            fmt="jsonl",
            via="file",
            mailer=KeptMail(),
            chunk_rows=chunk_rows,
            initial=initial,
            jobs=jobs,
            path=path,
        )


def _kept_indexes(engine: Engine) -> int:
    with make_session_factory(engine)() as session:
        return len(
            list(
                session.scalars(
                    sa.select(SystemSetting.key).where(SystemSetting.key.startswith(DROPPED_INDEX))
                )
            )
        )


def test_several_jobs_store_what_one_job_stores(two_databases: tuple[str, str], tmp_path: Path) -> None:
    """On PostgreSQL three worker processes load the file; on SQLite `jobs` is one process."""
    path = tmp_path / "feed.jsonl"
    path.write_bytes(_file(services=False))
    one_engine, one_source, _ = _prepare(two_databases[0], kind="national")
    many_engine, many_source, _ = _prepare(two_databases[1], kind="national")
    before = _indexes(one_engine)
    one = _load_file(one_engine, one_source, path, initial=True, jobs=1)
    many = _load_file(many_engine, many_source, path, initial=True, jobs=3)
    assert one.rows_created > 100 and one.rows_rejected == 2, one.as_dict()
    assert _report(many) == _report(one)
    expected, got = _stored(one_engine), _stored(many_engine)
    for table in TABLES:
        assert got[table] == expected[table], table
    with many_engine.connect() as connection:
        cp_ids = connection.execute(sa.text("SELECT cp_id FROM children")).scalars().all()
        stored = connection.execute(
            sa.select(FeedBatch.rows_read, FeedBatch.rows_created, FeedBatch.status, FeedBatch.digest)
        ).one()
    assert len(set(cp_ids)) == len(cp_ids) == many.rows_created
    assert stored[:3] == (many.rows_read, many.rows_created, "done") and len(stored[3]) == 64
    # The same indexes as before the load, and none left to rebuild.
    assert _indexes(one_engine) == _indexes(many_engine) == before
    assert _kept_indexes(one_engine) == _kept_indexes(many_engine) == 0
    # The file again (the ordinary path): every row is unchanged.
    again = _load_file(many_engine, many_source, path, initial=False)
    assert (again.rows_unchanged, again.rows_created) == (one.rows_created, 0)
    one_engine.dispose()
    many_engine.dispose()


def test_a_crash_with_the_indexes_dropped_is_repaired_by_the_next_load(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(_file(services=False))
    engine, source, _ = _prepare(two_databases[0], kind="national")
    before = _indexes(engine)
    with make_session_factory(engine)() as session:
        drop_search_indexes(session)  # as a crashed initial load leaves them
    assert _indexes(engine) != before and _kept_indexes(engine) > 0
    report = _load_file(engine, source, path, initial=False)
    assert report.rows_created > 100
    assert _indexes(engine) == before and _kept_indexes(engine) == 0
    engine.dispose()


@pytest.mark.postgres
def _worker_task(session: Session, engine: Engine, found: FeedSource, path: Path) -> SliceTask:
    """Worker 0 of 2's task for a new running batch of `found`, as `load_in_parallel` makes it."""
    source = session.merge(found)
    batch = FeedBatch(
        source_id=source.id,
        via="file",
        digest="",
        status="running",
        received_at=dt.datetime.now(dt.UTC),
        rejections=[],
    )
    session.add(batch)
    session.commit()
    context = ReadContext(
        source.kind,
        set(session.scalars(sa.select(LocalAuthority.code))),
        source_authority_code(session, source),
    )
    url = engine.url.render_as_string(hide_password=False)
    return SliceTask(url, source.id, batch.id, str(path), "jsonl", context, (0, 2), 20)


def test_an_interrupted_parallel_load_is_completed_by_loading_the_file_again(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    """Worker 0 of 2 loaded its share and worker 1 never ran: the file loaded again without
    --initial stores what a whole initial load stores."""
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("several jobs run on PostgreSQL only")
    path = tmp_path / "feed.jsonl"
    path.write_bytes(_file(services=False))
    whole_engine, whole_source, _ = _prepare(two_databases[0], kind="national")
    cut_engine, cut_source, _ = _prepare(two_databases[1], kind="national")
    whole = _load_file(whole_engine, whole_source, path, initial=True)
    with make_session_factory(cut_engine)() as session:
        half = _load_slice(session, _worker_task(session, cut_engine, cut_source, path), lambda _n: None)
    assert 0 < half.counts["rows_created"] < whole.rows_created
    again = _load_file(cut_engine, cut_source, path, initial=False)
    assert again.rows_unchanged == half.counts["rows_created"]
    assert again.rows_created == whole.rows_created - half.counts["rows_created"]
    expected, got = _stored(whole_engine), _stored(cut_engine)
    for table in TABLES:
        assert got[table] == expected[table], table
    whole_engine.dispose()
    cut_engine.dispose()


def test_several_jobs_need_the_files_path(two_databases: tuple[str, str]) -> None:
    engine, source, _ = _prepare(two_databases[0], kind="national")
    if engine.dialect.name != "postgresql":
        pytest.skip("several jobs run on PostgreSQL only")
    with make_session_factory(engine)() as session, pytest.raises(ValueError):
        load_feed(
            session,
            source=session.merge(source),
            stream=io.BytesIO(_file(services=False)),
            fmt="jsonl",
            via="file",
            mailer=KeptMail(),
            initial=True,
            jobs=2,
        )
    engine.dispose()


def test_a_worker_whose_loader_is_gone_writes_nothing_more(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    """A worker checks, before each chunk, that the process that started it is still its parent;
    when it is not (the loader was killed), it stops without writing: nothing goes on loading that
    no loader reports on or rebuilds the dropped indexes after."""
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("several jobs run on PostgreSQL only")
    path = tmp_path / "feed.jsonl"
    path.write_bytes(_file(services=False))
    engine, found, _ = _prepare(two_databases[0], kind="national")
    with make_session_factory(engine)() as session:
        task = _worker_task(session, engine, found, path)
        task.loader_pid = os.getpid()  # this process is the worker here; its parent is pytest's
        with pytest.raises(LoaderGone):
            _load_slice(session, task, lambda _n: None)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM children")).scalar() == 0
    engine.dispose()


def test_killing_the_loader_stops_its_workers(two_databases: tuple[str, str], tmp_path: Path) -> None:
    """End to end: `cpserver feed load --initial --jobs 2` killed (SIGKILL, no clean-up) while its
    workers load; the workers stop within a chunk and the children stop growing, short of the file."""
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("several jobs run on PostgreSQL only")
    children = 3_000
    reference = reference_in_memory(children=children, random_seed=11, today=TODAY)
    path = tmp_path / "feed.jsonl"
    with path.open("w", encoding="utf-8") as out:
        write_jsonl(child_rows(reference, children=children, random_seed=11, today=TODAY), out)
    engine = make_engine(two_databases[0])
    upgrade(engine)
    write_reference_only(engine, children=children, random_seed=11, today=TODAY)
    with make_session_factory(engine)() as session:
        add_source(session, name="census", kind="national", priority=50, local_authority=None)
        session.commit()

    def count() -> int:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM children")).scalar() or 0)

    loader = subprocess.Popen(
        [
            *(sys.executable, "-m", "cpserver.cli", "feed", "load", "--initial", "--jobs", "2"),
            *("--chunk-rows", "10", "--source", "census", "--database", two_databases[0], str(path)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while count() == 0 and loader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert loader.poll() is None, "the load ended before it could be killed: make the file larger"
        loader.send_signal(signal.SIGKILL)
        loader.wait()
        time.sleep(3)  # a chunk of 10 rows takes milliseconds: every worker has seen it by now
        stopped = count()
        time.sleep(2)
        assert count() == stopped
        assert stopped < children
    finally:
        if loader.poll() is None:
            loader.kill()
        engine.dispose()
