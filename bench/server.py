"""Server benchmark: seed N fictitious children, then time search and record views.

    python bench/server.py [--children 1000000] [--database URL] [--samples 2000] [--reuse]

Seeds a fresh database (by default a SQLite file under bench/; `--reuse` keeps one already seeded),
reports the seeding time, then p50/p95/p99 latencies in milliseconds of:

- search exact (family name and date of birth),
- search phonetic (a misspelt family name with the same Soundex code, and date of birth),
- record view (reason stated, audit row written and committed, record built),

each measured twice: in-process through the server's domain functions on a Session ("domain"), and
end to end over HTTP against a real uvicorn server on 127.0.0.1 ("http"), logged in as a practitioner
the benchmark creates for itself. Search criteria are sampled from the seeded children.

For PostgreSQL, pass e.g. `--database postgresql://postgres@127.0.0.1:5432/cpbench`: a database whose
name starts with `cpbench` is dropped and created afresh unless `--reuse` is given; any other database
must be empty (or `--reuse`d).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyotp
import requests
import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cpserver.audit.trail import Origin
from cpserver.config import Settings
from cpserver.domain.names import normalise_name, phonetic_key
from cpserver.domain.passwords import hash_password
from cpserver.domain.record_access import Viewer, open_record
from cpserver.domain.retention import years_before
from cpserver.domain.search import Criteria, find_children
from cpserver.seed import seed_database
from cpserver.seed.staff import accredited_user
from cpserver.store import models
from cpserver.store.database import is_sqlite, make_engine, make_session_factory, normalise_url
from cpserver.store.migrate import upgrade
from cpserver.store.system import get_mode

# One bench user opens thousands of records in minutes: exactly what the rate limits stop
# (cpserver.domain.rate_limits). They are lifted here, and high-severity alerts do not suspend,
# so every timed view runs the whole path; the limits' counting queries then see far more rows
# than a real user's would, so the figures are an upper bound on their cost.
BENCH_SETTINGS: dict[str, int | bool] = {
    "search_limit_minute": 10**9,
    "search_limit_hour": 10**9,
    "search_limit_day": 10**9,
    "view_limit_minute": 10**9,
    "view_limit_hour": 10**9,
    "view_limit_day": 10**9,
    "auto_suspend_high": False,
}
BENCH_DIR = Path(__file__).resolve().parent
BENCH_USER = "bench.practitioner"
WORKSTATION = "BENCH-WS-0001"
REASON = "who_else_involved"
VOWELS = "aeiou"


@dataclass(frozen=True)
class Sample:
    """One seeded child the benchmark searches for and opens."""

    cp_id: str
    family: str
    misspelt: str
    date_of_birth: dt.date


@dataclass(frozen=True)
class Figures:
    operation: str
    path: str
    # Misuse detection (rule 7) "on" or "off" on this path, or "-" where it never runs.
    detection: str
    timings_ms: list[float]

    def percentile(self, p: int) -> float:
        if len(self.timings_ms) < 2:
            return self.timings_ms[0] if self.timings_ms else float("nan")
        return statistics.quantiles(self.timings_ms, n=100, method="inclusive")[p - 1]


# --- the database ---------------------------------------------------------------------------------


def default_url(children: int) -> str:
    return f"sqlite:///{BENCH_DIR / f'bench-{children}.sqlite3'}"


def _database_name(url: str) -> str:
    return sa.make_url(normalise_url(url)).database or ""


def fresh_database(url: str, *, reuse: bool) -> bool:
    """Prepare the database; True when it must be seeded, False when `--reuse` keeps a seeded one."""
    if is_sqlite(url):
        path = Path(_database_name(url))
        if reuse and path.exists():
            return False
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return True
    name = _database_name(url)
    admin_url = sa.make_url(normalise_url(url)).set(database="postgres")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists and reuse:
                return False
            if exists and name.startswith("cpbench"):
                connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                exists = None
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return True


def seed(url: str, children: int) -> float:
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        step = max(1, children // 10)
        next_report = [step]

        def progress(done: int) -> None:
            if done >= next_report[0] or done == children:
                print(
                    f"  seeded {done:>12,} children  {time.perf_counter() - started:7.1f} s", file=sys.stderr
                )
                next_report[0] = (done // step + 1) * step

        summary = seed_database(engine, children=children, training=False, progress=progress)
        return summary.seconds
    finally:
        engine.dispose()


def ensure_bench_user(engine: Engine) -> tuple[str, str]:
    """Create (or refresh) the benchmark's own accredited practitioner; return password and TOTP secret."""
    password = secrets.token_urlsafe(16)
    secret = pyotp.random_base32()
    password_hash = hash_password(password)
    crb_checked_on = dt.date.today() - dt.timedelta(days=100)
    with Session(engine) as session, session.begin():
        user = session.scalar(select(models.User).where(models.User.username == BENCH_USER))
        if user is None:
            authority = session.scalars(
                select(models.LocalAuthority).order_by(models.LocalAuthority.id)
            ).first()
            assert authority is not None, "the database holds no local authorities: is it seeded?"
            organisation = session.scalars(
                select(models.Organisation)
                .where(models.Organisation.local_authority_id == authority.id, models.Organisation.accredited)
                .order_by(models.Organisation.id)
            ).first()
            assert organisation is not None
            user = accredited_user(
                username=BENCH_USER,
                role="practitioner",
                organisation_id=organisation.id,
                local_authority_id=authority.id,
                password_hash=password_hash,
                totp_secret=secret,
                crb_checked_on=crb_checked_on,
                given_name="Bench",
                family_name="Practitioner",
                job_title="Benchmark practitioner",
            )
            session.add(user)
        else:  # made by an earlier run: fresh credentials, in date and not suspended
            user.password_hash, user.totp_secret, user.totp_last_step = password_hash, secret, 0
            user.crb_checked_on, user.suspended = crb_checked_on, False
    return password, secret


