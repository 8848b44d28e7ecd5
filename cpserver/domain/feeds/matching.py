"""Which existing child, if any, is a feed row? A Fellegi-Sunter model, scored by splink on DuckDB.

`classify(session, rows)` answers, for each row, a decision and the candidates it weighed:
- "match": sure enough to update `best` without a person;
- "new": sure this is a child not on the directory;
- "review": in between: a person in the authority's management team decides (the queue).

Every candidate at or above REVIEW_FLOOR is listed, and every shielded one down to SHIELDED_FLOOR
(a row with one is never "new"), so the loader can hold a row that may be a shielded child (never
create it as a new visible record).

How it works, for a batch of rows:
1. Blocking, in the database, with indexed queries only (`_fetch_candidates`; on PostgreSQL one
   statement per block, the keys as arrays joined through `unnest`): children with the same Soundex
   family key and date of birth (ix_children_family_key_dob), also under the row's given name
   (swapped names), its open former family names, each part of a double-barrelled family name
   ("Davies-Smith": a Soundex key of its own, D122, where "Davies" is D120), and its day and month
   transposed; the same family and given name born the same year (ix_children_names_dob, migration
   0007_matching: a slip in the day or month of a child who has also moved); the same postcode
   (ix_children_postcode_norm), only the children there born within a year of the row
   (POSTCODE_BORN_WITHIN) or with its given name, and every shielded child there; a former family
   name with the row's family key and date of birth (ix_former_names_family_key_dob); the same
   Soundex given-name key and date of birth (ix_children_given_key_dob, migration
   0013_given_key_dob, which replaced 0012_given_name_dob's block on the exact normalised given
   name): a surname changed outright ("Davies" sent as "Morgan") or one that lost a part (the
   directory's "Davies-Smith" sent as "Davies"), the given name perhaps mistyped as well ("Olivai"
   for "Olivia": both O410), sent with no postcode or former name, which no other block finds. That
   block holds a handful of children per key at national scale: about 8 a row on average, the
   commonest keys (J200: Jack, Jake, ...) about 30, where the exact given name held about 3.6 and at
   most 16 (the seed's name pools, `cpserver/seed/name_pools.py`, over ~1,700 births a day); its
   candidates are scored like any other, so one with another surname is never matched without a
   person (the family name's "different" level costs ~7.6 bits): with a carer, the postcode or a
   part of the name in common the row goes to review; with only given name, birthday and gender in
   common it is "new" (probability ~0.001 with the exact given name, ~0.0007 one edit away, under
   REVIEW_FLOOR), unless the child is shielded (over SHIELDED_FLOOR: held). Sent with other carers
   (or another postcode) as well, a shielded child scores ~2e-5, under SHIELDED_FLOOR: such a row is
   held all the same (`_same_person_facts`: her given name, or one slip from it, or a spelling
   variant, date of birth and gender), because a new surname, home and carers are what a child who
   fled has. And so that such a row is held whatever the blocks found, the shield sweep reads the
   shielded children born on each row's birthday (ix_children_shielded_dob, migration
   0014_shielded_dob, which holds only them: about 8 a day at national scale) and pairs a row with
   those whose facts it shares: a slip that changes the given name's Soundex key ("Kaitlyn" for
   "Caitlin") left her found by no block.
   "Same date of birth" alone is not a block: it has no index of its own and holds ~1,700 children a
   day at national scale; "same family key, same year" neither: ~6,000 for a common surname.
2. Scoring: the rows are linked against their candidates with splink's DuckDB linker
   (`link_only`; the blocking rule pairs each row with the candidates its blocks found), with the
   model in `COMPARISONS` (given name, family name with former names, swaps and the parts of a
   double-barrelled name, date of birth, gender, home = postcode and carers): fixed m and u
   probabilities, so the same input always gets the same answer and nothing is trained at run
   time.
3. Deciding (`_decide`): see MATCH_AT, RIVAL_MARGIN, REVIEW_FLOOR, SHIELDED_FLOOR and
   `_maybe_a_twin`. Chosen on bench/matching_quality.py (1M seeded children, 10,500 rows): no wrong
   match, no known child made new, 2.9% of the rows to the queue (nearly all of them a move sent
   without the carers: same name and birthday elsewhere, which at national scale a person checks).

Where the m and u figures come from: `bench/matching_estimate.py` estimated them once with splink
(u by random sampling, m by expectation maximisation over two blocking passes, so that each
comparison is trained on pairs not blocked on it) on 213,406 seeded children and a generated delta
of 20,000 rows (exact copies, name typos, swapped names, moves, changed surnames, transposed dates,
twins, new children). Levels the generated data never exercises among matches (fuzzier name
agreement, a gender or date keyed wrongly, a move without carers) were floored by hand, and the
given name's "different" level was set by hand because EM takes twins for matches; each says so.
Re-run the script after changing a level, paste its output here, and re-run
`bench/matching_quality.py` to re-choose the thresholds.

Never matched: a row marked `new_identity` (an adopted child's new identity; always "new", with no
candidates), and a former name closed for adoption (never used for blocking or comparison, on
either side).

splink, DuckDB and pyarrow are imported on the first call that has pairs to score, never at server
start-up (nor by the client, whose bundles exclude them); each thread keeps one DuckDB connection
and one linker over two tables whose rows each call replaces (`_Scorer`), so the settings are
parsed once. bench/matching_speed.py measures the cost.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import jellyfish
from sqlalchemy import ARRAY, Date, String, and_, any_, bindparam, func, literal_column, or_, select, tuple_
from sqlalchemy.orm import Session

from cpserver.domain.feeds.rows import FeedRow
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.store.models import Carer, Child, FormerName
from cpserver.store.types import uncollated

Decision = Literal["match", "new", "review"]


@dataclass(frozen=True)
class Candidate:
    child_pk: int
    probability: float
    shielded: bool
    local_authority_id: int
    # The Fellegi-Sunter match weight (log2 Bayes factor plus the prior), for the queue's display.
    match_weight: float = 0.0


@dataclass(frozen=True)
class Classification:
    decision: Decision
    best: Candidate | None
    # Every candidate at or above REVIEW_FLOOR (a shielded one: SHIELDED_FLOOR), most probable first.
    candidates: tuple[Candidate, ...]


# --- decision thresholds (chosen from bench/matching_quality.py; see the note there) -------------

# "match" when the best candidate is at least this probable, no other candidate at or above
# REVIEW_FLOOR comes within RIVAL_MARGIN of its match weight (two plausible children are for a
# person to tell apart), and the row's given name is not another real given name than the child's
# (`_maybe_a_twin`).
MATCH_AT: Final = 0.99
# In bits of match weight: a rival 2^10 (about 1,000) times less likely than the best is no rival
# (a brother of the same name at the same address, born years apart; the same name and birthday
# elsewhere in the country when everything else agrees exactly).
RIVAL_MARGIN: Final = 10.0
# Below this a candidate is not listed, and a row with no candidate left is "new".
REVIEW_FLOOR: Final = 0.05
# Shield-safe: a shielded child is listed down to this much lower floor, and a row with one listed
# is never "new" (the loader holds it for that authority's management team, never creating a new
# visible record for what may be a shielded child, or a new twin in a shielded household).
SHIELDED_FLOOR: Final = 1e-4

# The postcode block holds the children at the row's postcode born within this of its date of
# birth or with its given name, and every shielded child there. At the synthetic directory's 11M
# children a postcode holds ~46 children (240,000 postcodes), where the UK's ~1.7M hold ~7: all
# of them made 59 of a delta row's 75 pairs to read and score (20 now), nearly all brothers and
# sisters or neighbours years apart, whom the name and birthday blocks find without the postcode
# when they are the row's child. A year either side keeps a slipped day, month or year's last
# digit; the given name, a year keyed wrong.
POSTCODE_BORN_WITHIN: Final = dt.timedelta(days=366)

# --- the model -------------------------------------------------------------------------------------

# The prior: the chance that a row and a child drawn at random are the same child. One row matches
# at most one of ~11 million children, so about 1 / 11,000,000; fixed, so that a small test world
# and the national directory weigh the same evidence the same way.
PROBABILITY_TWO_RANDOM_RECORDS_MATCH: Final = 1e-7

# (label, SQL condition on the `_l` / `_r` columns, m probability, u probability); the first level
# of each comparison is its null level (no evidence either way). Figures: see the module docstring.
Level = tuple[str, str, float, float]

COMPARISONS: Final[dict[str, tuple[Level, ...]]] = {
    "given_name": (
        ("null", "given_l IS NULL OR given_r IS NULL", 1.0, 1.0),
        ("exact", "given_l = given_r", 0.737, 0.00424),
        ("swapped with family name", "given_l = family_r AND family_l = given_r", 0.0548, 1.86e-06),
        ("Damerau-Levenshtein <= 1", "damerau_levenshtein(given_l, given_r) <= 1", 0.11, 0.00104),
        # Floored by hand (EM: 1e-12; the generated slips are all one edit apart).
        ("Jaro-Winkler >= 0.9", "jaro_winkler_similarity(given_l, given_r) >= 0.9", 0.002, 0.000587),
        # Floored by hand (EM: 5e-15, as above).
        ("phonetic", "given_sdx_l = given_sdx_r OR given_mp_l = given_mp_r", 0.001, 0.00177),
        # Set by hand (EM: 0.098): EM takes twins (same family, birth and home) for matches.
        ("different", "ELSE", 1e-6, 0.992),
    ),
    "family_name": (
        ("null", "family_l IS NULL OR family_r IS NULL", 1.0, 1.0),
        ("exact", "family_l = family_r", 0.737, 0.00369),
        (
            "a former family name of the other",
            "list_contains(former_r, family_l) OR list_contains(former_l, family_r)",
            0.0984,
            0.000304,
        ),
        # The same swap the given name comparison weighs: counted once, there (m = u here).
        ("swapped with given name", "family_l = given_r AND given_l = family_r", 0.0548, 0.0548),
        ("Damerau-Levenshtein <= 1", "damerau_levenshtein(family_l, family_r) <= 1", 0.11, 0.000935),
        # A part of a double-barrelled name in common ("Davies" / "Davies-Smith", "Hart-Lowe" /
        # "Lowe"): a surname joined or dropped. m set by hand (the estimate's delta has no such row);
        # u measured: 2.95e-4 of 2M random pairs of seeded family names that are not one edit apart.
        (
            "a part of a double-barrelled name in common",
            "len(list_intersect(family_parts_l, family_parts_r)) > 0",
            0.02,
            0.000295,
        ),
        # Floored by hand (EM: 4e-10 and 9e-13; the generated slips are all one edit apart).
        ("Jaro-Winkler >= 0.9", "jaro_winkler_similarity(family_l, family_r) >= 0.9", 0.01, 0.00054),
        ("phonetic", "family_sdx_l = family_sdx_r OR family_mp_l = family_mp_r", 0.005, 0.00113),
        # Floored by hand (EM: 4e-11): a surname changed without the old one being sent.
        ("different", "ELSE", 0.005, 0.993),
    ),
    "date_of_birth": (
        ("null", "dob_l IS NULL OR dob_r IS NULL", 1.0, 1.0),
        ("exact", "dob_l = dob_r", 0.971, 0.000154),
        (
            "day and month transposed",
            "year(dob_l) = year(dob_r) AND day(dob_l) = month(dob_r) AND month(dob_l) = day(dob_r)",
            0.0293,
            6.18e-05,
        ),
        (
            "one of day, month, year differs",
            "(CASE WHEN year(dob_l) = year(dob_r) THEN 1 ELSE 0 END)"
            " + (CASE WHEN month(dob_l) = month(dob_r) THEN 1 ELSE 0 END)"
            " + (CASE WHEN day(dob_l) = day(dob_r) THEN 1 ELSE 0 END) = 2",
            # Floored by hand (EM: 2e-5; the generated delta has no such slip).
            0.02,
            0.00837,
        ),
        # Floored by hand (EM: 5e-5): more than one slip in a date.
        ("different", "ELSE", 0.001, 0.991),
    ),
    "gender": (
        ("null", "gender_l IS NULL OR gender_r IS NULL", 1.0, 1.0),
        ("exact", "gender_l = gender_r", 0.99, 0.5),
        # Floored by hand (EM: 3e-9): a gender keyed wrongly, or changed.
        ("different", "ELSE", 0.01, 0.5),
    ),
    # Where the child lives and with whom, as one comparison (the postcode and the carers are far
    # from independent: a child who moves usually moves with them).
    "home": (
        (
            "null",
            "(postcode_l IS NULL OR postcode_r IS NULL) AND (carers_l IS NULL OR carers_r IS NULL)",
            1.0,
            1.0,
        ),
        ("same postcode", "postcode_l = postcode_r", 0.833, 1.23e-05),
        ("a carer in common", "len(list_intersect(carers_l, carers_r)) > 0", 0.167, 5.22e-05),
        # Floored by hand (EM: 2e-8; the generated moves all leave the district).
        ("same district", "district_l = district_r", 0.05, 0.0213),
        # Floored by hand (EM: 8e-5; every generated move keeps its carers).
        ("different", "ELSE", 0.02, 0.979),
    ),
}

# Genders a row or a child may carry that say nothing (no evidence either way).
_UNKNOWN_GENDERS: Final = frozenset({"", "not_specified", "unknown"})


def settings_dict() -> dict[str, Any]:
    """The splink settings for `COMPARISONS` (link_only; each row against its own candidates)."""
    comparisons = []
    for name, levels in COMPARISONS.items():
        comparison_levels: list[dict[str, Any]] = []
        for index, (label, sql, m, u) in enumerate(levels):
            level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
            if index == 0:
                level["is_null_level"] = True
            else:
                level["m_probability"] = m
                level["u_probability"] = u
            comparison_levels.append(level)
        comparisons.append({"output_column_name": name, "comparison_levels": comparison_levels})
    return {
        "link_type": "link_only",
        "unique_id_column_name": "uid",
        "probability_two_random_records_match": PROBABILITY_TWO_RANDOM_RECORDS_MATCH,
        "blocking_rules_to_generate_predictions": ["l.row_key = r.row_key"],
        "comparisons": comparisons,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


# --- classify --------------------------------------------------------------------------------------


def classify(session: Session, rows: Sequence[FeedRow]) -> list[Classification]:
    """Decide, for each row in order, whether it is a known child, a new one, or one for a person."""
    linkable = {index: row for index, row in enumerate(rows) if not row.new_identity}
    children = _fetch_candidates(session, linkable)
    pairs = [(index, child) for index, found in children.items() for child in found]
    keys: NameKeys = {}
    scores = (
        _Scorer.for_this_thread().score(
            [record_of_row(index, row) for index, row in linkable.items() if children.get(index)],
            [record_of_child(index, child, keys) for index, child in pairs],
        )
        if pairs
        else {}
    )
    by_row: dict[int, list[Candidate]] = defaultdict(list)
    not_sure: dict[int, set[int]] = defaultdict(set)
    may_be_shielded: dict[int, set[int]] = defaultdict(set)
    for index, child in pairs:
        probability, weight = scores[(index, child.child_pk)]
        by_row[index].append(
            Candidate(child.child_pk, probability, child.shielded, child.local_authority_id, weight)
        )
        if _maybe_a_twin(rows[index], child):
            not_sure[index].add(child.child_pk)
        if child.shielded and _same_person_facts(rows[index], child):
            may_be_shielded[index].add(child.child_pk)
    return [
        _NEW
        if row.new_identity
        else _decide(by_row.get(index, []), not_sure.get(index, set()), may_be_shielded.get(index, set()))
        for index, row in enumerate(rows)
    ]


_NEW: Final = Classification("new", None, ())


def _decide(
    candidates: list[Candidate], not_sure: Collection[int], may_be_shielded: Collection[int] = ()
) -> Classification:
    ranked = sorted(candidates, key=lambda candidate: (-candidate.match_weight, candidate.child_pk))
    kept = tuple(
        candidate
        for candidate in ranked
        if candidate.probability >= REVIEW_FLOOR
        or (candidate.shielded and candidate.probability >= SHIELDED_FLOOR)
        or candidate.child_pk in may_be_shielded
    )
    if not kept:
        return _NEW
    best = kept[0]
    rivals = [
        candidate
        for candidate in kept[1:]
        if candidate.probability >= REVIEW_FLOOR and candidate.match_weight > best.match_weight - RIVAL_MARGIN
    ]
    sure = best.probability >= MATCH_AT and not rivals and best.child_pk not in not_sure
    return Classification("match" if sure else "review", best, kept)


@cache
def _known_given_names() -> frozenset[str]:
    folder = resources.files("cpserver.seed_data")
    names = set()
    for list_name in ("given_female.txt", "given_male.txt", "given_neutral.txt"):
        for line in folder.joinpath(list_name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                names.add(normalise_name(line))
    return frozenset(names)


def _same_person_facts(row: FeedRow, child: ChildFacts | Any) -> bool:
    """Does the row share the facts a child keeps when she flees: given name (as normalised: case,
    accents, spacing; or one slip away, below), date of birth and gender (a gender not specified on
    either side agrees)? With a shielded child, such a row is held however little else agrees
    (a new surname, home and carers are what fleeing changes; the model alone scores it ~2e-5).

    One slip: a letter swapped, wrong, missing or extra ("Rowna", "Rowen", "Rowann" for "Rowan"),
    in names of three letters or more. A school keying a new pupil's name makes such slips, and a
    fled child's row with one was created visible at her new address. Another real name one letter
    away (Ava for Eva) is held too: a person decides, as for twins. Or a spelling variant
    (`spelling_fold`: "Kaitlyn" for "Caitlin", "Filipa" for "Philippa").

    The shield sweep (`_shielded_sweep`) brings every shielded child born on the row's birthday,
    so the hold does not depend on a block having found her; this test decides which of them the
    row is paired with.

    Not held: her middle name sent as her given name. Middle names are as common as given names
    (the seed gives 65-75% of children one), so that would hold about 2.3 times as many newborns
    (those sharing a birthday and gender with a shielded child) as today; a person would see about
    1,100 such rows a day nationally (477 on a measured day at 11M, times 2.3), nearly all of them
    unrelated babies."""
    if row.date_of_birth != child.date_of_birth or not (
        row.gender == child.gender or "not_specified" in (row.gender, child.gender)
    ):
        return False
    given = normalise_name(row.given_name)
    return (
        given == child.given_norm
        or (
            min(len(given), len(child.given_norm)) >= 3
            and jellyfish.damerau_levenshtein_distance(given, child.given_norm) <= 1
        )
        or (bool(given) and spelling_fold(given) == spelling_fold(child.given_norm))
    )


_DOUBLED: Final = re.compile(r"(.)\1+")
_C_NOT_CH: Final = re.compile(r"c(?!h)")


def spelling_fold(norm: str) -> str:
    """A normalised given name with its spelling variants folded: "ph" as "f", "ck" and every "c"
    not before "h" as "k" (a soft "c" too: both sides are folded alike), "y" as "i", doubled
    letters single ("Philippa" and "Filipa" -> "filipa", "Caitlin" and "Kaitlyn" -> "kaitlin").
    Among the seed's 877 given names it makes only three pairs of other names equal that one slip
    did not already (Dani/Danny, Rafael/Raphael, Sofia/Sophia): 0.4% more pairs of names, where a
    phonetic code would add 50-60% (Metaphone drops vowels: Aaron/Ronnie, Bella/Billy)."""
    folded = norm.replace("ph", "f").replace("ck", "k")
    folded = _C_NOT_CH.sub("k", folded).replace("y", "i")
    return _DOUBLED.sub(r"\1", folded)


def _maybe_a_twin(row: FeedRow, child: ChildFacts) -> bool:
    """Is the row's given name another real name than the child's (Ava / Eva), not a slip (Avaa)?

    Twins share everything the model weighs but the given name, and twins' names are often one
    letter apart; such a pair is for a person to decide, never matched without one.
    """
    given, family = normalise_name(row.given_name), normalise_name(row.family_name)
    if given == child.given_norm or (given, family) == (child.family_norm, child.given_norm):
        return False
    known = _known_given_names()
    return given in known and child.given_norm in known


# --- blocking --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildFacts:
    """What the model compares of an existing child (former names closed for adoption left out)."""

    child_pk: int
    given_norm: str
    family_norm: str
    date_of_birth: dt.date
    gender: str
    postcode_norm: str
    shielded: bool
    local_authority_id: int
    former_families: tuple[str, ...]
    # (given name, family name) of each carer.
    carers: tuple[tuple[str, str], ...] = ()
    # As written (its hyphens and spaces part a double-barrelled name); "" when unknown.
    family_name: str = ""


# Key tuples per query, so a statement stays a reasonable size.
_CHUNK: Final = 400


# Plain keys (ids, postcodes) per query: one array parameter on PostgreSQL (`= ANY`).
_LIST_CHUNK: Final = 5000


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values`: on PostgreSQL as `= ANY(array)`, one parameter however many values."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(uncollated(column.type))))
    return column.in_(values)


_NAME_PARTS: Final = re.compile(r"[\s\-\u2010-\u2015]+")


def family_parts(name: str) -> list[str]:
    """The normalised parts of a family name ("Davies-Smith" -> ["davies", "smith"]); an apostrophe
    or a prefix without a hyphen or space does not part it ("O'Brien" -> ["obrien"])."""
    parts = (normalise_name(part) for part in _NAME_PARTS.split(name))
    return [part for part in parts if len(part) > 1]


def _open_former_families(row: FeedRow) -> list[str]:
    return [name.family_name for name in row.former_names if not name.closed_for_adoption]


def _transposed(day: dt.date) -> dt.date | None:
    if day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


_CHILD_COLUMNS: Final = (
    Child.id,
    Child.family_name,
    Child.given_norm,
    Child.given_key,
    Child.family_norm,
    Child.family_key,
    Child.date_of_birth,
    Child.gender,
    Child.postcode_norm,
    Child.shielded,
    Child.local_authority_id,
)


def _fetch_candidates(session: Session, rows: dict[int, FeedRow]) -> dict[int, list[ChildFacts]]:
    """The children each row's blocks find, by row index (indexed queries only)."""
    # Each block: its keys, and for each key the rows that asked for it.
    key_dob: dict[tuple[str, dt.date], set[int]] = defaultdict(set)
    names_year: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    # The rows at each postcode, with the given name the postcode block looks for (`_at_the_postcode`).
    postcode: dict[str, dict[int, str]] = defaultdict(dict)
    # The postcode block's keys: the postcode, the dates of birth within a year of the row's, and
    # its given name.
    postcode_near: set[tuple[str, dt.date, dt.date, str]] = set()
    former_key_dob: dict[tuple[str, dt.date], set[int]] = defaultdict(set)
    given_key_dob: dict[tuple[str, dt.date], set[int]] = defaultdict(set)
    # The shield sweep: the shielded children born on each row's birthday (a partial index).
    shielded_born: dict[dt.date, set[int]] = defaultdict(set)
    for index, row in rows.items():
        born = row.date_of_birth
        shielded_born[born].add(index)
        dates = [born, *filter(None, [_transposed(born)])]
        # Family name, given name (swapped names), open former family names, and each part of a
        # double-barrelled family name ("Davies-Smith": also "Davies" and "Smith"), by Soundex key.
        parts = family_parts(row.family_name)
        for name in (
            row.family_name,
            row.given_name,
            *_open_former_families(row),
            *(parts if len(parts) > 1 else ()),
        ):
            if key := phonetic_key(name):
                for day in dates:
                    key_dob[(key, day)].add(index)
        family_norm, given_norm = normalise_name(row.family_name), normalise_name(row.given_name)
        if family_norm and given_norm:
            names_year[(family_norm, given_norm, born.year)].add(index)
        if given_key := phonetic_key(row.given_name):
            given_key_dob[(given_key, born)].add(index)
        if code := normalise_postcode(row.postcode):
            # No given name: "-", which no normalised name is ("" would find the children at the
            # postcode whose given name is unknown).
            postcode[code][index] = given_norm or "-"
            postcode_near.add(
                (code, born - POSTCODE_BORN_WITHIN, born + POSTCODE_BORN_WITHIN, postcode[code][index])
            )
        if family_key := phonetic_key(row.family_name):
            former_key_dob[(family_key, born)].add(index)

    found: dict[int, set[int]] = defaultdict(set)  # child_pk -> row indexes
    facts: dict[int, Any] = {}

    statements: Iterable[Any]
    if session.get_bind().dialect.name == "postgresql":
        statements = _postgres_blocks(key_dob, names_year, postcode_near, former_key_dob, given_key_dob)
    else:
        statements = _portable_blocks(
            session, key_dob, names_year, postcode_near, former_key_dob, given_key_dob
        )
    statements = [*statements, *_shielded_sweep(session, list(shielded_born))]
    read = _reader(session)
    for statement in statements:
        for child in read(statement):
            # The rows any block of the child's own keys asked for (whichever block found it).
            indexes = (
                key_dob.get((child.family_key, child.date_of_birth), set())
                | _at_the_postcode(rows, postcode.get(child.postcode_norm, {}), child)
                | names_year.get((child.family_norm, child.given_norm, child.date_of_birth.year), set())
                | given_key_dob.get((child.given_key, child.date_of_birth), set())
            )
            if "former_key" in child._fields:
                indexes = indexes | former_key_dob.get((child.former_key, child.date_of_birth), set())
            if child.shielded:
                # Only the rows that share her facts (not every row born that day: ~8 shielded
                # children a day at national scale, nearly all of them unrelated to the row).
                indexes = indexes | {
                    index
                    for index in shielded_born.get(child.date_of_birth, ())
                    if _same_person_facts(rows[index], child)
                }
            if indexes:
                facts[child.id] = child
                found[child.id] |= indexes

    former_of = _former_families(session, read, list(facts))
    carers_of = _carers(session, read, list(facts))
    by_row: dict[int, list[ChildFacts]] = defaultdict(list)
    for child_pk in sorted(found):
        child = facts[child_pk]
        child_facts = ChildFacts(
            child_pk=child.id,
            given_norm=child.given_norm,
            family_norm=child.family_norm,
            date_of_birth=child.date_of_birth,
            gender=child.gender,
            postcode_norm=child.postcode_norm,
            shielded=child.shielded,
            local_authority_id=child.local_authority_id,
            former_families=tuple(former_of.get(child.id, ())),
            carers=tuple(carers_of.get(child.id, ())),
            family_name=child.family_name,
        )
        for index in sorted(found[child_pk]):
            by_row[index].append(child_facts)
    return by_row


