"""A delta loaded by several workers (`cpserver feed load --jobs N` without `--initial`) stores and
reports what one process stores and reports; a worker that fails fails the batch, and the file
loaded again completes it; a chunk the database refuses for a deadlock is applied again, nothing
lost or counted twice. On SQLite `--jobs` loads in one process (said by the command)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from cpserver.domain.feeds.load import LoadReport, load_feed
from cpserver.seed.feed_file import child_rows, delta_rows, reference_in_memory, write_csv, write_jsonl
from cpserver.store.database import make_session_factory
from cpserver.store.models import FeedBatch, FeedSource
from tests.server.feeds_support import KeptMail
from tests.server.test_feed_initial import CHILDREN, TODAY, _file, _prepare, _report, _stored, two_databases

__all__ = ["two_databases"]  # the fixture, shared with test_feed_initial

ROOT = Path(__file__).resolve().parents[2]


def _delta() -> bytes:
    """A day's changes to the `_file` children (updates, moves, births, doubtful rows), then: a row
    for a shielded child under a new record id (held), a row the loader rejects (a bad date), one a
    worker rejects (an unknown school), and a row sent twice under a new record id."""
    reference = reference_in_memory(children=CHILDREN, random_seed=11, today=TODAY)
    base = list(child_rows(reference, children=CHILDREN, random_seed=11, today=TODAY))
    changes = [
        row
        for row, _truth in delta_rows(
            iter(base),
            authorities=[item.code for item in reference.authorities],
            total=CHILDREN,
            share=1.0,
            random_seed=5,
            today=TODAY,
        )
    ]
    out = io.StringIO()
    write_jsonl(changes, out)
    # The child `_ready` shields: a new family elsewhere, the same given name and birthday.
    shielded = base[9]
    newborn = {
        **base[20],
        "source_record_id": "NEW-1",
        "given_name": "Ottoline",
        "date_of_birth": "2026-11-30",
    }
    extra = [
        {
            **shielded,
            "source_record_id": "ELSEWHERE-1",
            "family_name": "Quennell",
            "address_line1": "2 Far Lane",
            "postcode": "ZZ9 9ZZ",
            "telephone": "",
            "carers": [],
        },
        {**base[3], "date_of_birth": "2021-02-30"},
        {**base[4], "education_setting": "0000000", "address_line1": "1 Other Road"},
        newborn,
        {**newborn, "telephone": "01632 960999"},
    ]
    return out.getvalue().encode() + b"".join(json.dumps(item).encode() + b"\n" for item in extra)


def _ready(url: str) -> tuple[Engine, FeedSource]:
    """The `_file` children loaded (one process), the tenth shielded as a management team would."""
    engine, source, _ = _prepare(url, kind="national")
    _load(engine, source, _file(services=False), jobs=1)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE children SET shielded = true, shield_ground = 'significant_harm', "
                "shield_review_date = :review WHERE id = (SELECT child_id FROM source_records "
                "WHERE source_record_id = 'CB-000000010')"
            ),
            {"review": TODAY + dt.timedelta(days=365)},
        )
    return engine, source


def _load(
    engine: Engine,
    source: FeedSource,
    data: bytes,
    *,
    jobs: int,
    chunk_rows: int = 7,
    mail: KeptMail | None = None,
    fmt: Literal["csv", "jsonl"] = "jsonl",
) -> LoadReport:
    with make_session_factory(engine)() as session:
        return load_feed(
            session,
            source=session.merge(source),
            stream=io.BytesIO(data),
            fmt=fmt,
            via="file",
            mailer=mail or KeptMail(),
            chunk_rows=chunk_rows,
            jobs=jobs,
        )


def _held(engine: Engine) -> list[tuple[Any, ...]]:
    """The open reviews: row, record id, why, the candidate's record id, the incoming row."""
    with engine.connect() as connection:
        return sorted(
            connection.execute(
                sa.text(
                    "SELECT r.row_number, r.source_record_id, r.held_because, s.source_record_id, "
                    "r.status, r.incoming FROM match_reviews r "
                    "LEFT JOIN source_records s ON s.child_id = r.candidate_child_id"
                )
            ).all(),
            key=repr,
        )


