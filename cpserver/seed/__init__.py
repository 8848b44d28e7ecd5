"""Deterministic fictitious data: authorities, settings, children, carers, involvements, demo accounts.

Every name, street, town and postcode is invented (postcodes are in the non-existent `ZZ` area and
telephone numbers are in Ofcom's ranges reserved for drama), so nothing seeded can describe a real
child. The same arguments (including `today`) always write the same rows, on SQLite and PostgreSQL.

One module per job:

- `training_contract`: the demo accounts, their password and one-time-code secret, the training
  scenarios and the children planted for them (what trainers, the client and the tests rely on);
- `reference`: local authorities, organisations, education settings, GP practices, demo users;
- `staff`: the builder of a fictitious accredited user (the seed, the test world and the benchmark);
- `children`: the child generator (households, carers, involvements) as rows;
- `background`: generating in a thread while the previous batch is written (by
  `cpserver.store.bulk_load`: `COPY` / `executemany` with the search indexes and foreign keys set aside,
  which the feeds' initial load uses too);
- `notices`: the training notice scenarios, acted out through the domain after the children are in;
- `run`: `seed_database`, which puts them together (also importable from here).

`seed_database` and `SeedSummary` are loaded on first use, so that importing `training_contract`
(the client does at start-up) does not import SQLAlchemy and the server's models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpserver.seed.run import SeedSummary, seed_database

__all__ = ["SeedSummary", "seed_database"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cpserver.seed import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
