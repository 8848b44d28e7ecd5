"""Feed files from the seed's fictitious children: the rows a source system would send for them.

The same deterministic `ChildStream` the seed loads directly is turned into feed rows
(docs/feed-format.md), so a database that holds only the reference data (`write_reference_only`, the
same number of children and random seed) can be loaded from the files: school and GP codes, and
authority codes, line up. Everything is fictitious: ZZ postcodes, 01632 and 07700 900 numbers.

`delta_rows` derives a day's changes from the same children, with the truth of each row kept apart
(for the matcher's precision and recall): updates, moves between authorities, new births, and
doubtful rows (a known child sent under a new record id with a typo or a changed surname).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import IO, Any, Final

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from cpserver.seed.children import CARER_COLUMNS, CHILD_COLUMNS, INVOLVEMENT_COLUMNS, ChildStream, Counts
from cpserver.seed.name_pools import name_pools
from cpserver.seed.reference import Reference, gp_code, setting_code, write_reference
from cpserver.store import models
from cpserver.store.system import set_mode

_CHILD: Final = {name: index for index, name in enumerate(CHILD_COLUMNS)}
_CARER: Final = {name: index for index, name in enumerate(CARER_COLUMNS)}
_INVOLVEMENT: Final = {name: index for index, name in enumerate(INVOLVEMENT_COLUMNS)}
# CSV columns for the repeated groups the seed produces (at most 1 former name, 2 carers, 3 services).
CSV_GROUPS: Final = {"former_name": 1, "carer": 2, "service": 3}
CSV_ROW_COLUMNS: Final = (
    "source_record_id",
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "gender",
    "as_of",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "telephone",
    "local_authority",
    "education_setting",
    "gp_practice",
    "consent_to_25",
    "new_identity",
)
_GROUP_FIELDS: Final = {
    "former_name": ("given_name", "family_name", "closed_for_adoption"),
    "carer": (
        "given_name",
        "family_name",
        "relationship_to_child",
        "parental_responsibility",
        "address_line1",
        "address_line2",
        "town",
        "postcode",
        "telephone",
    ),
    "service": (
        "service_type",
        "organisation_name",
        "practitioner_name",
        "practitioner_role",
        "telephone",
        "email",
        "started_on",
        "ended_on",
        "lead_professional",
        "assessment_completed",
        "consent_recorded",
    ),
}


def reference_in_memory(*, children: int, random_seed: int, today: dt.date) -> Reference:
    """The seed's reference data for `children`, built in a throwaway in-memory database."""
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        reference = write_reference(
            session, children=children, training=False, random_seed=random_seed, today=today
        )
    engine.dispose()
    return reference


def write_reference_only(engine: Engine, *, children: int, random_seed: int, today: dt.date) -> None:
    """A live database with the reference data for `children` (authorities, schools, GPs, ...) and no
    children: the target of an initial load from `child_rows` files with the same arguments."""
    with Session(engine) as session, session.begin():
        if session.scalar(select(models.LocalAuthority.id).limit(1)) is not None:
            raise ValueError("this database already holds data; use a new, migrated database")
        set_mode(session, "live")
        write_reference(session, children=children, training=False, random_seed=random_seed, today=today)


def child_rows(
    reference: Reference,
    *,
    children: int,
    random_seed: int,
    today: dt.date,
    services: bool = False,
    authority: str | None = None,
    id_prefix: str = "CB",
) -> Iterator[dict[str, Any]]:
    """One feed row (JSON shape) per seeded child, in the seed's order.

    Args:
        services: include each child's involvements as services (a local authority's feed).
        authority: only this authority's children (a local authority's feed).
        id_prefix: the source's record ids are `<prefix>-<n>` (n = the seed's child number).
    """
    codes = [item.code for item in reference.authorities]
    stream = ChildStream(reference, training=False, random_seed=random_seed, today=today)
    for batch in stream.batches(children, Counts()):
        carers: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for carer in batch.carers:
            carers[carer[_CARER["child_id"]]].append(carer)
        involvements: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        if services:
            for involvement in batch.involvements:
                involvements[involvement[_INVOLVEMENT["child_id"]]].append(involvement)
        for child in batch.children:
            code = codes[child[_CHILD["local_authority_id"]] - 1]
            if authority is not None and code != authority:
                continue
            yield _row(child, code, carers[child[0]], involvements[child[0]], today, id_prefix)