def _state(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        batches = connection.execute(
            sa.select(FeedBatch.status, FeedBatch.rows_read, FeedBatch.rows_rejected).order_by(FeedBatch.id)
        ).all()
        shielded_visible = connection.execute(
            sa.text("SELECT count(*) FROM children WHERE shielded")
        ).scalar_one()
    return {
        "stored": _stored(engine),
        "held": _held(engine),
        "batches": batches,
        "shielded": shielded_visible,
    }


def _subjects(mail: KeptMail) -> list[str]:
    return sorted(message["to"] + " " + message["subject"] for message in mail.sent)


def test_a_delta_with_two_jobs_stores_and_reports_what_one_job_does(two_databases: tuple[str, str]) -> None:
    """On PostgreSQL two workers (chunks of 7 rows); on SQLite `jobs` is one process."""
    data = _delta()
    one_engine, one_source = _ready(two_databases[0])
    two_engine, two_source = _ready(two_databases[1])
    one_mail, two_mail = KeptMail(), KeptMail()
    one = _load(one_engine, one_source, data, jobs=1, mail=one_mail)
    two = _load(two_engine, two_source, data, jobs=2, mail=two_mail)
    # The delta does all a day's kinds of row.
    assert one.rows_updated > 50 and one.rows_created > 3 and one.rows_held >= 1, one.as_dict()
    assert one.records_moved > 3 and one.rows_matched >= 1, one.as_dict()
    rows = data.decode().count("\n")
    assert one.rows_read == rows and one.status == "done"
    # The rejected rows keep their numbers: the bad date (the loader's), the unknown school (a worker's).
    assert one.as_dict()["rejections"] == [
        {"row": rows - 3, "code": "bad_date"},
        {"row": rows - 2, "code": "unknown_education_setting"},
    ]
    assert _report(two) == _report(one)
    assert _state(two_engine) == _state(one_engine)
    # The shielded child's row under a new record id is held, not created.
    assert any(
        item[1:4] == ("ELSEWHERE-1", "shielded_candidate", "CB-000000010") for item in _held(two_engine)
    )
    # Both teams are told of every move (one message per pair of authorities and committed chunk,
    # so two workers' chunks may group the moves differently: the same recipients and subjects' kinds).
    assert {message["to"] for message in two_mail.sent} == {message["to"] for message in one_mail.sent}
    assert len(one_mail.sent) > 0
    # The same file again: every row applied is unchanged (but the record id sent twice, whose
    # rows update each other), nothing created; the held rows are held again; as with one job.
    again_one = _load(one_engine, one_source, data, jobs=1)
    again = _load(two_engine, two_source, data, jobs=2)
    assert again.status == "done"
    assert (again.rows_unchanged, again.rows_created, again.rows_updated) == (
        one.rows_updated + one.rows_created - 2,
        0,
        2,
    ), again.as_dict()
    assert again.rows_held == one.rows_held and again.rows_rejected == one.rows_rejected
    assert _report(again) == _report(again_one)
    assert _state(two_engine) == _state(one_engine)
    one_engine.dispose()
    two_engine.dispose()


def _delta_csv() -> bytes:
    """`_delta` as CSV, then rows only a CSV file can have, each refused or read by a worker as one
    process would: a cell holding a NUL (`unstorable_text`), a new record id with a date that is
    not one (no birthday to choose its worker by), a known record id with spaces round it (the
    worker of that child), a quoted address over two lines, record ids the database cannot hold (a
    NUL, 65 characters: never looked up), a row with a cell too many (the loader's
    `wrong_field_count`) and a record id that is not UTF-8."""
    rows = [json.loads(line) for line in _delta().decode().splitlines()]
    out = io.StringIO()
    write_csv(rows, out)
    known = _known(rows)
    extra = [
        {**rows[2], "family_name": "Nul\x00l"},
        {**rows[5], "source_record_id": "NEW-NODATE", "date_of_birth": "2021-13-01"},
        {**known, "source_record_id": f"  {known['source_record_id']} ", "town": "Elsewhere"},
        {  # a new child (no other row is hers: two workers decide it as one process does)
            **rows[6],
            "source_record_id": "NEW-TWO-LINES",
            "given_name": "Tamsin",
            "family_name": "Quillfeather",
            "date_of_birth": "2026-10-03",
            "address_line2": "Flat 2\nBack Lane",
            "postcode": "ZZ1 1ZZ",
            "carers": [],
        },
        {**rows[7], "source_record_id": "NEW-\x00"},
        {**rows[8], "source_record_id": "N" * 65},
    ]
    write_csv(extra, tail := io.StringIO())
    lines = tail.getvalue().split("\n", 1)[1]  # without its header
    too_many = out.getvalue().splitlines()[3] + ",surplus\n"
    fifth = out.getvalue().splitlines()[5].encode()  # the header first: its record id leads
    undecodable = b"\xff-1" + fifth[fifth.index(b",") :] + b"\n"
    return (out.getvalue() + lines + too_many).encode() + undecodable


def _known(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The first of the rows for a record the directory already links (the initial file's ids)."""
    return next(row for row in rows if row["source_record_id"].startswith("CB-"))


@pytest.mark.parametrize("chunk_rows", [7, 500])
def test_a_csv_delta_is_parsed_by_the_workers_and_stores_what_one_job_does(
    two_databases: tuple[str, str], chunk_rows: int
) -> None:
    """With `--jobs` a CSV file's records are tokenised by the loader and parsed by the workers
    (`format.read_feed_unparsed`): what is stored, held, rejected (row numbers and codes, the
    workers' and the loader's) and reported is what one process makes of the same file."""
    data = _delta_csv()
    spaced = _known([json.loads(line) for line in _delta().decode().splitlines()])["source_record_id"]
    one_engine, one_source = _ready(two_databases[0])
    two_engine, two_source = _ready(two_databases[1])
    one = _load(one_engine, one_source, data, jobs=1, fmt="csv", chunk_rows=chunk_rows)
    two = _load(two_engine, two_source, data, jobs=2, fmt="csv", chunk_rows=chunk_rows)
    assert one.status == "done" and one.rows_updated > 50 and one.rows_created > 3, one.as_dict()
    records = data.count(b"\n") - 2  # the header; the address over two lines
    assert one.rows_read == records
    codes = [item["code"] for item in one.as_dict()["rejections"]]
    assert codes == [
        "bad_date",
        "unknown_education_setting",
        "unstorable_text",
        "bad_date",
        "unstorable_text",
        "too_long",
        "wrong_field_count",
        "bad_encoding",
    ], codes
    assert one.as_dict()["rejections"][-1]["row"] == records
    assert _report(two) == _report(one)
    assert _state(two_engine) == _state(one_engine)
    with two_engine.connect() as connection:
        town, line2 = connection.execute(
            sa.text(
                "SELECT c.town, (SELECT address_line2 FROM children n JOIN source_records t "
                "ON t.child_id = n.id WHERE t.source_record_id = 'NEW-TWO-LINES') FROM children c "
                "JOIN source_records s ON s.child_id = c.id WHERE s.source_record_id = :spaced"
            ),
            {"spaced": spaced},
        ).one()
    assert (town, line2) == ("Elsewhere", "Flat 2\nBack Lane")
    # Again: all unchanged but the rows that update each other, as with one job.
    again_one = _load(one_engine, one_source, data, jobs=1, fmt="csv", chunk_rows=chunk_rows)
    again = _load(two_engine, two_source, data, jobs=2, fmt="csv", chunk_rows=chunk_rows)
    assert again.status == "done" and again.rows_created == 0
    assert _report(again) == _report(again_one)
    assert _state(two_engine) == _state(one_engine)
    one_engine.dispose()
    two_engine.dispose()


def _workers(loader: int) -> list[int]:
    """The loader's worker processes (multiprocessing's spawned children, not its resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent) == loader and b"spawn_main" in command:
            found.append(int(entry))
    return found


def test_a_killed_worker_fails_the_batch_and_loading_again_completes_it(
    two_databases: tuple[str, str],
) -> None:
    """One of two workers killed (SIGKILL) after the load's first chunk is committed: the batch is
    "failed", its counters those of the chunks committed; the file loaded again completes it, and the
    directory then holds what one process's load stores."""
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("several jobs run on PostgreSQL only")
    data = _delta()
    whole_engine, whole_source = _ready(two_databases[0])
    cut_engine, cut_source = _ready(two_databases[1])
    whole = _load(whole_engine, whole_source, data, jobs=1)
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with cut_engine.connect() as connection:
                read = connection.execute(
                    sa.text("SELECT rows_read FROM feed_batches ORDER BY id DESC LIMIT 1")
                ).scalar_one()
            workers = _workers(os.getpid())
            if read and workers:
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one)
    killer.start()
    cut = _load(cut_engine, cut_source, data, jobs=2, chunk_rows=2)
    killer.join()
    assert killed, "no worker to kill"
    assert cut.status == "failed" and cut.failed is not None and "worker" in cut.failed
    assert 0 < cut.rows_read < whole.rows_read, cut.as_dict()
    with cut_engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT status, rows_read, rows_updated, rows_created FROM feed_batches ORDER BY id DESC")
        ).first()
    assert tuple(stored or ()) == ("failed", cut.rows_read, cut.rows_updated, cut.rows_created)
    again = _load(cut_engine, cut_source, data, jobs=2)
    assert again.status == "done"
    assert again.rows_unchanged == cut.rows_updated + cut.rows_created
    assert again.rows_created == whole.rows_created - cut.rows_created
    assert _stored(cut_engine) == _stored(whole_engine)
    held_whole = [item[1:] for item in _held(whole_engine)]
    assert sorted(item[1:] for item in _held(cut_engine)) == sorted(held_whole)
    whole_engine.dispose()
    cut_engine.dispose()


def test_a_chunk_refused_for_a_deadlock_is_applied_again(two_databases: tuple[str, str]) -> None:
    """PostgreSQL refuses the workers' first three commits with a deadlock (a trigger raises SQLSTATE
    40P01 on the batch's counters, the chunk's last write): each chunk is rolled back and applied
    again; the result is one process's, no row lost, none counted twice."""
    if not two_databases[0].startswith("postgresql"):
        pytest.skip("several jobs run on PostgreSQL only")
    data = _delta()
    one_engine, one_source = _ready(two_databases[0])
    two_engine, two_source = _ready(two_databases[1])
    with two_engine.begin() as connection:
        connection.execute(sa.text("CREATE SEQUENCE djobs_deadlocks"))
        connection.execute(
            sa.text(
                "CREATE FUNCTION djobs_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.status = 'running' AND NEW.rows_read > OLD.rows_read "
                "AND nextval('djobs_deadlocks') <= 3 THEN "
                "RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; RETURN NEW; END $$"
            )
        )
        connection.execute(
            sa.text(
                "CREATE TRIGGER djobs_deadlock BEFORE UPDATE ON feed_batches "
                "FOR EACH ROW EXECUTE FUNCTION djobs_deadlock()"
            )
        )
    one = _load(one_engine, one_source, data, jobs=1)
    two = _load(two_engine, two_source, data, jobs=2)
    with two_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT last_value FROM djobs_deadlocks")).scalar_one() > 3
    assert _report(two) == _report(one)
    assert _state(two_engine) == _state(one_engine)
    one_engine.dispose()
    two_engine.dispose()


def test_the_command_loads_a_delta_with_jobs_and_says_so_on_sqlite(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    """`cpserver feed load --jobs 2` without --initial: on PostgreSQL two workers; on SQLite one
    process, and the command says that --jobs was not used."""
    engine, _source = _ready(two_databases[0])
    path = tmp_path / "delta.jsonl"
    path.write_bytes(_delta())
    loaded = subprocess.run(
        [
            *(sys.executable, "-m", "cpserver.cli", "feed", "load", "--jobs", "2", "--chunk-rows", "10"),
            *("--source", "census", "--database", two_databases[0], str(path)),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert loaded.returncode == 1, loaded.stderr  # two rows rejected
    report = json.loads(loaded.stdout[loaded.stdout.find("{") : loaded.stdout.rfind("}") + 1])
    assert report["status"] == "done" and report["rows_rejected"] == 2 and report["rows_created"] > 3
    ignored = "--jobs 2 ignored" in loaded.stderr
    assert ignored == (engine.dialect.name == "sqlite"), loaded.stderr
    engine.dispose()


@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_a_days_births_spread_over_the_workers_and_a_transposed_birthday_keeps_its_worker(jobs: int) -> None:
    """The matcher's rows of a delta are nearly all the day's births: by year alone they all went to
    one worker (at 11M children, one worker busy, the other mostly waiting). By birthday they spread;
    a date with day and month transposed (a block of the matcher) stays with its worker."""
    from cpserver.domain.feeds.parallel_delta import birthday_lane

    births = [dt.date(2026, 10, 1) + dt.timedelta(days=day) for day in range(60)]
    counts = [0] * jobs
    for born in births:
        counts[birthday_lane(born, jobs)] += 1
    assert min(counts) >= len(births) / jobs / 2, counts
    for born in births:
        if born.day <= 12:
            transposed = born.replace(month=born.day, day=born.month)
            assert birthday_lane(transposed, jobs) == birthday_lane(born, jobs), born
