"""Seeding: deterministic, plausible proportions, demo accounts only in training, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cpserver.domain.accreditation import accreditation_problems
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.passwords import verify_password
from cpserver.domain.search import Criteria, find_children
from cpserver.domain.service_types import BY_CODE
from cpserver.seed import seed_database, training_contract
from cpserver.seed.children import SHIELD_GROUNDS
from cpserver.store import models
from cpserver.store.database import make_engine
from cpserver.store.migrate import upgrade
from cpserver.store.system import get_mode

POSTGRES_URL = os.environ.get("CPSERVER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
TODAY = dt.date(2026, 11, 21)

NewEngine = Callable[[], Engine]


def _admin() -> Engine | None:
    engine = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError:
        engine.dispose()
        return None
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewEngine]:
    """Makes fresh, migrated, empty databases on one backend; drops them afterwards."""
    engines: list[Engine] = []
    created: list[str] = []
    admin = None
    if request.param == "postgres":
        admin = _admin()
        if admin is None:
            if os.environ.get("CI"):
                pytest.fail(
                    f"PostgreSQL is not reachable at {POSTGRES_URL}, and CI is set: it must run there."
                )
            pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (set CI to make this a failure)")

    def make() -> Engine:
        if admin is None:
            url = f"sqlite:///{tmp_path / f'seed-{len(engines)}.sqlite3'}"
        else:
            name = f"seedtest_{uuid.uuid4().hex[:12]}"
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            created.append(name)
            url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        engine = make_engine(url)
        upgrade(engine)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    if admin is not None:
        with admin.connect() as connection:
            for name in created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def sqlite_training(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One training database of 5,000 children, shared by the read-only checks below."""
    path = tmp_path_factory.mktemp("seed") / "training.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    summary = seed_database(engine, children=5_000, training=True, today=TODAY)
    assert summary.children == 5_000
    return engine


