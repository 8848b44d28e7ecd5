"""The seed's names: given and family names with realistic, long-tailed frequencies.

A name is drawn from a `NamePool` (one random number and one bisection, as fast as drawing from a
short list). Each pool is built once from the lists in `cpserver/seed_data/`, in three layers:

- the listed names (most frequent first), weighted 1/(rank + a) as real name frequencies are: the
  commonest family name (Smith) is about 1.1% of children, the commonest given name about 1.7% of
  a sex's;
- spelling variants of the listed names (Aiden/Aidan/Ayden, Millie/Milly, Smith/Smyth,
  McDonald/Macdonald), each a few per cent as frequent as its name: the hard cases real records have;
- invented names for the long tail (given names: a listed name's first syllable with another
  ending; family names: stems and syllables joined to place-name endings), Zipf-weighted, so that
  11M children have thousands of given names and tens of thousands of family names.

See `seed_data/README.md` for the resulting shares. The pools are the same for every random seed
(built with their own fixed generator); a seed changes only the draws. No invented family name
sounds like (same Soundex key) a training scenario's planted family, so the scenarios still find
only their planted children.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from math import ceil, floor
from typing import Final

from cpserver.domain.names import phonetic_key
from cpserver.seed.reference import read_list
from cpserver.seed.training_contract import TRAINING_SCENARIOS

# --- given names -------------------------------------------------------------------------------

# Listed names weighted 1/(rank + _GIVEN_RANK_OFFSET); their spelling variants take
# _GIVEN_VARIANT_SHARE of each name's weight between them; invented names _GIVEN_TAIL_SHARE of a
# sex's children.
_GIVEN_RANK_OFFSET: Final = 12.0
_GIVEN_VARIANT_SHARE: Final = 0.10
_GIVEN_TAIL_SHARE: Final = 0.14
_GIVEN_TAIL_OFFSET: Final = 60.0

_GIVEN_VARIANTS: Final[tuple[tuple[str, str], ...]] = (
    (r"ie$", "y"),  # Millie, Milly
    (r"ie$", "ey"),  # Charlie, Charley
    (r"([^aeiouy])y$", r"\1ie"),  # Molly, Mollie
    (r"ey$", "ie"),  # Bailey, Bailie
    (r"ai", "ay"),  # Caiden, Cayden
    (r"ay", "ai"),  # Kayla, Kaila
    (r"^Ai", "Ay"),  # Aiden, Ayden
    (r"^Ay", "Ai"),  # Ayesha, Aiesha
    (r"en$", "an"),  # Aiden, Aidan
    (r"an$", "en"),  # Rowan, Rowen
    (r"ph", "f"),  # Sophia, Sofia
    (r"^C(?=[aou])", "K"),  # Callum, Kallum
    (r"^K(?=[aou])", "C"),  # Kara, Cara
    (r"([bdfglmnprst])\1", r"\1"),  # Isabella, Isabela; Matthew, Mathew
    (r"([aeiou])l([aeiou])", r"\1ll\2"),  # Elena, Ellena
    (r"([aeiou])n([aeiou])", r"\1nn\2"),  # Hana, Hanna
    (r"([^h])a$", r"\1ah"),  # Sara, Sarah
    (r"ah$", "a"),  # Hannah, Hanna
    (r"elle$", "el"),  # Isabelle, Isabel
    (r"el$", "elle"),  # Annabel, Annabelle
    (r"([aeiou])s([aeiou])", r"\1z\2"),  # Isabella, Izabella
    (r"^Moh", "Muh"),  # Mohammed, Muhammed
    (r"^Muh", "Moh"),
    (r"mmed$", "mmad"),
    (r"mmad$", "mmed"),
    (r"ckson$", "xon"),  # Jackson, Jaxon
    (r"^Is", "Iz"),  # Isla, Izla
    (r"a$", "ay"),  # Isla, Islay
    (r"i([aeo])", r"y\1"),  # Amelia, Amelya
    (r"y([^aeiou])", r"i\1"),  # Kyle, Kile
)

_FEMALE_ENDINGS: Final = (
    "a", "ah", "ia", "ie", "elle", "ella", "ina", "lyn", "ette", "ey",
    "ara", "ora", "ana", "isha", "ene", "ise", "iya", "anne", "etta", "ita",
)  # fmt: skip
_MALE_ENDINGS: Final = (
    "an", "en", "on", "o", "er", "ey", "ie", "us", "el", "ion",
    "iel", "ar", "ik", "as", "ed", "ton", "ley", "am", "im", "is",
)  # fmt: skip
_NEUTRAL_ENDINGS: Final = ("i", "ey", "ie", "en", "an", "ar", "o", "y", "el", "in")

# --- family names ------------------------------------------------------------------------------

# Listed names weighted 1/(rank + 8), scaled so that the first (Smith) is _FIRST_FAMILY_SHARE of
# children; their variants _FAMILY_VARIANT_SHARE of each name's weight; invented names the rest.
_FIRST_FAMILY_SHARE: Final = 0.011
_FAMILY_RANK_OFFSET: Final = 8.0
_FAMILY_VARIANT_SHARE: Final = 0.06
_FAMILY_TAIL_OFFSET: Final = 1_500.0

_FAMILY_VARIANTS: Final[tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...]] = (
    (r"^Mac([A-Za-z])", lambda match: "Mc" + match.group(1).upper()),  # Macdonald, McDonald
    (r"^Mc([A-Z])", lambda match: "Mac" + match.group(1).lower()),  # McDonald, Macdonald
    (r"^Mc([A-Z])", r"Mac\1"),  # McDonald, MacDonald
    (r"^([A-Z][a-z]*?[^aeiou])i([^aeiou])", r"\1y\2"),  # Smith, Smyth
    (r"e$", ""),  # Clarke, Clark
    (r"([nkld])$", r"\1e"),  # Brown, Browne
    (r"mps", "ms"),  # Thompson, Thomson
    (r"([lnprt])\1", r"\1"),  # Phillips, Philips; Russell, Russel
    (r"ey$", "y"),  # Bailey, Baily
    (r"ie$", "y"),  # Currie, Curry
    (r"ee", "ea"),  # Reed, Read
    (r"ea", "ee"),
    (r"^O'", "O"),  # O'Brien, OBrien
)

_ONSETS: Final = (
    "B", "Bl", "Br", "C", "Ch", "Cl", "Cr", "D", "Dr", "F", "Fl", "Fr", "G", "Gl", "Gr",
    "H", "K", "L", "M", "N", "P", "Pr", "R", "S", "Sh", "Sk", "St", "T", "Th", "Tr", "W", "Wh", "Y",
)  # fmt: skip
_VOWELS: Final = ("a", "e", "i", "o", "u", "ea", "oo", "ow")
_CODAS: Final = ("", "l", "n", "r", "m", "d", "t", "ck", "nd", "ll")
_ENDINGS_PER_SYLLABLE: Final = 20
_PATRONYMIC_NAMES: Final = 120  # "Jackson", "Harrisons": from the first male given names


@dataclass(frozen=True)
class NamePool:
    """Names and their cumulative weights: `draw` takes one random number.

    `slots` cuts [0, 1) into a power of two of equal slots, each holding the name whose interval
    covers the whole slot (None where two names meet): a draw is then one index, the bisection only
    for the few draws that fall in a shared slot, and the answer is the bisection's either way.
    """

    names: tuple[str, ...]
    cumulative: tuple[float, ...]
    slots: tuple[str | None, ...]

    @classmethod
    def of(cls, weighted: Iterable[tuple[str, float]]) -> NamePool:
        merged: dict[str, float] = {}
        for name, weight in weighted:
            merged[name] = merged.get(name, 0.0) + weight
        total = sum(merged.values())
        cumulative = [value / total for value in accumulate(merged.values())]
        cumulative[-1] = float("inf")  # a draw never falls past the end
        size = 1 << max(10, (16 * len(merged)).bit_length())
        slots: list[str | None] = [None] * size
        start = 0.0
        for name, end in zip(merged, cumulative, strict=True):
            # Slot j is [j/size, (j+1)/size) (exact: size is a power of two); wholly in [start, end).
            first, last = ceil(start * size), min(size, floor(end * size)) if end < 1 else size
            if last > first:
                slots[first:last] = [name] * (last - first)
            start = end
        return cls(tuple(merged), tuple(cumulative), tuple(slots))

    def draw(self, random_: Callable[[], float]) -> str:
        point = random_()
        return self.slots[int(point * len(self.slots))] or self.names[bisect(self.cumulative, point)]

    def shares(self) -> dict[str, float]:
        """Each name's share of draws (for benchmarks and tests)."""
        shares, before = {}, 0.0
        for name, cumulative in zip(self.names, self.cumulative, strict=True):
            upto = min(cumulative, 1.0)
            shares[name] = upto - before
            before = upto
        return shares