def misspell(family: str) -> str:
    """A different spelling with the same Soundex code (vowels after the first letter do not count)."""
    plain = normalise_name(family)
    key = phonetic_key(plain)
    for index in range(1, len(plain)):
        if plain[index] in VOWELS:
            for vowel in VOWELS:
                candidate = plain[:index] + vowel + plain[index + 1 :]
                if candidate != plain and phonetic_key(candidate) == key:
                    return candidate.capitalize()
    return (plain + "e").capitalize()


def draw_samples(engine: Engine, count: int, rng: random.Random) -> list[Sample]:
    """`count` random children still in service (under 18), with a misspelling of each family name."""
    today = dt.date.today()
    eighteen = years_before(today, 18)
    with engine.connect() as connection:
        highest = connection.execute(select(sa.func.max(models.Child.id))).scalar_one()
        found: list[Sample] = []
        while len(found) < count:
            ids = [rng.randint(1, highest) for _ in range(min(5_000, 2 * (count - len(found))))]
            rows = list(
                connection.execute(
                    select(
                        models.Child.cp_id,
                        models.Child.family_name,
                        models.Child.date_of_birth,
                    ).where(models.Child.id.in_(ids), models.Child.date_of_birth > eighteen)
                ).all()
            )
            rows.sort()
            rng.shuffle(rows)
            found.extend(Sample(cp_id, family, misspell(family), born) for cp_id, family, born in rows)
    return found[:count]


# --- measuring ------------------------------------------------------------------------------------