def _row(
    child: tuple[Any, ...],
    authority: str,
    carers: list[tuple[Any, ...]],
    involvements: list[tuple[Any, ...]],
    today: dt.date,
    id_prefix: str,
) -> dict[str, Any]:
    def at(name: str) -> Any:
        return child[_CHILD[name]]

    row: dict[str, Any] = {
        "source_record_id": f"{id_prefix}-{at('id'):09d}",
        "given_name": at("given_name"),
        "middle_names": at("middle_names"),
        "family_name": at("family_name"),
        "date_of_birth": at("date_of_birth"),
        "gender": at("gender"),
        "as_of": today.isoformat(),
        "address_line1": at("address_line1"),
        "address_line2": at("address_line2"),
        "town": at("town"),
        "postcode": at("postcode"),
        "telephone": at("telephone"),
        "local_authority": authority,
        "education_setting": setting_code(at("education_setting_id")) if at("education_setting_id") else "",
        "gp_practice": gp_code(at("gp_practice_id")) if at("gp_practice_id") else "",
        "consent_to_25": bool(at("consent_to_25")),
    }
    former = json.loads(at("former_names"))
    if former:
        row["former_names"] = [_former_name(name) for name in former]
    row["carers"] = [
        {
            "given_name": carer[_CARER["given_name"]],
            "family_name": carer[_CARER["family_name"]],
            "relationship_to_child": carer[_CARER["relationship_to_child"]],
            "parental_responsibility": bool(carer[_CARER["parental_responsibility"]]),
            "address_line1": carer[_CARER["address_line1"]],
            "address_line2": carer[_CARER["address_line2"]],
            "town": carer[_CARER["town"]],
            "postcode": carer[_CARER["postcode"]],
            "telephone": carer[_CARER["telephone"]],
        }
        for carer in carers
    ]
    if involvements:
        row["services"] = [_service(item) for item in involvements]
    return row


def _former_name(name: str) -> dict[str, str]:
    given, _, family = name.rpartition(" ")
    return {"given_name": given, "family_name": family or given}


def _service(involvement: tuple[Any, ...]) -> dict[str, Any]:
    def at(name: str) -> Any:
        return involvement[_INVOLVEMENT[name]]

    return {
        "service_type": at("service_type"),
        "organisation_name": at("organisation_name"),
        "practitioner_name": at("practitioner_name"),
        "practitioner_role": at("practitioner_role"),
        "telephone": at("telephone"),
        "email": at("email"),
        "started_on": at("started_on"),
        "ended_on": at("ended_on"),
        "lead_professional": bool(at("lead_professional")),
        "assessment_completed": bool(at("assessment_completed")),
        "consent_recorded": bool(at("consent_recorded")),
    }