def _reader(session: Session) -> Callable[[Any], list[Any]]:
    """The blocks' statements run on the session's connection, in its transaction: plain rows, without
    the ORM's result processing (a third of reading the ~50,000 rows a 1,000-row batch reads). What
    the session holds unwritten is flushed first, as `session.execute` would."""
    if session.autoflush:
        session.flush()
    connection = session.connection()
    return lambda statement: list(connection.execute(statement).all())


def _at_the_postcode(rows: dict[int, FeedRow], at: dict[int, str], child: Any) -> set[int]:
    """The rows `at` the child's postcode (index: the given name looked for) that the postcode block
    pairs with the child: those born within POSTCODE_BORN_WITHIN of it or with its given name; all
    of them if she is shielded."""
    if child.shielded:
        return set(at)
    return {
        index
        for index, given in at.items()
        if given == child.given_norm
        or abs(rows[index].date_of_birth - child.date_of_birth) <= POSTCODE_BORN_WITHIN
    }


def _postgres_blocks(
    key_dob: dict[tuple[str, dt.date], set[int]],
    names_year: dict[tuple[str, str, int], set[int]],
    postcode_near: Collection[tuple[str, dt.date, dt.date, str]],
    former_key_dob: dict[tuple[str, dt.date], set[int]],
    given_key_dob: dict[tuple[str, dt.date], set[int]],
) -> list[Any]:
    """One statement per block, its keys as array parameters joined through `unnest` (PostgreSQL).

    Each is a nested loop of index probes (the planner's choice for these sizes), and one statement
    whatever the batch size: building and parsing a 1,000-way OR costs more than running it.
    """

    def keys(name: str, values: list[Any], of: Any) -> Any:
        return bindparam(name, values, type_=ARRAY(of))

    statements: list[Any] = []
    if key_dob:
        k = (
            func.unnest(
                keys("keys", [key for key, _day in key_dob], String()),
                keys("days", [day for _key, day in key_dob], Date()),
            )
            .table_valued("key", "day")
            .render_derived(name="k")
        )
        statements.append(
            select(*_CHILD_COLUMNS)
            .select_from(k)
            .join(Child, and_(Child.family_key == k.c.key, Child.date_of_birth == k.c.day))
        )
    if names_year:
        n = (
            func.unnest(
                keys("families", [family for family, _given, _year in names_year], String()),
                keys("givens", [given for _family, given, _year in names_year], String()),
                keys("froms", [dt.date(year, 1, 1) for _family, _given, year in names_year], Date()),
                keys("tos", [dt.date(year, 12, 31) for _family, _given, year in names_year], Date()),
            )
            .table_valued("family", "given", "born_from", "born_to")
            .render_derived(name="n")
        )
        statements.append(
            select(*_CHILD_COLUMNS)
            .select_from(n)
            .join(
                Child,
                and_(
                    Child.family_norm == n.c.family,
                    Child.given_norm == n.c.given,
                    Child.date_of_birth.between(n.c.born_from, n.c.born_to),
                ),
            )
        )
    if postcode_near:
        near_keys = list(postcode_near)
        p = (
            func.unnest(
                keys("codes", [near[0] for near in near_keys], String()),
                keys("codes_from", [near[1] for near in near_keys], Date()),
                keys("codes_to", [near[2] for near in near_keys], Date()),
                keys("codes_given", [near[3] for near in near_keys], String()),
            )
            .table_valued("code", "born_from", "born_to", "given")
            .render_derived(name="p")
        )
        statements.append(
            select(*_CHILD_COLUMNS)
            .select_from(p)
            .join(
                Child,
                and_(
                    Child.postcode_norm == p.c.code,
                    or_(
                        Child.date_of_birth.between(p.c.born_from, p.c.born_to),
                        Child.given_norm == p.c.given,
                        Child.shielded.is_(True),
                    ),
                ),
            )
        )
    if former_key_dob:
        f = (
            func.unnest(
                keys("former_keys", [key for key, _day in former_key_dob], String()),
                keys("former_days", [day for _key, day in former_key_dob], Date()),
            )
            .table_valued("key", "day")
            .render_derived(name="f")
        )
        statements.append(
            select(*_CHILD_COLUMNS, FormerName.family_key.label("former_key"))
            .select_from(f)
            .join(FormerName, and_(FormerName.family_key == f.c.key, FormerName.date_of_birth == f.c.day))
            .join(Child, Child.id == FormerName.child_pk)
            .where(FormerName.closed_for_adoption.is_(False))
        )
    if given_key_dob:
        g = (
            func.unnest(
                keys("given_keys", [given for given, _day in given_key_dob], String()),
                keys("given_days", [day for _given, day in given_key_dob], Date()),
            )
            .table_valued("given", "day")
            .render_derived(name="g")
        )
        statements.append(
            select(*_CHILD_COLUMNS)
            .select_from(g)
            .join(Child, and_(Child.given_key == g.c.given, Child.date_of_birth == g.c.day))
        )
    return statements