@dataclass(frozen=True)
class NamePools:
    female: NamePool
    male: NamePool
    neutral: NamePool
    family: NamePool


@cache
def name_pools() -> NamePools:
    """The seed's name pools (built once per process; about a tenth of a second)."""
    rng = random.Random("name-pools")  # noqa: S311 - fictitious data, not secrets
    female, male, neutral = (read_list(f"given_{sex}.txt") for sex in ("female", "male", "neutral"))
    return NamePools(
        female=_given_pool(female, _FEMALE_ENDINGS, rng),
        male=_given_pool(male, _MALE_ENDINGS, rng),
        neutral=_given_pool(neutral, _NEUTRAL_ENDINGS, rng),
        family=_family_pool(read_list("family_common.txt"), male, rng),
    )


def _variants(name: str, rules: Iterable[tuple[str, str | Callable[[re.Match[str]], str]]]) -> list[str]:
    found: list[str] = []
    for pattern, replacement in rules:
        variant = re.sub(pattern, replacement, name, count=1)
        if variant != name and len(variant) > 1 and variant not in found:
            found.append(variant)
    return found


def _listed_with_variants(
    listed: list[str],
    offset: float,
    variant_share: float,
    rules: Iterable[tuple[str, str | Callable[[re.Match[str]], str]]],
    scale: float,
) -> list[tuple[str, float]]:
    """The listed names weighted by rank, then their variants (not themselves listed)."""
    known = set(listed)
    weighted = [(name, scale / (rank + offset)) for rank, name in enumerate(listed)]
    variants = []
    rules = tuple(rules)
    for name, weight in weighted:
        own = [variant for variant in _variants(name, rules) if variant not in known]
        # Variants k = 0, 1, ... weighted 1/(k + 1), variant_share of the name's weight in all.
        harmonic = sum(1 / (k + 1) for k in range(len(own)))
        variants += [(variant, weight * variant_share / (k + 1) / harmonic) for k, variant in enumerate(own)]
    return weighted + variants