# --- a day's changes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """What a delta row really is: `kind`, and the record id of the child it is (None: a new child).

    `detail` says which variety of its kind (for the score's error counts; never personal data):
    a new child is "sibling" (born into a household the directory holds) or "family" (a new
    family); a doubtful row is one of `_DOUBTFUL`.
    """

    kind: str  # update, move, new, doubtful
    child_record_id: str | None
    detail: str = ""


# What a doubtful row is (a known child under a record id the source has not sent before): a
# doubled letter in the given name, a second family name added with a hyphen, given and family
# names swapped, a new family name with the old one as a former name, a move with the carers.
_DOUBTFUL: Final = ("typo", "hyphenated", "swapped", "renamed", "moved")
# A newborn's sibling on the directory is at least this old (else the birth is a new family's).
_SIBLING_GAP_DAYS: Final = 300
# A newborn is born this many days before the delta, at most.
_NEWBORN_DAYS: Final = 120


def _household_key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(row.get(name) or "" for name in ("address_line1", "address_line2", "town", "postcode"))


def delta_rows(
    rows: Iterable[dict[str, Any]],
    *,
    authorities: list[str],
    total: int,
    share: float,
    random_seed: int,
    today: dt.date,
    id_prefix: str = "CB",
) -> Iterator[tuple[dict[str, Any], Truth]]:
    """About `share` of the children in `rows` as a day's changes, up to `total` rows.

    Of the changed rows: 78% updates (new address or telephone), 10% moves to another authority,
    10% new births (new record ids, new children), 2% doubtful (a known child under a new record id,
    see `_DOUBTFUL`).

    A birth is a newborn (born in the last `_NEWBORN_DAYS` days) with a given name of its own: 60%
    a sibling born into the household of the child drawn (same family name, carers and address; a
    given name none of the household's children has), unless a child there is younger than
    `_SIBLING_GAP_DAYS`; otherwise a new family on the same street (its own family name, carers,
    house number and telephone). A birth is emitted after the last row of its household (the rows
    of a household come together in the seed's order), so its name is checked against all of them.
    """
    rng = random.Random(f"{random_seed}:delta")  # noqa: S311 - fictitious data
    as_of = (today + dt.timedelta(days=1)).isoformat()
    pools = name_pools()
    names = {"female": pools.female, "male": pools.male, "not_specified": pools.neutral}
    draw = rng.random

    def other_family(than: str) -> str:
        while (family := pools.family.draw(draw)) == than:
            pass
        return family

    made = 0
    births = 0

    def birth(row: dict[str, Any], household: list[dict[str, Any]]) -> tuple[dict[str, Any], Truth]:
        nonlocal births
        births += 1
        born = today - dt.timedelta(days=rng.randrange(1, _NEWBORN_DAYS + 1))
        gender = "female" if rng.random() < 0.5 else "male"
        youngest = max(dt.date.fromisoformat(member["date_of_birth"]) for member in household)
        sibling = rng.random() < 0.6 and (born - youngest).days >= _SIBLING_GAP_DAYS
        taken = {member["given_name"].lower() for member in household}
        if sibling:
            family, carers = row["family_name"], row["carers"]
            address = {name: row[name] for name in ("address_line1", "address_line2", "town", "postcode")}
            telephone = row["telephone"]
        else:
            family = other_family(row["family_name"])
            telephone = f"07700 900{rng.randrange(1000):03d}"
            street = (row["address_line2"] or row["address_line1"]).split(" ", 1)[-1]
            address = {
                "address_line1": f"{rng.randrange(180, 400)} {street}" if row["postcode"] else "",
                "address_line2": "",
                "town": row["town"],
                "postcode": row["postcode"],
            }
            carers = [
                {
                    "given_name": names["female"].draw(draw),
                    "family_name": family,
                    "relationship_to_child": "Mother",
                    "parental_responsibility": True,
                    **address,
                    "telephone": telephone,
                }
            ]
            if rng.random() < 0.55:
                carers.append(
                    {**carers[0], "given_name": names["male"].draw(draw), "relationship_to_child": "Father"}
                )
        while (given := names[gender].draw(draw)).lower() in taken:
            pass
        new = {
            "source_record_id": f"{id_prefix}-N{births:08d}",
            "given_name": given,
            "middle_names": names[gender].draw(draw) if rng.random() < 0.65 else "",
            "family_name": family,
            "date_of_birth": born.isoformat(),
            "gender": gender,
            "as_of": as_of,
            **address,
            "telephone": telephone,
            "local_authority": row["local_authority"],
            "education_setting": "",
            "gp_practice": row["gp_practice"],
            "consent_to_25": False,
            "carers": carers,
        }
        return new, Truth("new", None, "sibling" if sibling else "family")

    # (town, postcode) of the last households seen: where a doubtful row's child moved to.
    postcodes: deque[tuple[str, str]] = deque(maxlen=500)
    for _key, members in groupby(rows, key=_household_key):
        household = list(members)
        if household[0]["postcode"]:
            postcodes.append((household[0]["town"], household[0]["postcode"]))
        pending: list[dict[str, Any]] = []
        for row in household:
            if made >= total:
                break
            if rng.random() >= share:
                continue
            roll = rng.random()
            changed = {**row, "as_of": as_of}
            if roll < 0.78:
                changed["address_line1"] = f"{rng.randrange(1, 200)} {row['town'] or 'New'} Road"
                changed["telephone"] = f"07700 900{rng.randrange(1000):03d}"
                truth = Truth("update", row["source_record_id"])
            elif roll < 0.88:
                changed["local_authority"] = rng.choice(
                    [code for code in authorities if code != row["local_authority"]]
                )
                changed["education_setting"] = ""
                changed["address_line1"] = f"{rng.randrange(1, 200)} Moving Lane"
                truth = Truth("move", row["source_record_id"])
            elif roll < 0.98:
                pending.append(row)  # after the household's last row
                made += 1
                continue
            else:
                changed["source_record_id"] = f"{id_prefix}-D{made:08d}"
                variety = _DOUBTFUL[rng.randrange(len(_DOUBTFUL))]
                if variety == "moved" and not (row["postcode"] and len(postcodes) > 1):
                    variety = "typo"
                if variety == "typo":
                    given = row["given_name"]
                    position = rng.randrange(1, max(2, len(given)))
                    changed["given_name"] = given[:position] + given[position - 1 :]  # a doubled letter
                elif variety == "hyphenated":
                    changed["family_name"] = row["family_name"] + "-Smith"
                elif variety == "swapped":
                    changed["given_name"], changed["family_name"] = row["family_name"], row["given_name"]
                elif variety == "renamed":
                    changed["family_name"] = other_family(row["family_name"])
                    changed["former_names"] = [
                        {"given_name": row["given_name"], "family_name": row["family_name"]}
                    ]
                else:  # moved: to another household's town and postcode, with the carers
                    town, postcode = rng.choice([item for item in postcodes if item[1] != row["postcode"]])
                    home = {"address_line1": f"{rng.randrange(1, 200)} Station Road", "address_line2": ""}
                    home |= {"town": town, "postcode": postcode}
                    changed |= home
                    changed["carers"] = [{**carer, **home} for carer in row["carers"]]
                truth = Truth("doubtful", row["source_record_id"], variety)
            made += 1
            yield changed, truth
        for row in pending:
            yield birth(row, household)
        if made >= total:
            return


# --- writing ----------------------------------------------------------------------------------


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


def csv_header() -> list[str]:
    header = list(CSV_ROW_COLUMNS)
    for group, most in CSV_GROUPS.items():
        for number in range(1, most + 1):
            header += [f"{group}{number}_{name}" for name in _GROUP_FIELDS[group]]
    return header


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    header = csv_header()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    plural = {"former_name": "former_names", "carer": "carers", "service": "services"}
    count = 0
    for row in rows:
        flat = {name: _cell(row.get(name)) for name in CSV_ROW_COLUMNS}
        for group, most in CSV_GROUPS.items():
            for number, member in enumerate(row.get(plural[group], [])[:most], start=1):
                for name in _GROUP_FIELDS[group]:
                    flat[f"{group}{number}_{name}"] = _cell(member.get(name))
        writer.writerow([flat.get(name, "") for name in header])
        count += 1
    return count


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