def _digest(engine: Engine) -> str:
    """A hash of every seeded table's rows, in id order, as SQLAlchemy reads them back.

    Users' password hashes are left out: Argon2 salts each hash, so they differ by design.
    """
    digest = hashlib.sha256()
    tables = [
        models.LocalAuthority,
        models.Organisation,
        models.EducationSetting,
        models.GpPractice,
        models.User,
        models.Child,
        models.Carer,
        models.Involvement,
        models.FormerName,
    ]
    with engine.connect() as connection:
        for model in tables:
            table = model.__table__
            columns = [column for column in table.columns if column.name != "password_hash"]
            for row in connection.execute(select(*columns).order_by(table.c.id)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_same_arguments_write_identical_rows(new_engine: NewEngine) -> None:
    first, second = new_engine(), new_engine()
    for engine in (first, second):
        seed_database(engine, children=1_500, training=True, random_seed=7, today=TODAY)
    assert _digest(first) == _digest(second)

    other = new_engine()
    seed_database(other, children=1_500, training=True, random_seed=8, today=TODAY)
    assert _digest(other) != _digest(first)


@pytest.mark.postgres
@pytest.mark.parametrize("new_engine", ["postgres"], indirect=True)
def test_sqlite_and_postgres_get_the_same_data(new_engine: NewEngine, tmp_path: Path) -> None:
    engine = new_engine()
    sqlite = make_engine(f"sqlite:///{tmp_path / 'compare.sqlite3'}")
    upgrade(sqlite)
    for target in (engine, sqlite):
        seed_database(target, children=800, training=False, today=TODAY)
    assert _digest(engine) == _digest(sqlite)
    sqlite.dispose()


def test_proportions_and_fields_are_plausible(sqlite_training: Engine) -> None:
    with Session(sqlite_training) as session:
        children = session.scalars(select(models.Child)).all()
        total = len(children)
        assert total == 5_000
        shielded = [child for child in children if child.shielded]
        assert 0.002 * total <= len(shielded) <= 0.01 * total
        assert all(child.shield_ground in SHIELD_GROUNDS for child in shielded)
        assert all(child.shield_review_date and child.shield_review_date > TODAY for child in shielded)
        assert all(child.shield_ground is None for child in children if not child.shielded)

        no_school = [child for child in children if child.education_setting_id is None]
        assert 0.01 * total <= len(no_school) <= 0.035 * total
        assert all(child.education_start_date is None for child in no_school)
        with_school = [child for child in children if child.education_setting_id is not None]
        assert all(
            child.education_start_date is not None
            and child.date_of_birth <= child.education_start_date <= TODAY
            for child in with_school
        )
        assert sum(child.gp_practice_id is not None for child in children) > 0.9 * total

        eighteen = TODAY.replace(year=TODAY.year - 18)
        past_18 = [child for child in children if child.date_of_birth <= eighteen]
        assert 0.02 * total <= len(past_18) <= 0.09 * total
        assert all(child.date_of_birth >= TODAY.replace(year=TODAY.year - 19) for child in children)
        assert all(not child.consent_to_25 for child in children if child.date_of_birth > eighteen)
        assert {child.gender for child in children} == {"female", "male", "not_specified"}
        assert any(child.former_names for child in children)
        assert any(child.middle_names for child in children)
        assert any(child.telephone for child in children)

        statuses = {child.address_status for child in children}
        assert statuses == {"current", "last_known", "none"}
        for child in children:
            if child.address_status == "none":
                assert (child.address_line1, child.town, child.postcode, child.postcode_norm) == (
                    "",
                    "",
                    "",
                    "",
                )
            else:
                # Invented postcodes in the ZZ area, which does not exist (and never NHS's ZZ99).
                assert re.fullmatch(r"ZZ[1-9][0-9]? [0-9][A-Z]{2}", child.postcode)
                assert not child.postcode.startswith("ZZ99")
                assert child.postcode_norm == normalise_postcode(child.postcode)
            assert child.family_norm == normalise_name(child.family_name)
            assert child.family_key == phonetic_key(child.family_name)
            assert child.given_norm == normalise_name(child.given_name)
            assert child.given_key == phonetic_key(child.given_name)
            assert re.fullmatch(r"CP\d{10}", child.cp_id)
        assert len({child.cp_id for child in children}) == total

        carers_per_child = session.execute(
            select(models.Carer.child_pk, func.count()).group_by(models.Carer.child_pk)
        ).all()
        assert len(carers_per_child) == total
        assert {count for _child, count in carers_per_child} == {1, 2}
        assert session.scalar(select(func.count()).where(models.Carer.parental_responsibility))

        involvements = session.scalars(select(models.Involvement)).all()
        assert 0.5 * total < len(involvements) < 1.5 * total
        assert {involvement.service_type for involvement in involvements} <= set(BY_CODE)
        sensitive = [involvement for involvement in involvements if involvement.sensitive]
        assert sensitive
        assert all(BY_CODE[i.service_type].sensitive and i.consent_recorded for i in sensitive)
        assert not any(BY_CODE[i.service_type].sensitive for i in involvements if not i.sensitive)
        assert any(involvement.lead_professional for involvement in involvements)
        assert any(involvement.assessment_completed for involvement in involvements)
        assert all(i.ended_on is None or i.started_on <= i.ended_on <= TODAY for i in involvements)
        assert all(i.email.endswith(".example") for i in involvements)

        authorities = session.scalars(select(models.LocalAuthority)).all()
        assert len(authorities) == 10
        assert all(la.cmt_name.endswith("ContactPoint Management Team") for la in authorities)
        assert all(la.cmt_email.endswith(".example") and la.cmt_telephone for la in authorities)
        organisations = session.scalars(select(models.Organisation)).all()
        unaccredited = [org.name for org in organisations if not org.accredited]
        assert unaccredited == [training_contract.UNACCREDITED_ORGANISATION]


def test_summary_counts(new_engine: NewEngine) -> None:
    engine = new_engine()
    done: list[int] = []
    summary = seed_database(engine, children=2_000, training=False, today=TODAY, progress=done.append)
    assert done and done[-1] == 2_000 and done == sorted(done)
    eighteen = TODAY.replace(year=TODAY.year - 18)
    with Session(engine) as session:
        count = session.scalar
        assert summary.children == count(select(func.count()).select_from(models.Child)) == 2_000
        assert summary.shielded == count(select(func.count()).where(models.Child.shielded))
        assert summary.without_education == count(
            select(func.count()).where(models.Child.education_setting_id.is_(None))
        )
        assert summary.past_18 == count(select(func.count()).where(models.Child.date_of_birth <= eighteen))
        assert summary.users == 0
        assert summary.seconds > 0


def test_live_database_has_no_users(new_engine: NewEngine) -> None:
    engine = new_engine()
    seed_database(engine, children=300, training=False, today=TODAY)
    with Session(engine) as session:
        assert get_mode(session) == "live"
        assert session.scalar(select(func.count()).select_from(models.User)) == 0
        assert (
            session.scalar(select(func.count()).where(models.Involvement.practitioner_user_id.is_not(None)))
            == 0
        )
        assert session.scalar(select(func.count()).where(models.Child.family_name == "Thistlewood")) == 0


def test_training_database_has_the_demo_accounts(new_engine: NewEngine) -> None:
    engine = new_engine()
    summary = seed_database(engine, children=300, training=True, today=TODAY)
    with Session(engine) as session:
        assert get_mode(session) == "training"
        users = {user.username: user for user in session.scalars(select(models.User))}
        assert summary.users == len(users)
        assert set(training_contract.DEMO_ACCOUNTS) <= set(users)
        practitioner, cmt, national = users["demo.practitioner"], users["demo.cmt"], users["demo.national"]
        assert (practitioner.role, cmt.role, national.role) == ("practitioner", "cmt", "national")
        assert cmt.local_authority_id == practitioner.local_authority_id is not None
        assert national.local_authority_id is None
        assert national.organisation.name == training_contract.NATIONAL_ORGANISATION
        # One shared hash: verify once.
        assert len({user.password_hash for user in users.values()}) == 1
        assert verify_password(practitioner.password_hash, training_contract.DEMO_PASSWORD)
        for user in users.values():
            assert user.totp_secret == training_contract.DEMO_TOTP_SECRET
            assert pyotp.TOTP(user.totp_secret).now().isdigit()
            assert user.job_title and user.telephone and user.email.endswith(".example")
            assert user.manager_name and user.manager_email

        # Each refused account fails exactly one rule, the one it is named for.
        problems = {
            name: [problem.code for problem in accreditation_problems(user, today=TODAY, crb_valid_years=3)]
            for name, user in users.items()
        }
        assert {name: codes for name, codes in problems.items() if codes} == {
            name: [code] for name, code in training_contract.DEMO_REFUSALS.items()
        }
        assert users["demo.suspended"].suspended
        expired = users["demo.crbexpired"].crb_checked_on
        assert expired is not None and expired <= TODAY.replace(year=TODAY.year - 4)
        assert not users["demo.untrained"].training_completed
        assert not users["demo.noagreement"].agreement_signed
        assert not users["demo.noprocedures"].procedures_received
        assert users["demo.unaccredited"].organisation.name == training_contract.UNACCREDITED_ORGANISATION
        # One account shows the emergency override of shielding; nobody else has it.
        assert [name for name, user in users.items() if user.may_override_shield] == ["demo.emergency"]

        mine = session.execute(
            select(models.Child.shielded, models.Involvement)
            .join(models.Involvement, models.Involvement.child_pk == models.Child.id)
            .where(models.Involvement.practitioner_user_id == practitioner.id)
        ).all()
        assert {shielded for shielded, _involvement in mine} == {True, False}
        for _shielded, involvement in mine:
            assert involvement.practitioner_name == practitioner.display_name
            assert involvement.email == practitioner.email
            assert involvement.telephone == practitioner.telephone


def test_training_scenarios_find_what_they_promise(sqlite_training: Engine) -> None:
    def search(name: str) -> list[str]:
        criteria = training_contract.TRAINING_SCENARIOS[name]
        values: dict[str, Any] = {
            key: dt.date.fromisoformat(value) if key.startswith("date_of_birth") else value
            for key, value in criteria.items()
        }
        with Session(sqlite_training) as session:
            outcome = find_children(
                session, Criteria(**values), today=TODAY, age=18, consent_age=25, max_results=50
            )
        assert set(training_contract.TRAINING_SCENARIO_NOTES) == set(training_contract.TRAINING_SCENARIOS)
        return [f"{found.given} {found.family}" for found in outcome.results] + (
            ["..."] if outcome.more else []
        )

    assert search("ordinary") == ["Oliver Thistlewood"]
    assert search("notices") == ["Oliver Thistlewood"]
    assert search("phonetic") == ["Oliver Thistlewood"]
    assert search("postcode") == ["Oliver Thistlewood"]
    assert search("shielded") == ["Skye Wrenfield"]
    assert search("shielded_postcode") == []
    assert search("sensitive") == ["Maya Brackenbury"]
    assert search("missing_education") == ["Tom Ellerby"]
    assert search("common_name")[-1] == "..."

    with Session(sqlite_training) as session:

        def child(family: str) -> models.Child:
            return session.scalars(select(models.Child).where(models.Child.family_name == family)).one()

        assert child("Wrenfield").shielded
        assert child("Thistlewood").local_authority.name == child("Wrenfield").local_authority.name
        assert child("Ellerby").education_setting_id is None
        first = child("Brackenbury").involvements[0]
        assert (first.service_type, first.sensitive, first.consent_recorded) == ("sexual_health", True, True)
        demo = session.scalars(select(models.User).where(models.User.username == "demo.practitioner")).one()
        assert child("Thistlewood").local_authority_id == demo.local_authority_id


def test_seeding_a_seeded_database_is_refused(new_engine: NewEngine) -> None:
    engine = new_engine()
    seed_database(engine, children=50, training=False, today=TODAY)
    with pytest.raises(ValueError, match="already holds data"):
        seed_database(engine, children=50, training=False, today=TODAY)
    with pytest.raises(ValueError, match="already holds data"):
        seed_database(engine, children=50, training=True, today=TODAY)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Child)) == 50


