"""The `cpserver` command: serve, migrate, seed."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from cpserver.config import DEFAULT_DATABASE_URL, Settings

log = logging.getLogger("cpserver")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cpserver.api.app import StartupRefused, create_app

    settings = Settings(database_url=args.database, training=args.training, production=args.production)
    try:
        app = create_app(settings)
    except StartupRefused as refused:
        print(f"cpserver: {refused}", file=sys.stderr)
        return 2
    # No access log: paths and addresses are not needed in logs, and logs must hold no personal data.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")
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
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--database", default=DEFAULT_DATABASE_URL)
    migrate.set_defaults(run=_migrate)

    seed = commands.add_parser("seed", help="fill a new database with deterministic fictitious data")
    seed.add_argument("--database", default=DEFAULT_DATABASE_URL)
    seed.add_argument("--children", type=int, default=10_000)
    seed.add_argument("--training", action="store_true", help="a training database, with the demo accounts")
    seed.set_defaults(run=_seed)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