def _portable_blocks(
    session: Session,
    key_dob: dict[tuple[str, dt.date], set[int]],
    names_year: dict[tuple[str, str, int], set[int]],
    postcode_near: Collection[tuple[str, dt.date, dt.date, str]],
    former_key_dob: dict[tuple[str, dt.date], set[int]],
    given_key_dob: dict[tuple[str, dt.date], set[int]],
) -> Iterable[Any]:
    """The same blocks in portable SQL (SQLite): row-value IN lists and OR'd ranges, in chunks."""
    for chunk in _chunks(list(key_dob)):
        yield select(*_CHILD_COLUMNS).where(tuple_(Child.family_key, Child.date_of_birth).in_(chunk))
    for chunk in _chunks(list(names_year)):
        ranges = (
            and_(
                Child.family_norm == family,
                Child.given_norm == given,
                Child.date_of_birth.between(dt.date(year, 1, 1), dt.date(year, 12, 31)),
            )
            for family, given, year in chunk
        )
        yield select(*_CHILD_COLUMNS).where(or_(*ranges))
    for chunk in _chunks(sorted(postcode_near)):
        near = (
            and_(
                Child.postcode_norm == code,
                or_(
                    Child.date_of_birth.between(born_from, born_to),
                    Child.given_norm == given,
                    Child.shielded.is_(True),
                ),
            )
            for code, born_from, born_to, given in chunk
        )
        yield select(*_CHILD_COLUMNS).where(or_(*near))
    for chunk in _chunks(list(former_key_dob)):
        yield (
            select(*_CHILD_COLUMNS, FormerName.family_key.label("former_key"))
            .join(FormerName, FormerName.child_pk == Child.id)
            .where(
                FormerName.closed_for_adoption.is_(False),
                tuple_(FormerName.family_key, FormerName.date_of_birth).in_(chunk),
            )
        )
    for chunk in _chunks(list(given_key_dob)):
        yield select(*_CHILD_COLUMNS).where(tuple_(Child.given_key, Child.date_of_birth).in_(chunk))