def test_bulk_load_leaves_the_schema_and_connection_as_they_were(new_engine: NewEngine) -> None:
    engine = new_engine()

    def schema() -> tuple[object, ...]:
        inspector = sa.inspect(engine)
        tables = tuple(
            (
                sorted(
                    (index["name"], tuple(index["column_names"])) for index in inspector.get_indexes(table)
                ),
                sorted(
                    (key["name"], tuple(key["constrained_columns"]))
                    for key in inspector.get_foreign_keys(table)
                ),
            )
            for table in ("children", "carers", "involvements", "former_names")
        )
        return (*tables, triggers())

    def triggers() -> list[tuple[str, ...]]:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                found = connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                )
            else:
                found = connection.exec_driver_sql(
                    "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
                )
            return sorted(tuple(row) for row in found)

    before = schema()
    assert any("children_cp_id_not_retired" in name for name, _ in triggers())
    seed_database(engine, children=200, training=True, today=TODAY)
    assert schema() == before
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            # The id sequences moved past the seeded rows: the next involvement insert works.
            child_pk = connection.execute(select(func.min(models.Child.id))).scalar()
            connection.execute(
                sa.insert(models.Carer).values(
                    child_pk=child_pk, given_name="Test", family_name="Carer", relationship_to_child="Aunt"
                )
            )
            connection.rollback()


def test_former_names_are_written_to_the_searched_table(sqlite_training: Engine) -> None:
    with Session(sqlite_training) as session:
        shown = {
            child.id: child.former_names
            for child in session.scalars(select(models.Child))
            if child.former_names
        }
        stored: dict[int, list[str]] = {}
        for row in session.scalars(select(models.FormerName).order_by(models.FormerName.id)):
            assert row.family_key == phonetic_key(row.family_name) and not row.closed_for_adoption
            stored.setdefault(row.child_pk, []).append(f"{row.given_name} {row.family_name}".strip())
    assert len(shown) > 50
    assert stored == shown


def test_negative_children_are_refused(new_engine: NewEngine) -> None:
    with pytest.raises(ValueError, match="negative"):
        seed_database(new_engine(), children=-1, training=False, today=TODAY)


def test_the_training_contract_imports_without_the_database_layer() -> None:
    """The client imports the training contract at start-up: that must not load SQLAlchemy or the models."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cpclient.training.demo_accounts, cpclient.training.scenarios\n"
            "heavy = ('sqlalchemy', 'cpserver.store', 'argon2')\n"
            "print(sorted(m for m in sys.modules if m.startswith(heavy)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert loaded.strip() == "[]"
