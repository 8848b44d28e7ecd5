"""Feed files generated from the seed's children load into a database holding only the reference
data: every row a new child, codes that exist, fictitious values only; a generated delta loads too."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from cpserver.domain.feeds.load import load_feed
from cpserver.domain.feeds.sources import add_source
from cpserver.domain.names import phonetic_key
from cpserver.seed.feed_file import (
    child_rows,
    delta_rows,
    reference_in_memory,
    write_csv,
    write_jsonl,
    write_reference_only,
)
from cpserver.seed.name_pools import name_pools
from cpserver.seed.training_contract import TRAINING_SCENARIOS
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.migrate import upgrade
from cpserver.store.models import Child, Involvement
from tests.server.conftest import _pg_url, _postgres_admin
from tests.server.feeds_support import KeptMail

CHILDREN = 300
TODAY = dt.date(2026, 12, 6)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    admin = _postgres_admin()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"cp_feed_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_generated_files_load_into_the_reference_database(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    upgrade(engine)
    write_reference_only(engine, children=CHILDREN, random_seed=7, today=TODAY)
    reference = reference_in_memory(children=CHILDREN, random_seed=7, today=TODAY)
    rows = list(child_rows(reference, children=CHILDREN, random_seed=7, today=TODAY))
    assert len(rows) == CHILDREN
    jsonl, csv = io.StringIO(), io.StringIO()
    write_jsonl(rows, jsonl)
    write_csv(rows, csv)
    text = jsonl.getvalue()
    assert all(postcode.startswith("ZZ") for postcode in re.findall(r'"postcode":"([^"]+)"', text))
    assert all(
        number.startswith(("01632 ", "07700 900")) for number in re.findall(r'"telephone":"([^"]+)"', text)
    )
    council = reference.authorities[0].code
    council_rows = list(
        child_rows(
            reference,
            children=CHILDREN,
            random_seed=7,
            today=TODAY,
            services=True,
            authority=council,
            id_prefix="LA",
        )
    )
    factory = make_session_factory(engine)
    with factory() as session:
        census, _ = add_source(session, name="census", kind="national", priority=50, local_authority=None)
        local, _ = add_source(
            session, name="council", kind="local_authority", priority=60, local_authority=council
        )
        session.commit()
        first = load_feed(
            session,
            source=census,
            stream=io.BytesIO(text.encode()),
            fmt="jsonl",
            via="file",
            mailer=KeptMail(),
        )
        assert (first.rows_created, first.rows_rejected, first.rows_held) == (CHILDREN, 0, 0), (
            first.rejections[:5]
        )
        again = load_feed(
            session,
            source=census,
            stream=io.BytesIO(csv.getvalue().encode()),
            fmt="csv",
            via="file",
            mailer=KeptMail(),
        )
        assert again.rows_unchanged == CHILDREN, again.as_dict()  # the CSV says exactly what the JSON said
        services = load_feed(
            session,
            source=local,
            stream=io.BytesIO(b"".join(_line(r) for r in council_rows)),
            fmt="jsonl",
            via="file",
            mailer=KeptMail(),
        )
        assert services.rows_rejected == 0 and services.rows_matched == len(council_rows) > 0
        assert session.scalar(
            select(func.count()).select_from(Involvement).where(Involvement.source_id == local.id)
        )
        delta = list(
            delta_rows(
                iter(rows),
                authorities=[item.code for item in reference.authorities],
                total=60,
                share=0.5,
                random_seed=7,
                today=TODAY,
            )
        )
        assert {truth.kind for _row, truth in delta} >= {"update", "new"}
        changes = load_feed(
            session,
            source=census,
            stream=io.BytesIO(b"".join(_line(item) for item, _truth in delta)),
            fmt="jsonl",
            via="file",
            mailer=KeptMail(),
        )
        assert changes.rows_rejected == 0 and changes.rows_read == len(delta)
        updates = sum(1 for _row, truth in delta if truth.kind in ("update", "move"))
        assert changes.rows_updated >= updates
        assert session.scalar(select(func.count()).select_from(Child)) >= CHILDREN
    engine.dispose()


def _line(item: dict[str, object]) -> bytes:
    import json

    return json.dumps(item).encode() + b"\n"


def test_a_generated_birth_is_a_newborn_with_a_name_of_its_own() -> None:
    """The delta's births were copies of an existing child's given name and home, which the matcher
    rightly took for that child: the benchmark counted its own unrealism as the matcher's error."""
    children = 3000
    reference = reference_in_memory(children=children, random_seed=5, today=TODAY)
    rows = list(child_rows(reference, children=children, random_seed=5, today=TODAY))
    delta = list(
        delta_rows(
            iter(rows),
            authorities=[item.code for item in reference.authorities],
            total=2000,
            share=0.8,
            random_seed=5,
            today=TODAY,
        )
    )
    homes: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for item in rows:
        homes.setdefault(_home(item), []).append(item)
    births = [(item, truth) for item, truth in delta if truth.kind == "new"]
    assert {truth.detail for _item, truth in births} == {"sibling", "family"}
    for item, truth in births:
        assert truth.child_record_id is None
        assert 0 < (TODAY - dt.date.fromisoformat(item["date_of_birth"])).days <= 120
        household = homes.get(_home(item), [])
        if truth.detail == "sibling":
            assert household and item["family_name"] in {child["family_name"] for child in household}
        elif item["postcode"]:  # a new family: a house of its own (without an address: no house)
            assert not household
        # Never the given name of a child in the household (households without an address are all
        # one key here: not checked).
        if item["postcode"]:
            assert item["given_name"] not in {child["given_name"] for child in household}
    record_ids = [item["source_record_id"] for item, _truth in delta]
    assert len(record_ids) == len(set(record_ids))
    known = {item["source_record_id"] for item in rows}
    doubtful = [truth for _item, truth in delta if truth.kind == "doubtful"]
    assert doubtful and all(truth.child_record_id in known for truth in doubtful)


