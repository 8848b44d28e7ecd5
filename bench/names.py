"""How often the seed's children share names: the name generator alone, old lists against new, no database.

    python bench/names.py --children 1000000 [--which old,new] [--old-commit 1632778] [--seed 2009]

Draws the names of N children as the seed does (households of 1-4 children sharing a family name,
one child in ten with a family name of their own, genders 49.75/49.75/0.5, a birthday uniform over
the seed's ages) with the old generator (the lists at `--old-commit`, given names uniform, family
names 70% common weighted 1/(rank + 8), 28% stems x endings, 2% double-barrelled) and the new one
(`cpserver.seed.name_pools`), and prints for each:

- others per (given name, birthday, gender): over children, how many other children share all three;
- shared full name and birthday: the share of children whose given name, family name and birthday
  another child also has (what the matcher cannot tell apart without more);
- the top given name's share of its sex, the top family name's share, and distinct names;
- the seconds taken to draw them (one process; a ratio only means something in the same run).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from array import array
from bisect import bisect
from collections import Counter
from collections.abc import Callable
from itertools import accumulate, pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpserver.seed.name_pools import name_pools  # noqa: E402
from cpserver.seed.reference import MAX_AGE_YEARS  # noqa: E402

_HOUSEHOLD_SIZES = (1, 2, 3, 4)
_HOUSEHOLD_CUM = list(accumulate((55, 30, 12, 3)))
_DAYS = MAX_AGE_YEARS * 365 + 5


class Names:
    """A generator's draws: `given(sex)` and `family()` (sex 0 female, 1 male, 2 neutral)."""

    given: Callable[[int], str]
    family: Callable[[], str]


class OldNames(Names):
    def __init__(self, rng: random.Random, commit: str) -> None:
        def listed(name: str) -> list[str]:
            text = subprocess.run(
                ["git", "show", f"{commit}:cpserver/seed_data/{name}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]

        random_ = rng.random
        lists = [listed(f"given_{sex}.txt") for sex in ("female", "male", "neutral")]
        common = listed("family_common.txt")
        cum = list(accumulate(1.0 / (rank + 8) for rank in range(len(common))))
        invented = [stem + end for stem in listed("family_stems.txt") for end in listed("family_endings.txt")]

        def given(sex: int) -> str:
            names = lists[sex]
            return names[int(random_() * len(names))]

        def family() -> str:
            roll = random_()
            if roll < 0.70:
                return common[bisect(cum, random_() * cum[-1])]
            if roll < 0.98:
                return invented[int(random_() * len(invented))]
            first = common[bisect(cum, random_() * cum[-1])]
            return f"{first}-{invented[int(random_() * len(invented))]}"

        self.given, self.family = given, family  # type: ignore[method-assign]


class NewNames(Names):
    def __init__(self, rng: random.Random) -> None:
        random_ = rng.random
        pools = name_pools()
        by_sex = (pools.female.draw, pools.male.draw, pools.neutral.draw)
        family_draw = pools.family.draw

        def given(sex: int) -> str:
            return by_sex[sex](random_)

        def family() -> str:
            if random_() >= 0.98:
                return f"{family_draw(random_)}-{family_draw(random_)}"
            return family_draw(random_)

        self.given, self.family = given, family  # type: ignore[method-assign]


def draw(names: Names, rng: random.Random, children: int) -> tuple[array[int], array[int]]:
    """Per child, (given name, birthday, sex) and (given name, family name, birthday) as integers."""
    random_ = rng.random
    codes: dict[str, int] = {}
    # Per child: (given, birthday, sex) and (given, family, birthday), packed into integers.
    given_key: array[int] = array("q")
    name_key: array[int] = array("q")
    made = 0
    while made < children:
        family = names.family()
        size = _HOUSEHOLD_SIZES[bisect(_HOUSEHOLD_CUM, random_() * _HOUSEHOLD_CUM[-1])]
        for _ in range(min(size, children - made)):
            roll = random_()
            sex = 2 if roll < 0.005 else (0 if roll < 0.5025 else 1)
            given = names.given(sex)
            own = names.family() if random_() < 0.1 else family
            born = int(random_() * _DAYS)
            given_code = codes.setdefault(given, len(codes))
            family_code = codes.setdefault(own, len(codes))
            given_key.append((given_code * _DAYS + born) * 4 + sex)
            name_key.append((family_code * 2**24 + given_code) * _DAYS + born)
            made += 1
    return given_key, name_key


def _groups(keys: array[int]) -> Counter[int]:
    """Children per group size (how many groups of each size, times the size)."""
    ordered = sorted(keys)
    sizes: Counter[int] = Counter()
    run = 1
    for before, after in pairwise(ordered):
        if after == before:
            run += 1
        else:
            sizes[run] += run
            run = 1
    sizes[run] += run
    return sizes


def report(label: str, names: Names, rng: random.Random, children: int) -> None:
    started = time.process_time()
    given_key, name_key = draw(names, rng, children)
    seconds = time.process_time() - started
    by_given = _groups(given_key)
    others = sum(count * (size - 1) for size, count in by_given.items()) / children
    del given_key
    by_name = _groups(name_key)
    shared = sum(count for size, count in by_name.items() if size > 1) / children
    del name_key
    print(f"{label}: {children:,} children, names drawn in {seconds:.1f} s CPU")
    print(f"  others per (given name, birthday, gender): {others:.2f}")
    print(f"  sharing full name and birthday with another child: {shared:.2%}")
    print(
        f"  children in (full name, birthday) groups of 2/3/4+: {by_name[2]:,}/{by_name[3]:,}/"
        f"{sum(count for size, count in by_name.items() if size >= 4):,}"
    )


def top_shares(label: str, names: Names, rng: random.Random, children: int) -> None:
    """Top given name per sex and top family name, and distinct names, over `children` draws."""
    random_ = rng.random
    families: Counter[str] = Counter()
    given: list[Counter[str]] = [Counter(), Counter()]
    made = 0
    while made < children:
        family = names.family()
        size = _HOUSEHOLD_SIZES[bisect(_HOUSEHOLD_CUM, random_() * _HOUSEHOLD_CUM[-1])]
        for _ in range(min(size, children - made)):
            sex = int(random_() < 0.5)
            given[sex][names.given(sex)] += 1
            families[names.family() if random_() < 0.1 else family] += 1
            made += 1
    for sex, counts in zip(("female", "male"), given, strict=True):
        name, count = counts.most_common(1)[0]
        top100 = sum(count for _name, count in counts.most_common(100)) / counts.total()
        print(
            f"  {label} {sex} given names: {len(counts):,} distinct, "
            f"top ({name}) {count / counts.total():.2%}, top 100 {top100:.1%}"
        )
    name, count = families.most_common(1)[0]
    print(
        f"  {label} family names: {len(families):,} distinct, top ({name}) {count / children:.2%}, "
        f"top 100 {sum(c for _n, c in families.most_common(100)) / children:.1%}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--which", default="old,new", help="old, new or old,new")
    parser.add_argument(
        "--old-commit", default="1632778", help="the commit whose lists the old generator uses"
    )
    parser.add_argument("--seed", type=int, default=2009)
    args = parser.parse_args()
    for label in args.which.split(","):
        rng = random.Random(f"{args.seed}:names")
        names: Names = OldNames(rng, args.old_commit) if label == "old" else NewNames(rng)
        report(label, names, rng, args.children)
        top_shares(label, names, rng, min(args.children, 1_000_000))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
