"""Re-estimate the matcher's m and u probabilities with splink, on a generated delta.

    python bench/matching_estimate.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/cpbench_matching]
                                      [--rows 20000] [--children 200000] [--seed 7]

The matcher (cpserver/domain/feeds/matching.py) uses fixed figures, so that it is deterministic and
trains nothing at run time. This script is where they come from: it generates the same kind of
delta as bench/matching_quality.py (in a transaction rolled back at the end; another seed than the
quality benchmark's, so the thresholds are chosen on data the figures were not fitted to), then,
with splink's DuckDB linker in `link_only` mode, the delta against the seeded children:

1. u by random sampling (pairs of a delta row and a child drawn at random: nearly all non-matches);
2. m by expectation maximisation, in two passes, each blocked on fields it then does not train:
   same date of birth (trains the names, gender and postcode), then same Soundex keys of both names
   (trains the date of birth).

It prints `COMPARISONS` as Python, ready to paste into matching.py. Levels the generated data never
exercises among matches (a given name that shares nothing with the true one) come out near zero;
the matcher floors those by hand, as its docstring says. Not a test: run it when a level changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb
import pyarrow as pa
from matching_quality import DEFAULT_DATABASE, ensure_seeded, generate_delta, rolled_back
from splink import DuckDBAPI, Linker, SettingsCreator

from cpserver.domain.feeds.matching import (
    COMPARISONS,
    ChildFacts,
    _Scorer,
    record_of_child,
    record_of_row,
    settings_dict,
)
from cpserver.store.models import Carer, Child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--children", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=200_000, help="children on the right-hand side")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    ensure_seeded(args.database, args.children)
    with rolled_back(args.database) as session:
        cases = generate_delta(session, args.rows, args.seed, dt.date.today())
        left = [record_of_row(index, case.row) for index, case in enumerate(cases)]
        wanted = {case.truth for case in cases if case.truth is not None}
        children = session.execute(
            sa.select(
                Child.id,
                Child.given_norm,
                Child.family_norm,
                Child.date_of_birth,
                Child.gender,
                Child.postcode_norm,
                Child.shielded,
                Child.local_authority_id,
            ).where(sa.or_(Child.id <= args.sample, Child.id.in_(wanted)))
        ).all()
        former = {
            child_pk: names
            for child_pk, names in session.execute(
                sa.text("SELECT child_id, family_norm FROM former_names WHERE NOT closed_for_adoption")
            ).all()
        }
        carers: dict[int, list[tuple[str, str]]] = {}
        for child_pk, given, family in session.execute(
            sa.text("SELECT child_id, given_name, family_name FROM carers WHERE child_id <= :n"),
            {"n": args.sample},
        ).all():
            carers.setdefault(child_pk, []).append((given, family))
        for child_pk, given, family in session.execute(
            sa.select(Carer.child_pk, Carer.given_name, Carer.family_name).where(Carer.child_pk.in_(wanted))
        ).all():
            if child_pk > args.sample:
                carers.setdefault(child_pk, []).append((given, family))
        right = [
            record_of_child(
                0,
                ChildFacts(
                    *child,
                    former_families=(former[child[0]],) if child[0] in former else (),
                    carers=tuple(carers.get(child[0], ())),
                ),
            )
            for child in children
        ]
    print(f"{len(left):,} delta rows against {len(right):,} children", file=sys.stderr)
    schema = _Scorer()._schema
    for record in right:
        record["uid"] = record["uid"].split(":")[1]
    connection = duckdb.connect()
    database = DuckDBAPI(connection)
    tables = [database.register(pa.Table.from_pylist(records, schema=schema)) for records in (left, right)]
    settings = settings_dict()
    settings["blocking_rules_to_generate_predictions"] = ["l.dob = r.dob"]
    linker = Linker(tables, SettingsCreator.from_path_or_dict(settings), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation("l.dob = r.dob")
    linker.training.estimate_parameters_using_expectation_maximisation(
        "l.family_sdx = r.family_sdx AND l.given_sdx = r.given_sdx"
    )
    model = linker.misc.save_model_to_json()
    print_comparisons(model)


def print_comparisons(model: dict[str, Any]) -> None:
    estimated = {
        comparison["output_column_name"]: comparison["comparison_levels"]
        for comparison in model["comparisons"]
    }
    print("COMPARISONS: Final[dict[str, tuple[Level, ...]]] = {")
    for name, levels in COMPARISONS.items():
        print(f'    "{name}": (')
        for (label, sql, _m, _u), level in zip(levels, estimated[name], strict=True):
            m = level.get("m_probability", 1.0)
            u = level.get("u_probability", 1.0)
            print(f"        ({label!r}, {sql!r}, {m:.3g}, {u:.3g}),")
        print("    ),")
    print("}")


if __name__ == "__main__":
    main()