def timed(samples: list[Sample], run: Callable[[Sample], None], warmup: int) -> list[float]:
    for sample in samples[:warmup]:
        run(sample)
    timings = []
    for sample in samples:
        started = time.perf_counter()
        run(sample)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure_domain(engine: Engine, samples: list[Sample], warmup: int, *, detection: bool) -> list[Figures]:
    """The domain functions on a Session per operation, as a request would use them."""
    settings = Settings(database_url=str(engine.url), detection_enabled=detection).model_copy(
        update=BENCH_SETTINGS
    )
    factory = make_session_factory(engine)
    today = dt.date.today()
    origin = Origin(workstation=WORKSTATION, client_address="127.0.0.1")
    with factory() as session:
        user_id = session.scalars(select(models.User.id).where(models.User.username == BENCH_USER)).one()
    label = "on" if detection else "off"

    def search(exact: bool) -> Callable[[Sample], None]:
        def run(sample: Sample) -> None:
            criteria = Criteria(
                family=sample.family if exact else sample.misspelt,
                date_of_birth=sample.date_of_birth,
                exact=exact,
            )
            with factory() as session:
                outcome = find_children(
                    session,
                    criteria,
                    today=today,
                    age=settings.retention_age_years,
                    consent_age=settings.retention_consent_age_years,
                    max_results=settings.search_max_results,
                )
            assert any(found.cp_id == sample.cp_id for found in outcome.results) or outcome.more

        return run

    def view(sample: Sample) -> None:
        with factory() as session:
            # The user is loaded in each request's session, as the API does.
            user = session.get(models.User, user_id)
            assert user is not None
            access = open_record(
                session,
                Viewer(user=user, origin=origin),
                sample.cp_id,
                REASON,
                None,
                settings=settings,
                now=dt.datetime.now(dt.UTC),
            )
        assert access.child.cp_id == sample.cp_id

    figures = [Figures("record view + audit", "domain", label, timed(samples, view, warmup))]
    if detection:
        # The search query itself; detection (with its audit row) runs in the domain's search(),
        # so it is measured over HTTP.
        figures[:0] = [
            Figures("search exact", "domain", "-", timed(samples, search(True), warmup)),
            Figures("search phonetic", "domain", "-", timed(samples, search(False), warmup)),
        ]
    return figures


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def http_server(url: str, *, detection: bool) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, in its own process; yields its base URL."""
    port = free_port()
    environment = dict(
        os.environ,
        CPSERVER_DATABASE_URL=url,
        CPSERVER_TRAINING="false",
        CPSERVER_DETECTION_ENABLED="true" if detection else "false",
        **{f"CPSERVER_{name.upper()}": str(value).lower() for name, value in BENCH_SETTINGS.items()},
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "cpserver.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=environment,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped during start-up (exit code {process.returncode})")
            try:
                requests.get(f"{base}/api/v1/meta", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start within 60 seconds") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_http(
    engine: Engine, base: str, samples: list[Sample], warmup: int, *, detection: bool
) -> list[Figures]:
    """End to end: logged in over HTTP, the same operations through the real server."""
    password, secret = ensure_bench_user(engine)  # fresh credentials: a one-time code works once
    label = "on" if detection else "off"
    http = requests.Session()
    response = http.post(
        f"{base}/api/v1/sessions",
        json={
            "username": BENCH_USER,
            "password": password,
            "otp": pyotp.TOTP(secret).now(),
            "workstation": WORKSTATION,
        },
        timeout=30,
    )
    if response.status_code != 201:
        raise RuntimeError(f"login failed: {response.status_code} {response.text[:300]}")
    http.headers["Authorization"] = f"Bearer {response.json()['token']}"

    def search(exact: bool) -> Callable[[Sample], None]:
        def run(sample: Sample) -> None:
            body = {
                "family": sample.family if exact else sample.misspelt,
                "date_of_birth": sample.date_of_birth.isoformat(),
                "exact": exact,
            }
            reply = http.post(f"{base}/api/v1/searches", json=body, timeout=30)
            if reply.status_code != 200:
                raise RuntimeError(f"search failed: {reply.status_code} {reply.text[:300]}")

        return run

    def view(sample: Sample) -> None:
        reply = http.post(f"{base}/api/v1/children/{sample.cp_id}/views", json={"reason": REASON}, timeout=30)
        if reply.status_code != 200:
            raise RuntimeError(f"record view failed: {reply.status_code} {reply.text[:300]}")

    figures = [
        Figures("search exact", "http", label, timed(samples, search(True), warmup)),
        Figures("search phonetic", "http", label, timed(samples, search(False), warmup)),
        Figures("record view + audit", "http", label, timed(samples, view, warmup)),
    ]
    http.delete(f"{base}/api/v1/sessions/current", timeout=30)
    return figures


# --- reporting ------------------------------------------------------------------------------------


def database_size(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        path = Path(_database_name(str(engine.url)))
        size = sum(
            Path(f"{path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{path}{suffix}").exists()
        )
    else:
        with engine.connect() as connection:
            size = connection.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    return f"{size / 1e9:.2f} GB"


def report(title: str, figures: list[Figures]) -> None:
    print()
    print(title)
    header = (
        f"{'operation':<22}{'path':<8}{'detection':<11}{'n':>6}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
    )
    print(header)
    print("-" * len(header))
    order = ["search exact", "search phonetic", "record view + audit"]
    for figure in sorted(figures, key=lambda f: (order.index(f.operation), f.path, f.detection)):
        print(
            f"{figure.operation:<22}{figure.path:<8}{figure.detection:<11}{len(figure.timings_ms):>6}"
            f"{figure.percentile(50):>9.2f}{figure.percentile(95):>9.2f}{figure.percentile(99):>9.2f}"
            f"{statistics.fmean(figure.timings_ms):>9.2f}"
        )
    print(
        "domain: the server's domain functions on a Session, in process (search: the query only; "
        "view: audit row committed, then the record built)."
    )
    print(
        "http: end to end through uvicorn on loopback (search also writes its audit row). "
        "detection: misuse detection (rule 7) in the same transaction as the audit row."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--database", help="database URL (default: a SQLite file under bench/)")
    parser.add_argument("--samples", type=int, default=2_000, help="timed operations of each kind")
    parser.add_argument("--warmup", type=int, default=100, help="untimed operations first, of each kind")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--no-http", action="store_true", help="measure the domain path only")
    parser.add_argument("--random-seed", type=int, default=1, help="for sampling children")
    args = parser.parse_args(argv)
    url = args.database or default_url(args.children)

    seeding: float | None = None
    if not fresh_database(url, reuse=args.reuse):
        reused = make_engine(url)
        upgrade(reused)  # a database seeded before a newer migration
        reused.dispose()
    else:
        print(
            f"Seeding {args.children:,} fictitious children into {_database_name(url)} ...", file=sys.stderr
        )
        seeding = seed(url, args.children)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            if get_mode(session) != "live":
                raise SystemExit("the database is not a seeded live database: run without --reuse")
            children = session.scalar(select(sa.func.count()).select_from(models.Child)) or 0
        ensure_bench_user(engine)
        samples = draw_samples(engine, args.samples, random.Random(args.random_seed))
        print(f"Measuring {len(samples):,} samples of each operation ...", file=sys.stderr)
        figures: list[Figures] = []
        for detection in (True, False):
            figures += measure_domain(engine, samples, args.warmup, detection=detection)
        if not args.no_http:
            for detection in (True, False):
                with http_server(url, detection=detection) as base:
                    figures += measure_http(engine, base, samples, args.warmup, detection=detection)
        size = database_size(engine)
    finally:
        engine.dispose()

    seeded = "reused (seeded earlier)" if seeding is None else f"seeded in {seeding:.1f} s"
    report(
        f"ContactPoint server benchmark: {children:,} children on {engine.dialect.name} "
        f"({size}), {seeded}; {os.cpu_count()} CPUs",
        figures,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
