"""Matching quality: precision, recall and the share sent to review, on a delta whose truth is known.

    python bench/matching_quality.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/cpbench_matching]
                                     [--children 200000] [--rows 5000] [--batch 1000] [--seed 11]

Uses a database seeded with the synthetic children (`cpserver seed`; created and seeded here when
it does not exist yet). In one transaction that is rolled back at the end, it plants what a delta
needs on the directory side (a twin beside some children; a surname change already recorded, with
the old name as a former name) and generates the delta from the seeded children: exact copies,
typos in the given or family name, swapped given/family names, moves (new address and postcode in
another district), changed surnames (the old one sent as a former name), stale rows carrying a
surname the directory holds as a former name, day and month of birth transposed, exact copies of
both twins (each must match its own record, never the other), a twin the directory does not hold
yet (must be new), and genuinely new children; and, harder, two things at once: a move sent
without the carers, a typo in the given name of a child who has moved. Then it runs `classify`
batch by batch and prints:

- precision: of the rows decided "match", the share matched to the right child;
- recall: of the rows whose child is on the directory and that were decided without a person
  ("match" or "new"), the share matched to the right child (a wrong "new" is a duplicate record);
- new precision: of the rows decided "new", the share that really are new;
- review: the share of rows sent to the queue (and of those, how many have the true child among
  their candidates), and everything by kind.

Not a timed test: the figures are quoted in the notes. `bench/matching_estimate.py` uses the same
delta to re-estimate the model's m and u probabilities.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cpserver.domain.feeds.matching import classify
from cpserver.domain.feeds.rows import FeedCarer, FeedName, FeedRow
from cpserver.domain.former_names import replace_former_names
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.seed import seed_database
from cpserver.seed.reference import read_list
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.migrate import upgrade
from cpserver.store.models import Carer, Child

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/cpbench_matching"

# Kind -> share of the delta.
KINDS: dict[str, float] = {
    "exact": 0.25,
    "typo_given": 0.10,
    "typo_family": 0.10,
    "swapped": 0.05,
    "moved": 0.12,
    "changed_surname": 0.06,
    "stale_surname": 0.03,
    "transposed_dob": 0.05,
    "twin_a": 0.04,
    "twin_b": 0.04,
    "new_twin": 0.05,
    "new": 0.11,
    # Harder: two things at once (the queue's share of the work).
    "moved_no_carers": 0.03,
    "typo_and_moved": 0.02,
}
_NEW_KINDS = ("new", "new_twin")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Case:
    kind: str
    row: FeedRow
    # The child this row is, or None when it is a child not on the directory.
    truth: int | None


def _typo(rng: random.Random, name: str) -> str:
    """One keying slip: a letter changed, dropped, added or two neighbours swapped."""
    if len(name) < 3:
        return name + rng.choice(_LETTERS)
    at = rng.randrange(1, len(name) - 1)
    roll = rng.random()
    if roll < 0.35:
        slipped = name[:at] + rng.choice(_LETTERS) + name[at + 1 :]
    elif roll < 0.6:
        slipped = name[:at] + name[at + 1 :]
    elif roll < 0.8:
        slipped = name[:at] + rng.choice(_LETTERS) + name[at:]
    else:
        slipped = name[: at - 1] + name[at] + name[at - 1] + name[at + 1 :]
    return slipped if normalise_name(slipped) != normalise_name(name) else name + rng.choice(_LETTERS)


def _row_of(child: Child, number: int, today: dt.date) -> FeedRow:
    return FeedRow(
        carers=tuple(
            FeedCarer(carer.given_name, carer.family_name, carer.relationship_to_child)
            for carer in child.carers
        ),
        source_record_id=f"bench-{number}",
        given_name=child.given_name,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        gender=child.gender,
        as_of=today,
        address_line1=child.address_line1,
        town=child.town,
        postcode=child.postcode,
    )


def _new_child(session: Session, like: Child, given: str, number: int) -> Child:
    """A twin of `like` on the directory: same family, birth, home; another given name."""
    twin = Child(
        cp_id=f"CPBENCH{number:07d}",
        given_name=given,
        middle_names="",
        family_name=like.family_name,
        family_norm=like.family_norm,
        family_key=like.family_key,
        given_norm=normalise_name(given),
        given_key=phonetic_key(given),
        gender=like.gender,
        date_of_birth=like.date_of_birth,
        address_line1=like.address_line1,
        town=like.town,
        postcode=like.postcode,
        postcode_norm=like.postcode_norm,
        local_authority_id=like.local_authority_id,
    )
    session.add(twin)
    session.flush()
    for carer in like.carers:
        session.add(
            Carer(
                child_pk=twin.id,
                given_name=carer.given_name,
                family_name=carer.family_name,
                relationship_to_child=carer.relationship_to_child,
            )
        )
    return twin


def generate_delta(session: Session, rows: int, seed: int, today: dt.date) -> list[Case]:
    """Plant what the delta needs (in the open transaction) and return the delta with its truth."""
    rng = random.Random(seed)
    given_lists = {
        "female": read_list("given_female.txt"),
        "male": read_list("given_male.txt"),
        "not_specified": read_list("given_neutral.txt"),
    }
    families = read_list("family_common.txt")
    highest = session.scalar(sa.select(sa.func.max(Child.id))) or 0
    wanted = {kind: round(share * rows) for kind, share in KINDS.items()}
    # Children the delta is drawn from: distinct, with a postcode (a row without one is rarer).
    picked = rng.sample(range(1, highest + 1), k=min(highest, sum(wanted.values()) * 2))
    pool: Iterator[Child] = iter(
        child
        for start in range(0, len(picked), 1000)
        for child in session.scalars(
            sa.select(Child)
            .where(Child.id.in_(picked[start : start + 1000]), Child.postcode_norm != "")
            .options(selectinload(Child.carers))
        )
    )
    postcodes = [
        code
        for (code,) in session.execute(
            sa.select(Child.postcode).where(Child.postcode != "").order_by(Child.id).limit(20000)
        )
    ]

    def other_given(child: Child) -> str:
        names = given_lists.get(child.gender, given_lists["not_specified"])
        while True:
            name = rng.choice(names)
            if normalise_name(name)[:2] != child.given_norm[:2]:
                return name

    def moved_postcode(child: Child) -> str:
        district = normalise_postcode(child.postcode)[:-3]
        while True:
            code = rng.choice(postcodes)
            if normalise_postcode(code)[:-3] != district:
                return code

    cases: list[Case] = []
    number = 0
    for kind, count in wanted.items():
        for _ in range(count):
            number += 1
            if kind == "new":
                gender = rng.choice(["female", "male"])
                row = FeedRow(
                    source_record_id=f"bench-{number}",
                    given_name=rng.choice(given_lists[gender]),
                    family_name=rng.choice(families) + rng.choice(["", "", "ley", "ton", "well"]),
                    date_of_birth=today - dt.timedelta(days=rng.randrange(1, 17 * 365)),
                    gender=gender,
                    as_of=today,
                    postcode=rng.choice(postcodes),
                    carers=(FeedCarer(rng.choice(given_lists["female"]), rng.choice(families), "Mother"),),
                )
                cases.append(Case(kind, row, None))
                continue
            child = next(pool)
            row = _row_of(child, number, today)
            truth: int | None = child.id
            if kind == "typo_given":
                row = replace(row, given_name=_typo(rng, child.given_name))
            elif kind == "typo_family":
                row = replace(row, family_name=_typo(rng, child.family_name))
            elif kind == "swapped":
                row = replace(row, given_name=child.family_name, family_name=child.given_name)
            elif kind == "moved":
                row = replace(row, postcode=moved_postcode(child), address_line1="1 New Road")
            elif kind == "moved_no_carers":
                row = replace(row, postcode=moved_postcode(child), address_line1="1 New Road", carers=())
            elif kind == "typo_and_moved":
                row = replace(
                    row,
                    given_name=_typo(rng, child.given_name),
                    postcode=moved_postcode(child),
                    address_line1="1 New Road",
                )
            elif kind == "changed_surname":
                new_family = rng.choice(families)
                row = replace(row, family_name=new_family, former_names=(FeedName(child.family_name),))
            elif kind == "stale_surname":
                # The directory already knows the new surname; this source still sends the old one.
                old = child.family_name
                new_family = rng.choice(families)
                child.family_name, child.family_norm = new_family, normalise_name(new_family)
                child.family_key = phonetic_key(new_family)
                replace_former_names(session, child, [FeedName(old)])
            elif kind == "transposed_dob":
                born = child.date_of_birth
                if born.day <= 12 and born.day != born.month:
                    row = replace(row, date_of_birth=born.replace(month=born.day, day=born.month))
                else:
                    kind_here = "exact"
                    cases.append(Case(kind_here, row, truth))
                    continue
            elif kind in ("twin_a", "twin_b"):
                if kind == "twin_b":
                    continue  # made with twin_a
                twin = _new_child(session, child, other_given(child), number)
                session.flush()
                cases.append(Case("twin_a", row, child.id))
                row = replace(_row_of(twin, number, today), source_record_id=f"bench-{number}b")
                cases.append(Case("twin_b", row, twin.id))
                continue
            elif kind == "new_twin":
                row = replace(row, given_name=other_given(child))
                truth = None
            cases.append(Case(kind, row, truth))
    # twin_b rows come in pairs with twin_a: their own quota made the pairs above.
    session.flush()
    rng.shuffle(cases)
    return cases


@dataclass
class Tally:
    decided: Counter[str]
    right_match: int = 0
    wrong_match: int = 0
    right_new: int = 0
    wrong_new: int = 0
    review: int = 0
    review_with_truth: int = 0


def measure(session: Session, cases: list[Case], batch: int) -> tuple[dict[str, Tally], float]:
    by_kind: dict[str, Tally] = defaultdict(lambda: Tally(Counter()))
    started = time.perf_counter()
    for start in range(0, len(cases), batch):
        chunk = cases[start : start + batch]
        for case, result in zip(chunk, classify(session, [case.row for case in chunk]), strict=True):
            tally = by_kind[case.kind]
            tally.decided[result.decision] += 1
            if result.decision == "match":
                assert result.best is not None
                if result.best.child_pk == case.truth:
                    tally.right_match += 1
                else:
                    tally.wrong_match += 1
            elif result.decision == "new":
                if case.truth is None:
                    tally.right_new += 1
                else:
                    tally.wrong_new += 1
            else:
                tally.review += 1
                if (
                    case.truth is not None and any(c.child_pk == case.truth for c in result.candidates)
                ) or case.truth is None:
                    tally.review_with_truth += 1
    return by_kind, time.perf_counter() - started


def report(by_kind: dict[str, Tally], seconds: float, rows: int) -> None:
    print(
        f"\n{'kind':<16}{'rows':>6}{'match ok':>10}{'match bad':>10}{'new ok':>8}{'new bad':>8}{'review':>8}"
    )
    total = Tally(Counter())
    for kind in KINDS:
        if kind not in by_kind:
            continue
        t = by_kind[kind]
        n = sum(t.decided.values())
        print(
            f"{kind:<16}{n:>6}{t.right_match:>10}{t.wrong_match:>10}{t.right_new:>8}{t.wrong_new:>8}{t.review:>8}"
        )
        total.right_match += t.right_match
        total.wrong_match += t.wrong_match
        total.right_new += t.right_new
        total.wrong_new += t.wrong_new
        total.review += t.review
        total.review_with_truth += t.review_with_truth
    matched = total.right_match + total.wrong_match
    known_automatic = sum(
        t.right_match + t.wrong_match + t.wrong_new for k, t in by_kind.items() if k not in _NEW_KINDS
    )
    news = total.right_new + total.wrong_new
    print(f"\nrows {rows}, classified in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    print(f"precision (match decisions right)      {total.right_match / max(matched, 1):.4%}")
    print(f"recall (known children, auto-decided)  {total.right_match / max(known_automatic, 1):.4%}")
    print(f"new precision (new decisions right)    {total.right_new / max(news, 1):.4%}")
    print(f"sent to review                         {total.review / rows:.2%} ({total.review} rows)")
    print(f"  of which the truth is a candidate    {total.review_with_truth / max(total.review, 1):.2%}")


@contextmanager
def rolled_back(database: str) -> Iterator[Session]:
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        try:
            yield session
        finally:
            session.rollback()
    engine.dispose()


def ensure_seeded(database: str, children: int) -> None:
    url = sa.engine.make_url(database)
    if url.get_backend_name() == "postgresql":
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            )
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    engine = make_engine(database)
    upgrade(engine)
    with Session(engine) as session:
        seeded = session.scalar(sa.select(Child.id).limit(1)) is not None
    if not seeded:
        print(f"seeding {children:,} children ...", file=sys.stderr)
        seed_database(engine, children=children, training=False)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--children", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    ensure_seeded(args.database, args.children)
    with rolled_back(args.database) as session:
        cases = generate_delta(session, args.rows, args.seed, dt.date.today())
        by_kind, seconds = measure(session, cases, args.batch)
    report(by_kind, seconds, len(cases))


if __name__ == "__main__":
    main()
