"""The `cpserver` command: serve, migrate, seed, audit, feed, retention."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path
from typing import Any

from cpserver.config import DEFAULT_DATABASE_URL, Settings

log = logging.getLogger("cpserver")
# Kept apart from the database on purpose: whoever can alter the database must not hold the key.
DEFAULT_AUDIT_KEY = Path("./cpserver-audit-key.pem")
DEFAULT_CHECKPOINTS = Path("./cpserver-checkpoints")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cpserver.api.app import StartupRefused, create_app, server_options

    settings = Settings(
        database_url=args.database,
        training=args.training,
        production=args.production,
        audit_key_file=args.audit_key,
        checkpoint_dir=args.checkpoints,
        max_concurrent_requests=args.max_requests,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    try:
        app = create_app(settings)
    except StartupRefused as refused:
        print(f"cpserver: {refused}", file=sys.stderr)
        return 2
    if args.workers > 1:
        from cpserver.serving import serve_workers

        app.state.engine.dispose()  # checked; each worker builds its own
        serve_workers(settings, args.host, args.port, args.workers)
        return 0
    # No access log: paths and addresses are not needed in logs, and logs must hold no personal data.
    uvicorn.run(
        app, host=args.host, port=args.port, access_log=False, log_level="info", **server_options(settings)
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from cpserver.store.database import make_engine
    from cpserver.store.migrate import upgrade

    engine = make_engine(args.database)
    upgrade(engine)
    print("cpserver: database schema is up to date")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from cpserver.seed import seed_database
    from cpserver.store.database import make_engine
    from cpserver.store.migrate import upgrade

    engine = make_engine(args.database)
    upgrade(engine)
    started = time.monotonic()

    def progress(done: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        print(f"\r  {done:,} of {args.children:,} children ({rate:,.0f}/s)", end="", file=sys.stderr)

    try:
        summary = seed_database(engine, children=args.children, training=args.training, progress=progress)
    except ValueError as problem:
        print(f"\ncpserver: {problem}", file=sys.stderr)
        return 2
    print(
        f"\ncpserver: seeded {summary.children:,} fictitious children "
        f"({summary.shielded:,} shielded, {summary.without_education:,} without an education setting, "
        f"{summary.past_18:,} past 18) and {summary.users} users in {summary.seconds:.1f} s"
        + (" — training database" if args.training else "")
    )
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from cpserver.audit.checkpoints import PUBLIC_KEY_NAME, load_public_key
    from cpserver.audit.verify import verify
    from cpserver.store.database import make_engine

    public_key = None
    key_path = args.public_key or (args.checkpoints / PUBLIC_KEY_NAME if args.checkpoints else None)
    if key_path is not None and key_path.exists():
        public_key = load_public_key(key_path)
    engine = make_engine(args.database, sqlite_immediate=False)
    report = verify(engine, args.checkpoints, public_key)
    engine.dispose()
    print(report.summary())
    for problem in report.problems[1:20]:
        print(f"  also at {problem.where()}: {problem.kind}: {problem.detail}")
    return 0 if report.ok else 1


def _audit_checkpoint(args: argparse.Namespace) -> int:
    from cpserver.audit.checkpoints import ensure_key, write_checkpoint
    from cpserver.store.database import make_engine

    key = ensure_key(args.audit_key, args.checkpoints)
    engine = make_engine(args.database, sqlite_immediate=False)
    written = write_checkpoint(engine, key, args.checkpoints)
    engine.dispose()
    print(
        "cpserver: the audit trail is empty"
        if written is None
        else f"cpserver: checkpoint of {written.rows} rows in {len(written.heads)} chain(s)"
    )
    return 0


def _retention_run(args: argparse.Namespace) -> int:
    from cpserver.domain.retention import run_retention
    from cpserver.store.database import make_engine, make_session_factory
    from cpserver.store.migrate import upgrade

    engine = make_engine(args.database)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    if args.today is not None:
        now = dt.datetime.combine(args.today, now.timetz())
    settings = Settings(database_url=args.database)
    with make_session_factory(engine)() as session:
        report = run_retention(session, settings, today=now.date(), now=now)
    engine.dispose()
    print(f"cpserver: {report.summary()}")
    return 0


def _feed_session(database: str) -> Any:
    from cpserver.store.database import make_engine, make_session_factory
    from cpserver.store.migrate import upgrade

    engine = make_engine(database)
    upgrade(engine)
    return engine, make_session_factory(engine)


def _feed_source_add(args: argparse.Namespace) -> int:
    from cpserver.domain.errors import DomainError
    from cpserver.domain.feeds.sources import add_source

    engine, factory = _feed_session(args.database)
    with factory() as session:
        try:
            source, credential = add_source(
                session,
                name=args.name,
                kind=args.kind,
                priority=args.priority,
                local_authority=args.local_authority,
            )
        except DomainError as refused:
            print(f"cpserver: {refused.message}", file=sys.stderr)
            return 2
        session.commit()
        print(f"cpserver: source {source.name} registered ({source.kind}, priority {source.priority}).")
        print("Its credential, shown once (only its SHA-256 is kept): give it to the source system.")
        print(credential)
    engine.dispose()
    return 0


def _feed_source_list(args: argparse.Namespace) -> int:
    from cpserver.domain.feeds.sources import list_sources

    engine, factory = _feed_session(args.database)
    with factory() as session:
        sources = list_sources(session)
        if not sources:
            print("cpserver: no sources registered (`cpserver feed source add`)")
        for source, authority in sources:
            state = "active" if source.active else "inactive"
            print(f"{source.name}\t{source.kind}\tpriority {source.priority}\t{authority or '-'}\t{state}")
    engine.dispose()
    return 0


def _feed_source_rotate(args: argparse.Namespace) -> int:
    from cpserver.domain.errors import DomainError
    from cpserver.domain.feeds.sources import rotate_credential

    engine, factory = _feed_session(args.database)
    with factory() as session:
        try:
            credential = rotate_credential(session, args.name)
        except DomainError as refused:
            print(f"cpserver: {refused.message}", file=sys.stderr)
            return 2
        session.commit()
        print(f"cpserver: a new credential for {args.name}; the old one no longer works. Shown once:")
        print(credential)
    engine.dispose()
    return 0


def _feed_load(args: argparse.Namespace) -> int:
    """Exit 0 when every row was accepted (applied, unchanged or held), 1 when any row was
    rejected, 2 when the file or the command was refused, 3 when a worker failed (`--jobs`)."""
    import json

    from cpserver.domain.errors import DomainError
    from cpserver.domain.feeds.format import Format
    from cpserver.domain.feeds.load import load_feed
    from cpserver.domain.feeds.sources import source_named
    from cpserver.mail import SmtpMailer

    suffixes: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
    fmt: Format | None = args.format or suffixes.get(args.file.suffix.lower())
    if fmt is None:
        print("cpserver: say which format the file is in: --format csv or --format jsonl", file=sys.stderr)
        return 2
    engine, factory = _feed_session(args.database)
    if args.jobs > 1 and engine.dialect.name != "postgresql":
        print(
            f"cpserver: --jobs {args.jobs} ignored: {engine.dialect.name} takes one writer at a time, "
            "so the file is loaded by this one process",
            file=sys.stderr,
        )
    started = time.monotonic()
    shown = [0]

    def progress(done: int) -> None:
        if done - shown[0] >= args.progress_every:
            shown[0] = done
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"\r  {done:,} rows read ({rate:,.0f} rows/s)", end="", file=sys.stderr, flush=True)

    settings = Settings(database_url=args.database)
    with factory() as session, args.file.open("rb") as stream:
        try:
            source = source_named(session, args.source)
        except DomainError as refused:
            print(f"cpserver: {refused.message}", file=sys.stderr)
            return 2
        try:
            report = load_feed(
                session,
                source=source,
                stream=stream,
                fmt=fmt,
                via="file",
                mailer=SmtpMailer(settings),
                settings=settings,
                chunk_rows=args.chunk_rows,
                progress=progress,
                initial=args.initial,
                jobs=args.jobs,
                path=args.file,
            )
        except DomainError as refused:
            print(f"cpserver: refused ({refused.code}): {refused.message}", file=sys.stderr)
            return 2
    engine.dispose()
    seconds = time.monotonic() - started
    if shown[0]:
        print(file=sys.stderr)
    print(json.dumps(report.as_dict(), indent=2))
    print(
        f"cpserver: batch {report.batch_id}: {report.rows_read:,} rows in {seconds:.1f} s "
        f"({report.rows_read / max(seconds, 1e-9):,.0f} rows/s)",
        file=sys.stderr,
    )
    if report.refused is not None:
        return 2
    if report.failed is not None:
        print(
            f"cpserver: batch {report.batch_id} failed: {report.failed}. The chunks committed stay "
            "(the report counts them); load the same file again to complete the batch.",
            file=sys.stderr,
        )
        return 3
    return 1 if report.rows_rejected else 0


def _add_feed_commands(commands: Any) -> None:
    feed = commands.add_parser("feed", help="source systems and their feeds").add_subparsers(
        dest="feed", required=True
    )
    source = feed.add_parser("source", help="the registry of source systems").add_subparsers(
        dest="source", required=True
    )
    add = source.add_parser("add", help="register a source; prints its credential once")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=("national", "local_authority"))
    add.add_argument("--priority", type=int, required=True, help="higher wins when sources disagree")
    add.add_argument("--local-authority", default=None, help="the authority's code (local_authority kind)")
    add.add_argument("--database", default=DEFAULT_DATABASE_URL)
    add.set_defaults(run=_feed_source_add)
    listing = source.add_parser("list", help="list the registered sources")
    listing.add_argument("--database", default=DEFAULT_DATABASE_URL)
    listing.set_defaults(run=_feed_source_list)
    rotate = source.add_parser("rotate", help="give a source a new credential (the old one stops working)")
    rotate.add_argument("name")
    rotate.add_argument("--database", default=DEFAULT_DATABASE_URL)
    rotate.set_defaults(run=_feed_source_rotate)
    load = feed.add_parser(
        "load",
        help="load a feed file (exit 0: all rows accepted; 1: some rows rejected; 2: file refused)",
    )
    load.add_argument("file", type=Path)
    load.add_argument("--source", required=True)
    load.add_argument("--format", choices=("csv", "jsonl"), default=None, help="by default, from the suffix")
    load.add_argument("--database", default=DEFAULT_DATABASE_URL)
    load.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        help="rows per transaction (by default 1,000 with --initial, 5,000 otherwise)",
    )
    load.add_argument("--progress-every", type=int, default=10_000, help="rows between progress lines")
    load.add_argument(
        "--initial",
        action="store_true",
        help="a source's first full extract into a directory with no children: bulk insert, no matching "
        "(refused if the directory holds any child or the source any record)",
    )
    load.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="on PostgreSQL: this many loading processes. With --initial each takes a share of the file; "
        "without, this process reads the file and hands each row to one of them: a linked record's rows "
        "by its child, the matcher's by the birthday (see docs/feed-format.md). A failed worker "
        "stops the load (exit 3; load the file again to complete it). On SQLite: one process",
    )
    load.set_defaults(run=_feed_load)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cpserver", description="The ContactPoint backend API.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument(
        "--database", default=DEFAULT_DATABASE_URL, help="database URL (SQLite file by default)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--training", action="store_true", help="serve a training database")
    serve.add_argument("--production", action="store_true", help="hide the OpenAPI document")
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxies whose X-Forwarded-For is believed (comma-separated); by default, none",
    )
    serve.add_argument(
        "--audit-key", type=Path, default=DEFAULT_AUDIT_KEY, help="Ed25519 key for checkpoints"
    )
    serve.add_argument("--checkpoints", type=Path, default=DEFAULT_CHECKPOINTS, help="where checkpoints go")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the port (about one per core)"
    )
    serve.add_argument(
        "--max-requests",
        type=int,
        default=Settings.model_fields["max_concurrent_requests"].default,
        help="requests in progress at once per worker, each with one database connection",
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--database", default=DEFAULT_DATABASE_URL)
    migrate.set_defaults(run=_migrate)

    seed = commands.add_parser("seed", help="fill a new database with deterministic fictitious data")
    seed.add_argument("--database", default=DEFAULT_DATABASE_URL)
    seed.add_argument("--children", type=int, default=10_000)
    seed.add_argument("--training", action="store_true", help="a training database, with the demo accounts")
    seed.set_defaults(run=_seed)

    audit = commands.add_parser("audit", help="check the audit trail").add_subparsers(
        dest="audit", required=True
    )
    check = audit.add_parser("verify", help="verify the hash chain and the signed checkpoints")
    check.add_argument("--database", default=DEFAULT_DATABASE_URL)
    check.add_argument("--checkpoints", type=Path, default=None, help="folder of signed checkpoints")
    check.add_argument("--public-key", type=Path, default=None, help="trusted public key (PEM)")
    check.set_defaults(run=_audit_verify)
    point = audit.add_parser("checkpoint", help="sign the chain's head now")
    point.add_argument("--database", default=DEFAULT_DATABASE_URL)
    point.add_argument("--audit-key", type=Path, default=DEFAULT_AUDIT_KEY)
    point.add_argument("--checkpoints", type=Path, default=DEFAULT_CHECKPOINTS)
    point.set_defaults(run=_audit_checkpoint)

    retention = commands.add_parser("retention", help="rule 9: archive and purge records").add_subparsers(
        dest="retention", required=True
    )
    run = retention.add_parser(
        "run", help="archive records past retention, purge those archived 6 years (idempotent)"
    )
    run.add_argument("--database", default=DEFAULT_DATABASE_URL)
    run.add_argument(
        "--today", type=_iso_date, default=None, help="run as on this day (YYYY-MM-DD); default today"
    )
    run.set_defaults(run=_retention_run)
    _add_feed_commands(commands)
    return parser


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