def _shielded_sweep(session: Session, days: list[dt.date]) -> Iterable[Any]:
    """The shielded children born on these days (ix_children_shielded_dob, which holds only them):
    a fled child whose given name was keyed with a slip that changes its Soundex key ("Kaitlyn" for
    "Caitlin"), under a new surname, at a new home, is found by no other block. `IS true` as the
    partial index states it (SQLite uses such an index only for a query that says the same)."""
    shielded = Child.shielded.is_(literal_column("true"))
    for chunk in _chunks(days, _LIST_CHUNK):
        yield select(*_CHILD_COLUMNS).where(shielded, _one_of(session, Child.date_of_birth, chunk))


def _former_families(
    session: Session, read: Callable[[Any], list[Any]], child_pks: list[int]
) -> dict[int, list[str]]:
    """Each child's former family names, normalised; identities closed for adoption left out."""
    names: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(child_pks, _LIST_CHUNK):
        statement = select(FormerName.child_pk, FormerName.family_norm).where(
            _one_of(session, FormerName.child_pk, chunk), FormerName.closed_for_adoption.is_(False)
        )
        for child_pk, family_norm in read(statement):
            names[child_pk].append(family_norm)
    return names


def _carers(
    session: Session, read: Callable[[Any], list[Any]], child_pks: list[int]
) -> dict[int, list[tuple[str, str]]]:
    names: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for chunk in _chunks(child_pks, _LIST_CHUNK):
        statement = select(Carer.child_pk, Carer.given_name, Carer.family_name).where(
            _one_of(session, Carer.child_pk, chunk)
        )
        for child_pk, given, family in read(statement):
            names[child_pk].append((given, family))
    return names


