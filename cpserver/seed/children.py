"""The child generator: households of fictitious children, their carers and involvements, as rows.

`ChildStream` yields batches of database-ready rows (see `bulk_load.Row`) household by household,
drawing on the reference data's pools with plausible proportions (shielded, without an education
setting, past 18 with consent to 25, ...). In a training database it first plants the children the
training contract's scenarios find. Everything is drawn from one seeded random generator in one
order, so the same arguments always give the same rows.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Final

from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.domain.retention import years_before
from cpserver.domain.service_types import SERVICE_TYPES
from cpserver.seed.name_pools import NamePool, name_pools
from cpserver.seed.reference import (
    DEFAULT_PROFILE,
    MAX_AGE_YEARS,
    SERVICE_PROFILES,
    SETTING_KINDS,
    Practitioner,
    Reference,
    fictitious_postcode,
)
from cpserver.seed.training_contract import (
    COMMON_NAME_CHILDREN,
    PLANTED_CHILDREN,
    TRAINING_SCENARIOS,
    Carer,
)
from cpserver.store.bulk_load import Row

# The grounds a generated shielded child is given (the same codes the API and shielding rules use).
SHIELD_GROUNDS: Final = ("significant_harm", "adoption_placement", "adult_at_risk", "serious_crime")

# Children per batch: one transaction of the bulk load each.
BATCH_SIZE: Final = 20_000

# --- proportions ---------------------------------------------------------------------------------

_SHIELDED_SHARE = 0.005
_NO_EDUCATION_SHARE = 0.02
_CONSENT_TO_25_SHARE = 0.01
_NOT_SPECIFIED_GENDER_SHARE = 0.005
_DOUBLE_BARRELLED_SHARE = 0.02
_GP_SHARE = 0.95
_HOUSEHOLD_SIZES = (1, 2, 3, 4)
_HOUSEHOLD_SIZE_WEIGHTS = (55, 30, 12, 3)
_INVOLVEMENT_COUNTS = (0, 1, 2, 3)
_INVOLVEMENT_COUNT_WEIGHTS = (45, 30, 17, 8)
_AUTHORITY_WEIGHTS = (14, 9, 11, 7, 12, 8, 10, 6, 13, 10)
_TOWN_WEIGHTS = (3, 2, 2, 1, 1, 1)
_SHIELD_GROUND_WEIGHTS = (55, 20, 15, 10)

_RELATIONSHIPS_PRIMARY: Final = (
    # relationship, shares the child's family name, parental responsibility, gender, weight
    ("Mother", True, True, "female", 62),
    ("Father", True, True, "male", 12),
    ("Grandmother", True, False, "female", 6),
    ("Foster carer", False, False, "female", 5),
    ("Special guardian", False, True, "female", 3),
    ("Adoptive mother", True, True, "female", 2),
    ("Aunt", False, False, "female", 3),
    ("Mother", False, True, "female", 7),
)


# Personal telephone numbers: 01632 nnnnnn, a code no real line has, one number per person, in turn
# (Ofcom's drama blocks hold 1,000 numbers each: drawn from them, every number was shared by
# hundreds of households at scale, so nearly every record shared a telephone with a shielded
# household and was served as covered by its shield). 01632 960xxx stays for organisations.
_PERSONAL_NUMBERS: Final = 899_000


# --- the columns the stream writes, in order ---------------------------------------------------

CHILD_COLUMNS: Final = (
    "id",
    "cp_id",
    "given_name",
    "middle_names",
    "family_name",
    "former_names",
    "family_norm",
    "family_key",
    "given_norm",
    "given_key",
    "gender",
    "date_of_birth",
    "address_status",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "postcode_norm",
    "telephone",
    "left_england",
    "consent_to_25",
    "local_authority_id",
    "education_setting_id",
    "education_start_date",
    "gp_practice_id",
    "shielded",
    "shield_ground",
    "shield_review_date",
    "archived_at",
)
CARER_COLUMNS: Final = (
    "id",
    "child_id",
    "given_name",
    "family_name",
    "relationship_to_child",
    "parental_responsibility",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "telephone",
)
FORMER_NAME_COLUMNS: Final = (
    "id",
    "child_id",
    "given_name",
    "family_name",
    "family_norm",
    "family_key",
    "given_norm",
    "date_of_birth",
    "closed_for_adoption",
)
INVOLVEMENT_COLUMNS: Final = (
    "id",
    "child_id",
    "practitioner_user_id",
    "practitioner_name",
    "practitioner_role",
    "organisation_name",
    "telephone",
    "email",
    "service_type",
    "sensitive",
    "consent_recorded",
    "started_on",
    "ended_on",
    "lead_professional",
    "assessment_completed",
)


@dataclass
class Batch:
    """Rows for one transaction of the bulk load."""

    # Children generated so far, this batch included (for progress reports).
    done: int = 0
    children: list[Row] = field(default_factory=list)
    carers: list[Row] = field(default_factory=list)
    involvements: list[Row] = field(default_factory=list)
    former_names: list[Row] = field(default_factory=list)


@dataclass
class Counts:
    """What the stream has generated so far, for `SeedSummary`."""

    children: int = 0
    shielded: int = 0
    without_education: int = 0
    past_18: int = 0


# --- the child stream ----------------------------------------------------------------------------


class _NameKeys:
    """Normalised forms and Soundex codes, computed once per distinct name."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, str]] = {}

    def __call__(self, name: str) -> tuple[str, str]:
        found = self._cache.get(name)
        if found is None:
            found = (normalise_name(name), phonetic_key(name))
            if len(self._cache) < 1_000_000:
                self._cache[name] = found
        return found