def _home(item: dict[str, object]) -> tuple[object, ...]:
    return tuple(item[name] for name in ("address_line1", "address_line2", "town", "postcode"))


def test_generated_children_have_names_as_varied_as_real_ones() -> None:
    """The seed drew given names uniformly from 100 a sex and family names mostly from 249, so at
    11M about 7.7 children shared each given name, birthday and gender, and the matching benchmark
    held thousands of newborns for the names alone. Real names: thousands of given names a year,
    the top one about 1.5-2% of a sex's births; Smith about 1.1% of people; a long tail."""
    children = 10_000
    reference = reference_in_memory(children=children, random_seed=3, today=TODAY)
    rows = list(child_rows(reference, children=children, random_seed=3, today=TODAY))
    for gender in ("female", "male"):
        given = Counter(row["given_name"] for row in rows if row["gender"] == gender)
        assert len(given) > 1_000  # the old lists: 100
        top = given.most_common(1)[0][1] / given.total()
        assert 0.008 < top < 0.03
        assert 0.35 < sum(count for _name, count in given.most_common(100)) / given.total() < 0.65
    # Households share a family name, so count households' names (the first child of each).
    families = Counter(row["family_name"] for row in {_home(row): row for row in rows}.values())
    assert len(families) > 0.6 * families.total()  # a long tail (the old lists: about 0.3)
    assert families.most_common(1)[0][0] == "Smith"
    assert families["Smith"] / families.total() < 0.02  # the old lists: 2.5%

    # Spelling variants, the hard cases real records have, are in the pools.
    pools = name_pools()
    assert {"Aiden", "Aidan", "Ayden"} <= set(pools.male.names)
    assert {"Isla", "Islay", "Millie", "Milly"} <= set(pools.female.names)
    assert {"McDonald", "Macdonald", "Smith", "Smyth", "Thompson", "Thomson"} <= set(pools.family.names)


def test_no_seeded_family_name_sounds_like_a_training_scenarios_family() -> None:
    """The training scenarios (`phonetic`: a family name that sounds the same) must find only their
    planted child, however many children are seeded: no family name in the pool has their key."""
    planted = {
        phonetic_key(criteria["family"])
        for name, criteria in TRAINING_SCENARIOS.items()
        if "family" in criteria and name != "common_name"
    }
    assert planted
    assert not {name for name in name_pools().family.names if phonetic_key(name) in planted}