# --- scoring ---------------------------------------------------------------------------------------


def _district(postcode_norm: str) -> str | None:
    """The outward code of a normalised postcode ("ZZ14AB" -> "ZZ1"), None when there is none."""
    return postcode_norm[:-3] if len(postcode_norm) > 3 else None


def _metaphone(norm: str) -> str | None:
    return (jellyfish.metaphone(norm) or None) if norm else None


# A normalised name's Soundex and Metaphone keys, kept for one `classify` call.
NameKeys = dict[str, tuple[str | None, str | None]]


def _name_keys(norm: str, keys: NameKeys | None) -> tuple[str | None, str | None]:
    found = keys.get(norm) if keys is not None else None
    if found is None:
        found = (phonetic_key(norm) or None, _metaphone(norm))
        if keys is not None:
            keys[norm] = found
    return found


def _name_fields(given_norm: str, family_norm: str, keys: NameKeys | None = None) -> dict[str, Any]:
    given_sdx, given_mp = _name_keys(given_norm, keys)
    family_sdx, family_mp = _name_keys(family_norm, keys)
    return {
        "given": given_norm or None,
        "family": family_norm or None,
        "given_sdx": given_sdx,
        "family_sdx": family_sdx,
        "given_mp": given_mp,
        "family_mp": family_mp,
    }