class ChildStream:
    """Yields batches of child, carer and involvement rows, household by household."""

    def __init__(self, reference: Reference, *, training: bool, random_seed: int, today: dt.date) -> None:
        self.reference = reference
        self.training = training
        self.today = today
        self.rng = random.Random(f"{random_seed}:children")  # noqa: S311 - fictitious data, not secrets
        self.random = self.rng.random
        self.keys = _NameKeys()
        pools = name_pools()
        self.female, self.male, self.neutral = pools.female, pools.male, pools.neutral
        self.family = pools.family
        self.authority_cum = list(accumulate(_AUTHORITY_WEIGHTS[: len(reference.authorities)]))
        self.town_cum = list(accumulate(_TOWN_WEIGHTS))
        self.relationship_cum = list(accumulate(weight for *_rest, weight in _RELATIONSHIPS_PRIMARY))
        self.shield_cum = list(accumulate(_SHIELD_GROUND_WEIGHTS))
        self.household_cum = list(accumulate(_HOUSEHOLD_SIZE_WEIGHTS))
        self.involvement_cum = list(accumulate(_INVOLVEMENT_COUNT_WEIGHTS))
        # Dates as ISO text by days before today (past) or after it (future), computed once.
        self.max_days = (today - years_before(today, MAX_AGE_YEARS)).days
        self.past = [(today - dt.timedelta(days=days)).isoformat() for days in range(self.max_days + 400)]
        self.future = [(today + dt.timedelta(days=days)).isoformat() for days in range(400)]
        self.eighteen_days = (today - years_before(today, 18)).days
        self.age_years = self._age_table()
        # Services open to each age, with cumulative weights.
        self.services_by_age: list[tuple[list[str], list[float]]] = []
        for age in range(MAX_AGE_YEARS + 1):
            codes = [
                s.code
                for s in SERVICE_TYPES
                if SERVICE_PROFILES.get(s.code, DEFAULT_PROFILE).min_age
                <= age
                <= SERVICE_PROFILES.get(s.code, DEFAULT_PROFILE).max_age
            ]
            weights = [SERVICE_PROFILES.get(code, DEFAULT_PROFILE).weight for code in codes]
            self.services_by_age.append((codes, list(accumulate(weights))))
        self.sensitive = {s.code for s in SERVICE_TYPES if s.sensitive}
        self.setting_ages = [(kind, start_age) for kind, start_age, _share, _endings in SETTING_KINDS]
        self.reserved_postcodes = {
            criteria["postcode"] for criteria in TRAINING_SCENARIOS.values() if "postcode" in criteria
        }
        self.next_child = 1
        self.next_carer = 1
        self.next_involvement = 1
        self.next_former_name = 1
        self.next_telephone = 0
        self.cp_number = self.rng.randrange(1_000_000_000, 2_000_000_000)

    def _below(self, limit: int) -> int:
        """A whole number from 0 to limit - 1 (several times faster than `randrange`)."""
        return int(self.random() * limit)

    def _age_table(self) -> list[int]:
        """Age in whole years for each number of days before today."""
        ages = []
        birthdays = [
            (self.today - years_before(self.today, years)).days for years in range(MAX_AGE_YEARS + 2)
        ]
        years = 0
        for days in range(self.max_days + 1):
            while days >= birthdays[years + 1]:
                years += 1
            ages.append(years)
        return ages

    # -- batches

    def batches(self, total: int, counts: Counts) -> Iterator[Batch]:
        batch = Batch()
        if self.training:
            for row_set in self._scenario_children(total):
                self._add(batch, counts, *row_set)
            common = TRAINING_SCENARIOS["common_name"]
            window = (
                (self.today - dt.date.fromisoformat(common["date_of_birth_to"])).days,
                (self.today - dt.date.fromisoformat(common["date_of_birth_from"])).days,
            )
            planted = 0
            while planted < COMMON_NAME_CHILDREN and counts.children < total and window[0] >= 0:
                room = min(total - counts.children, COMMON_NAME_CHILDREN - planted)
                for row_set in self._household(room, family=common["family"], born_days_ago=window):
                    self._add(batch, counts, *row_set)
                    planted += 1
        while counts.children < total:
            for child, carers, involvements in self._household(total - counts.children):
                self._add(batch, counts, child, carers, involvements)
            if len(batch.children) >= BATCH_SIZE:
                batch.done = counts.children
                yield batch
                batch = Batch()
        if batch.children:
            batch.done = counts.children
            yield batch

    def _add(
        self, batch: Batch, counts: Counts, child: Row, carers: list[Row], involvements: list[Row]
    ) -> None:
        batch.children.append(child)
        batch.carers.extend(carers)
        batch.involvements.extend(involvements)
        if child[5] != "[]":  # the searchable former names (a few per hundred children)
            batch.former_names.extend(self._former_name_rows(child[0], child[11], json.loads(child[5])))
        counts.children += 1
        if child[25]:
            counts.shielded += 1
        if child[22] is None:
            counts.without_education += 1
        if child[11] <= self.past[self.eighteen_days]:
            counts.past_18 += 1

    def _former_name_rows(self, child_pk: int, born: object, shown: list[str]) -> list[Row]:
        """Rows of the `former_names` table for the names a record shows ("Given Family")."""
        rows = []
        for name in shown:
            given, _space, family = name.rpartition(" ")
            family_norm, family_key = self.keys(family)
            rows.append(
                (
                    self.next_former_name,
                    child_pk,
                    given,
                    family,
                    family_norm,
                    family_key,
                    self.keys(given)[0],
                    born,
                    0,
                )
            )
            self.next_former_name += 1
        return rows

    def _new_cp_id(self) -> str:
        self.cp_number += 1 + self._below(399)
        return f"CP{self.cp_number:010d}"

    # -- households

    def _family_name(self) -> str:
        random_ = self.random
        # Double-barrelled on the same rolls as before the name pools (the top 2%), so that every
        # other draw, and so every birthday and address, stays what it was.
        if random_() >= 1 - _DOUBLE_BARRELLED_SHARE:
            return f"{self.family.draw(random_)}-{self.family.draw(random_)}"
        return self.family.draw(random_)

    def _address(self, authority: int) -> tuple[str, str, str, str]:
        rng = self.rng
        town_index = bisect(self.town_cum, rng.random() * self.town_cum[-1])
        town = self.reference.authorities[authority].towns[town_index]
        street_list = self.reference.streets[authority][town_index]
        street = street_list[self._below(len(street_list))]
        number = 1 + self._below(179)
        postcode = fictitious_postcode(rng, authority, town_index)
        while postcode in self.reserved_postcodes:
            postcode = fictitious_postcode(rng, authority, town_index)
        if rng.random() < 0.2:
            return f"Flat {1 + self._below(29)}", f"{number} {street}", town, postcode
        return f"{number} {street}", "", town, postcode

    def _telephone(self) -> str:
        roll = self.rng.random()
        if roll < 0.95:
            return self._personal_number()
        return ""

    def _personal_number(self) -> str:
        """The next person's own number (after 899,000 people the numbers come round again)."""
        self.rng.random()  # the draw the shared-pool number took: the rest of the data stays the same
        number = 100_000 + self.next_telephone % _PERSONAL_NUMBERS
        self.next_telephone += 1
        if number >= 960_000:
            number += 1_000  # past the drama block
        return f"01632 {number:06d}"

    def _carers(self, authority: int, family: str, address: tuple[str, str, str, str]) -> list[Carer]:
        rng = self.rng
        relationship, same_name, responsibility, gender, _weight = _RELATIONSHIPS_PRIMARY[
            bisect(self.relationship_cum, rng.random() * self.relationship_cum[-1])
        ]
        names = self.female if gender == "female" else self.male
        carers = [
            Carer(
                names.draw(self.random),
                family if same_name else self._family_name(),
                relationship,
                int(responsibility),
                *address,
                self._telephone(),
            )
        ]
        if relationship in ("Mother", "Father", "Adoptive mother") and rng.random() < 0.55:
            step = rng.random() < 0.2
            if relationship == "Father":
                other, other_names = ("Stepmother" if step else "Mother"), self.female
            else:
                other, other_names = ("Stepfather" if step else "Father"), self.male
            if relationship == "Adoptive mother":
                other = "Adoptive father"
            other_address = address if rng.random() < 0.75 else self._address(authority)
            carers.append(
                Carer(
                    other_names.draw(self.random),
                    self._family_name() if step or rng.random() < 0.15 else family,
                    other,
                    0 if step else 1,
                    *other_address,
                    self._telephone(),
                )
            )
        return carers

    def _household(
        self, room: int, *, family: str | None = None, born_days_ago: tuple[int, int] | None = None
    ) -> Iterator[tuple[Row, list[Row], list[Row]]]:
        rng = self.rng
        authority = bisect(self.authority_cum, rng.random() * self.authority_cum[-1])
        family = family or self._family_name()
        address = self._address(authority)
        carers = self._carers(authority, family, address)
        roll = rng.random()
        if roll < 0.01:
            status, left = "none", 0
        elif roll < 0.03:
            status, left = "last_known", int(rng.random() < 0.2)
        else:
            status, left = "current", 0
        size = _HOUSEHOLD_SIZES[bisect(self.household_cum, rng.random() * self.household_cum[-1])]
        for _ in range(min(size, room)):
            yield self._child(
                authority, family, address, status, left=left, carers=carers, born_days_ago=born_days_ago
            )

    def _child(
        self,
        authority: int,
        family: str,
        address: tuple[str, str, str, str],
        status: str,
        *,
        left: int,
        carers: list[Carer],
        born_days_ago: tuple[int, int] | None = None,
    ) -> tuple[Row, list[Row], list[Row]]:
        rng = self.rng
        random_ = rng.random
        roll = random_()
        names: NamePool
        if roll < _NOT_SPECIFIED_GENDER_SHARE:
            gender, names = "not_specified", self.neutral
        elif roll < 0.5 + _NOT_SPECIFIED_GENDER_SHARE / 2:
            gender, names = "female", self.female
        else:
            gender, names = "male", self.male
        given = names.draw(random_)
        roll = random_()
        if roll < 0.65:
            middle = names.draw(random_)
        elif roll < 0.75:
            middle = f"{names.draw(random_)} {names.draw(random_)}"
        else:
            middle = ""
        if random_() < 0.1 and born_days_ago is None:
            family = self._family_name()
        former: list[str] = []
        if random_() < 0.03:
            former.append(f"{given} {self._family_name()}")
        if born_days_ago is None:
            age_days = self._below(self.max_days + 1)
        else:
            earliest, latest = born_days_ago
            age_days = min(self.max_days, earliest + self._below(latest - earliest + 1))
        age = self.age_years[age_days]
        consent = int(age_days >= self.eighteen_days and random_() < _CONSENT_TO_25_SHARE)
        telephone = self._personal_number() if age >= 11 and random_() < 0.35 else ""

        education_id: int | None = None
        education_start: str | None = None
        if random_() >= _NO_EDUCATION_SHARE:
            kind, start_age = self._setting_kind(age)
            options = self.reference.settings[authority][kind]
            education_id = options[self._below(len(options))]
            if random_() < 0.1:  # moved school recently
                before = self._below(min(age_days, 700) + 1)
            else:
                before = age_days - start_age * 365 - self._below(120)
                if before < 0:
                    before = self._below(age_days + 1)
            education_start = self.past[before]
        gp_id: int | None = None
        if random_() < _GP_SHARE:
            gps = self.reference.gps[authority]
            gp_id = gps[self._below(len(gps))]

        shielded = 0
        ground: str | None = None
        review: str | None = None
        if random_() < _SHIELDED_SHARE:
            shielded = 1
            ground = SHIELD_GROUNDS[bisect(self.shield_cum, random_() * self.shield_cum[-1])]
            review = self.future[30 + self._below(336)]

        child_pk = self.next_child
        child = self._child_row(
            child_pk=child_pk,
            given=given,
            middle=middle,
            family=family,
            former=former,
            gender=gender,
            date_of_birth=self.past[age_days],
            status=status,
            address=address,
            telephone=telephone,
            left=left,
            consent=consent,
            authority=authority,
            education_id=education_id,
            education_start=education_start,
            gp_id=gp_id,
            shielded=shielded,
            ground=ground,
            review=review,
        )
        self.next_child += 1
        carer_rows = [self._carer_row(child_pk, carer) for carer in carers]
        count = _INVOLVEMENT_COUNTS[bisect(self.involvement_cum, random_() * self.involvement_cum[-1])]
        involvement_rows = (
            self._random_involvements(child_pk, authority, age, age_days, count) if count else []
        )
        return child, carer_rows, involvement_rows

    def _setting_kind(self, age: int) -> tuple[str, int]:
        if age < 4:
            return self.setting_ages[0]
        if age < 11:
            return self.setting_ages[1]
        if age < 16:
            return self.setting_ages[2]
        return self.setting_ages[3]

    def _child_row(
        self,
        *,
        child_pk: int,
        given: str,
        middle: str,
        family: str,
        former: list[str],
        gender: str,
        date_of_birth: str,
        status: str,
        address: tuple[str, str, str, str],
        telephone: str,
        left: int,
        consent: int,
        authority: int,
        education_id: int | None,
        education_start: str | None,
        gp_id: int | None,
        shielded: int,
        ground: str | None,
        review: str | None,
    ) -> Row:
        family_norm, family_key = self.keys(family)
        given_norm, given_key = self.keys(given)
        line1, line2, town, postcode = ("", "", "", "") if status == "none" else address
        return (
            child_pk,
            self._new_cp_id(),
            given,
            middle,
            family,
            json.dumps(former) if former else "[]",
            family_norm,
            family_key,
            given_norm,
            given_key,
            gender,
            date_of_birth,
            status,
            line1,
            line2,
            town,
            postcode,
            normalise_postcode(postcode) if postcode else "",
            telephone,
            left,
            consent,
            authority + 1,
            education_id,
            education_start,
            gp_id,
            shielded,
            ground,
            review,
            None,
        )

    def _carer_row(self, child_pk: int, carer: Carer) -> Row:
        row = (
            self.next_carer,
            child_pk,
            carer.given,
            carer.family,
            carer.relationship,
            carer.parental_responsibility,
            carer.line1,
            carer.line2,
            carer.town,
            carer.postcode,
            carer.telephone,
        )
        self.next_carer += 1
        return row

    def _random_involvements(
        self, child_pk: int, authority: int, age: int, age_days: int, count: int
    ) -> list[Row]:
        rng = self.rng
        codes, cum = self.services_by_age[age]
        chosen: list[str] = []
        for _ in range(count * 2):
            code = codes[bisect(cum, rng.random() * cum[-1])]
            if code not in chosen:
                chosen.append(code)
                if len(chosen) == count:
                    break
        rows = []
        lead_index = 0 if rng.random() < 0.3 else -1
        assessment_index = (
            lead_index if lead_index >= 0 and rng.random() < 0.6 else (0 if rng.random() < 0.1 else -1)
        )
        for index, code in enumerate(chosen):
            pool = self.reference.practitioners[(authority, code)]
            practitioner = pool[self._below(len(pool))]
            started = self._below(min(age_days, 5 * 365) + 1)
            ended = self._below(started + 1) if index != lead_index and rng.random() < 0.12 else None
            rows.append(
                self._involvement_row(
                    child_pk,
                    practitioner,
                    code,
                    started=started,
                    ended=ended,
                    lead=index == lead_index,
                    assessment=index == assessment_index,
                )
            )
        return rows

    def _involvement_row(
        self,
        child_pk: int,
        practitioner: Practitioner,
        code: str,
        *,
        started: int,
        ended: int | None,
        lead: bool,
        assessment: bool,
    ) -> Row:
        sensitive = int(code in self.sensitive)
        row = (
            self.next_involvement,
            child_pk,
            practitioner.user_id,
            practitioner.name,
            practitioner.role,
            practitioner.organisation,
            practitioner.telephone,
            practitioner.email,
            code,
            sensitive,
            sensitive,  # sensitive services are recorded only with consent
            self.past[started],
            None if ended is None else self.past[ended],
            int(lead),
            int(assessment),
        )
        self.next_involvement += 1
        return row

    # -- the planted training scenarios

    def _scenario_children(self, room: int) -> Iterator[tuple[Row, list[Row], list[Row]]]:
        """The children TRAINING_SCENARIOS finds, all in the first authority."""
        settings = self.reference.settings[0]
        for planted in PLANTED_CHILDREN[:room]:
            born = dt.date.fromisoformat(TRAINING_SCENARIOS[planted.scenario]["date_of_birth"])
            if born > self.today:
                continue  # a `today` before the scenario's birth: leave it out
            child_pk = self.next_child
            self.next_child += 1
            education_id = None if planted.setting is None else settings[planted.setting][0]
            starts = None
            if education_id is not None:
                starts = max(born, min(self.today, dt.date(born.year + 4, 9, 1))).isoformat()
            shielded = planted.shield_ground is not None
            child = self._child_row(
                child_pk=child_pk,
                given=planted.given,
                middle=planted.middle,
                family=planted.family,
                former=list(planted.former),
                gender=planted.gender,
                date_of_birth=born.isoformat(),
                status="current",
                address=planted.address,
                telephone="",
                left=0,
                consent=0,
                authority=0,
                education_id=education_id,
                education_start=starts,
                gp_id=self.reference.gps[0][0],
                shielded=int(shielded),
                ground=planted.shield_ground,
                review=self.future[90] if shielded else None,
            )
            carers = [self._carer_row(child_pk, carer) for carer in planted.carers]
            involvements = []
            for who, code, started, lead, assessment in planted.involvements:
                # A demo account by name, or the last of the pool (never a demo account).
                practitioner = (
                    self.reference.users[who] if who else self.reference.practitioners[(0, code)][-1]
                )
                involvements.append(
                    self._involvement_row(
                        child_pk,
                        practitioner,
                        code,
                        started=started,
                        ended=None,
                        lead=lead,
                        assessment=assessment,
                    )
                )
            yield child, carers, involvements