def _zipf_tail(names: list[str], share: float, offset: float) -> list[tuple[str, float]]:
    harmonic = sum(1 / (rank + offset) for rank in range(len(names)))
    return [(name, share / (rank + offset) / harmonic) for rank, name in enumerate(names)]


def _given_pool(listed: list[str], endings: tuple[str, ...], rng: random.Random) -> NamePool:
    head = _listed_with_variants(listed, _GIVEN_RANK_OFFSET, _GIVEN_VARIANT_SHARE, _GIVEN_VARIANTS, 1.0)
    head_total = sum(weight for _name, weight in head)
    known = {name for name, _weight in head}
    # A name's first syllable with its consonants: "Ol" (Oliver), "Isl" (Isla), "Harr" (Harry).
    first_syllable = re.compile(r"[^aeiouyAEIOUY-]*[aeiouyAEIOUY]+[^aeiouy-]+")
    stems = sorted({match.group() for name in listed if (match := first_syllable.match(name))})
    invented = sorted({stem + ending for stem in stems for ending in endings} - known)
    rng.shuffle(invented)
    tail = _zipf_tail(invented, head_total * _GIVEN_TAIL_SHARE / (1 - _GIVEN_TAIL_SHARE), _GIVEN_TAIL_OFFSET)
    return NamePool.of(head + tail)


def _family_pool(listed: list[str], male: list[str], rng: random.Random) -> NamePool:
    scale = _FIRST_FAMILY_SHARE * _FAMILY_RANK_OFFSET
    head = _listed_with_variants(listed, _FAMILY_RANK_OFFSET, _FAMILY_VARIANT_SHARE, _FAMILY_VARIANTS, scale)
    planted = {
        phonetic_key(criteria["family"])
        for name, criteria in TRAINING_SCENARIOS.items()
        if "family" in criteria and name != "common_name"
    }
    planted_initials = {key[0] for key in planted}
    head = [(name, weight) for name, weight in head if phonetic_key(name) not in planted]
    head_total = sum(weight for _name, weight in head)
    known = {name.lower() for name, _weight in head}
    stems, endings = read_list("family_stems.txt"), read_list("family_endings.txt")
    syllables = [onset + vowel + coda for onset in _ONSETS for vowel in _VOWELS for coda in _CODAS]
    patronymic_bases = [name for name in male[:_PATRONYMIC_NAMES] if name.isalpha()]
    invented = {stem + ending for stem in stems for ending in endings}
    invented |= {
        syllable + ending for syllable in syllables for ending in rng.sample(endings, _ENDINGS_PER_SYLLABLE)
    }
    invented |= {base + suffix for base in patronymic_bases for suffix in ("son", "s")}
    # Drop awkward joins ("Thornnley": three consonants the same, or four in a row).
    awkward = re.compile(r"(.)\1\1|[^aeiouy]{4}", re.IGNORECASE)
    tail_names = sorted(
        name
        for name in invented
        if name.lower() not in known
        and not awkward.search(name)
        and (name[0] not in planted_initials or phonetic_key(name) not in planted)
    )
    rng.shuffle(tail_names)
    tail = _zipf_tail(tail_names, max(0.0, 1.0 - head_total), _FAMILY_TAIL_OFFSET)
    return NamePool.of(head + tail)