def record_of_row(index: int, row: FeedRow) -> dict[str, Any]:
    """A row as the model's left-hand record."""
    postcode_norm = normalise_postcode(row.postcode)
    return {
        "uid": f"row:{index}",
        "row_key": index,
        **_name_fields(normalise_name(row.given_name), normalise_name(row.family_name)),
        "dob": row.date_of_birth,
        "gender": None if row.gender in _UNKNOWN_GENDERS else row.gender,
        "postcode": postcode_norm or None,
        "district": _district(postcode_norm),
        "former": sorted({normalise_name(name) for name in _open_former_families(row)} - {""}),
        "family_parts": family_parts(row.family_name) or None,
        "carers": _carer_names((carer.given_name, carer.family_name) for carer in row.carers),
    }


def record_of_child(index: int, child: ChildFacts, keys: NameKeys | None = None) -> dict[str, Any]:
    """A candidate child as the model's right-hand record, paired with the row at `index`.

    `keys`: the phonetic keys of the names met so far in this `classify` call (a call pairs ~20,000
    candidates, most of them bearing names another already bore)."""
    return {
        "uid": f"{index}:{child.child_pk}",
        "row_key": index,
        **_name_fields(child.given_norm, child.family_norm, keys),
        "dob": child.date_of_birth,
        "gender": None if child.gender in _UNKNOWN_GENDERS else child.gender,
        "postcode": child.postcode_norm or None,
        "district": _district(child.postcode_norm),
        "former": sorted(set(child.former_families) - {""}),
        "family_parts": (family_parts(child.family_name) if child.family_name else [child.family_norm])
        or None,
        "carers": _carer_names(child.carers),
    }


def _carer_names(names: Iterable[tuple[str, str]]) -> list[str] | None:
    """Carers' full names, normalised ("sarah smith"); None when there are none."""
    full = {f"{normalise_name(given)} {normalise_name(family)}" for given, family in names}
    return sorted(full) or None


_TABLES: Final = ("matching_rows", "matching_candidates")


class _Scorer:
    """splink's linker over one DuckDB connection, kept per thread (a connection is not shared)."""

    _local = threading.local()

    @classmethod
    def for_this_thread(cls) -> _Scorer:
        scorer: _Scorer | None = getattr(cls._local, "scorer", None)
        if scorer is None:
            scorer = cls._local.scorer = cls()
        return scorer

    def __init__(self) -> None:
        import duckdb
        import pyarrow as pa
        from splink import DuckDBAPI, Linker, SettingsCreator

        self._pa = pa
        self._connection = duckdb.connect(":memory:")
        # An in-memory DuckDB spills to `.tmp` in the working directory when memory runs short: the
        # rows it holds are children's names and addresses, which never go to a file. No spilling
        # (a batch that does not fit fails instead; batches are 1,000 rows).
        self._connection.execute("SET temp_directory = ''")
        text = pa.string()
        self._schema = pa.schema(
            [
                ("uid", text),
                ("row_key", pa.int64()),
                ("given", text),
                ("family", text),
                ("given_sdx", text),
                ("family_sdx", text),
                ("given_mp", text),
                ("family_mp", text),
                ("dob", pa.date32()),
                ("gender", text),
                ("postcode", text),
                ("district", text),
                ("former", pa.list_(text)),
                ("family_parts", pa.list_(text)),
                ("carers", pa.list_(text)),
            ]
        )
        # One linker for the life of the thread, over two tables whose rows each call replaces:
        # building a linker parses and validates the settings (~50 ms a time otherwise).
        for table in _TABLES:
            self._replace(table, [])
        database = DuckDBAPI(self._connection)
        self._linker = Linker(
            [database.register(table) for table in _TABLES],
            SettingsCreator.from_path_or_dict(settings_dict()),
            log_level=None,
        )

    def _replace(self, table: str, records: list[dict[str, Any]]) -> None:
        arrow = self._pa.Table.from_pylist(records, schema=self._schema)  # noqa: F841 - read by DuckDB below
        # `table` is one of _TABLES, never input.
        self._connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM arrow")  # noqa: S608

    def score(
        self, left: list[dict[str, Any]], right: list[dict[str, Any]]
    ) -> dict[tuple[int, int], tuple[float, float]]:
        """(row index, child_pk) -> (match probability, match weight) for every pair."""
        if not left or not right:
            return {}
        for table, records in zip(_TABLES, (left, right), strict=True):
            self._replace(table, records)
        # The inputs changed: splink must not reuse what it derived from the last call's.
        self._linker.table_management.invalidate_cache()  # type: ignore[no-untyped-call]  # splink untyped
        predictions = self._linker.inference.predict()
        try:
            # The table name is splink's own (`__splink__df_predict_<random>`), never input.
            query = f"SELECT uid_r, match_probability, match_weight FROM {predictions.physical_name}"  # noqa: S608
            result = self._connection.sql(query).fetchall()
        finally:
            self._linker.table_management.invalidate_cache()  # type: ignore[no-untyped-call]
            for table in _TABLES:
                self._replace(table, [])
        scores: dict[tuple[int, int], tuple[float, float]] = {}
        for uid, probability, weight in result:
            index, child_pk = uid.split(":")
            scores[(int(index), int(child_pk))] = (float(probability), float(weight))
        return scores
