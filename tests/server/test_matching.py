"""The matcher: each kind of incoming row is classified as expected, on SQLite and PostgreSQL.

Small worlds built here beside the shared test world; the figures are the model's fixed ones, so
every decision is deterministic.
"""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cpserver.domain.feeds import matching
from cpserver.domain.feeds.matching import REVIEW_FLOOR, Classification, classify
from cpserver.domain.feeds.rows import FeedCarer, FeedName, FeedRow
from cpserver.domain.former_names import replace_former_names
from cpserver.domain.names import normalise_name, normalise_postcode, phonetic_key
from cpserver.store.models import Carer, Child, LocalAuthority
from tests.server import feeds_support, world

AS_OF = dt.date(2026, 12, 1)
_numbers = itertools.count(1)


def add_child(
    db: Session,
    given: str,
    family: str,
    born: dt.date,
    postcode: str,
    *,
    gender: str = "female",
    carer: tuple[str, str] | None = None,
    shielded: bool = False,
    former: tuple[FeedName, ...] = (),
) -> Child:
    north = db.scalars(select(LocalAuthority).where(LocalAuthority.code == "NMR")).one()
    child = Child(
        cp_id=f"CPM{next(_numbers):08d}",
        given_name=given,
        family_name=family,
        family_norm=normalise_name(family),
        family_key=phonetic_key(family),
        given_norm=normalise_name(given),
        given_key=phonetic_key(given),
        gender=gender,
        date_of_birth=born,
        address_line1="4 Mill Lane",
        town="Brambleford",
        postcode=postcode,
        postcode_norm=normalise_postcode(postcode),
        local_authority_id=north.id,
        shielded=shielded,
        shield_ground="significant_harm" if shielded else None,
    )
    db.add(child)
    db.flush()
    if carer is not None:
        db.add(
            Carer(
                child_pk=child.id, given_name=carer[0], family_name=carer[1], relationship_to_child="Mother"
            )
        )
    if former:
        replace_former_names(db, child, former)
    db.commit()
    return child


def row(
    given: str,
    family: str,
    born: dt.date,
    postcode: str,
    *,
    gender: str = "female",
    carer: tuple[str, str] | None = None,
    **fields: object,
) -> FeedRow:
    carers = (FeedCarer(carer[0], carer[1], "Mother"),) if carer else ()
    return FeedRow(
        source_record_id=f"src-{next(_numbers)}",
        given_name=given,
        family_name=family,
        date_of_birth=born,
        gender=gender,
        as_of=AS_OF,
        postcode=postcode,
        carers=carers,
        **fields,  # type: ignore[arg-type]
    )


def matched(result: Classification, child: Child) -> bool:
    return result.decision == "match" and result.best is not None and result.best.child_pk == child.id


AMELIA_DOB = dt.date(2015, 4, 7)
MOTHER = ("Grace", "Hartwell")


def test_each_kind_of_row_is_classified_as_expected(db: Session) -> None:
    amelia = add_child(db, "Amelia", "Hartwell", AMELIA_DOB, "ZZ7 1AB", carer=MOTHER)
    sophie = add_child(
        db, "Sophie", "Blackwood", dt.date(2014, 2, 11), "ZZ7 3EF", carer=("Jane", "Ashdown"),
        former=(FeedName("Ashdown"),),
    )  # fmt: skip
    expected = {
        "exact copy": (row("Amelia", "Hartwell", AMELIA_DOB, "ZZ7 1AB", carer=MOTHER), amelia),
        "typo in the given name": (row("Amelai", "Hartwell", AMELIA_DOB, "ZZ7 1AB"), amelia),
        "typo in the family name": (row("Amelia", "Hartwel", AMELIA_DOB, "ZZ7 1AB"), amelia),
        "given and family swapped": (row("Hartwell", "Amelia", AMELIA_DOB, "ZZ7 1AB"), amelia),
        "moved (new postcode, same carer)": (
            row("Amelia", "Hartwell", AMELIA_DOB, "ZZ31 5XY", carer=MOTHER),
            amelia,
        ),
        "day and month transposed": (row("Amelia", "Hartwell", dt.date(2015, 7, 4), "ZZ7 1AB"), amelia),
        "changed surname, old one as a former name": (
            row("Amelia", "Blackwood", AMELIA_DOB, "ZZ7 1AB", former_names=(FeedName("Hartwell"),)),
            amelia,
        ),
        "a surname the directory holds as a former name": (
            row("Sophie", "Ashdown", dt.date(2014, 2, 11), "ZZ7 3EF"),
            sophie,
        ),
    }
    new = row("Zebedee", "Quonkley", dt.date(2012, 1, 1), "ZZ40 9QQ", gender="male")
    results = classify(db, [case for case, _child in expected.values()] + [new])
    for (kind, (_row, child)), result in zip(expected.items(), results, strict=False):
        assert matched(result, child), f"{kind}: {result.decision}"
        assert result.best is not None and result.best.probability >= 0.99
        assert result.candidates == (result.best,), kind
        assert result.best.shielded is False
    assert results[-1] == Classification("new", None, ())


def test_a_small_batch_keeps_its_order_and_an_empty_one_is_empty(db: Session) -> None:
    amelia = add_child(db, "Amelia", "Hartwell", AMELIA_DOB, "ZZ7 1AB", carer=MOTHER)
    new = row("Zebedee", "Quonkley", dt.date(2012, 1, 1), "ZZ40 9QQ", gender="male")
    same = row("Amelia", "Hartwell", AMELIA_DOB, "ZZ7 1AB")
    results = classify(db, [new, same, new])
    assert [result.decision for result in results] == ["new", "match", "new"]
    assert matched(results[1], amelia)
    assert classify(db, []) == []


def test_twins_are_never_merged(db: Session) -> None:
    born, home, mother = dt.date(2016, 9, 3), "ZZ7 2CD", ("Kate", "Pembridge")
    oliver = add_child(db, "Oliver", "Pembridge", born, home, gender="male", carer=mother)
    harry = add_child(db, "Harry", "Pembridge", born, home, gender="male", carer=mother)
    isla = add_child(db, "Isla", "Fairweather", dt.date(2017, 5, 20), "ZZ7 4GH", carer=("Amy", "Fairweather"))
    elsie = add_child(db, "Elsie", "Kingsley", dt.date(2018, 1, 30), "ZZ7 5JK", carer=("Beth", "Kingsley"))
    results = classify(
        db,
        [
            row("Oliver", "Pembridge", born, home, gender="male", carer=mother),
            row("Harry", "Pembridge", born, home, gender="male", carer=mother),
            # A twin the directory does not hold yet: same family, birth, home and mother.
            row("Freya", "Fairweather", dt.date(2017, 5, 20), "ZZ7 4GH", carer=("Amy", "Fairweather")),
            # A twin whose name is one letter from her sister's: a person decides, never the model.
            row("Ellie", "Kingsley", dt.date(2018, 1, 30), "ZZ7 5JK", carer=("Beth", "Kingsley")),
        ],
    )
    assert matched(results[0], oliver) and [c.child_pk for c in results[0].candidates] == [oliver.id]
    assert matched(results[1], harry) and [c.child_pk for c in results[1].candidates] == [harry.id]
    assert results[2].decision == "new" and isla.id not in {c.child_pk for c in results[2].candidates}
    assert results[3].decision == "review"
    assert results[3].best is not None and results[3].best.child_pk == elsie.id


def test_a_shielded_candidate_is_reported_as_shielded(db: Session) -> None:
    shielded = db.scalars(select(Child).where(Child.cp_id == world.SHIELDED)).one()
    mother = db.scalars(select(Carer).where(Carer.child_pk == shielded.id)).first()
    assert mother is not None
    same = row(
        shielded.given_name,
        shielded.family_name,
        shielded.date_of_birth,
        shielded.postcode,
        gender=shielded.gender,
        carer=(mother.given_name, mother.family_name),
    )
    # A new child in the shielded household (a new twin): never "new", held for the authority.
    newcomer = replace(same, given_name="Saffron", source_record_id="src-newcomer")
    match, held = classify(db, [same, newcomer])
    assert matched(match, shielded)
    assert match.best is not None and match.best.shielded is True
    assert match.best.local_authority_id == shielded.local_authority_id
    assert held.decision == "review"
    assert held.best is not None and held.best.child_pk == shielded.id
    # Only shielded children are listed this far below the floor (here both Quillfeathers).
    assert all(c.shielded for c in held.candidates)
    assert held.candidates[0].probability < REVIEW_FLOOR


def test_a_new_identity_is_never_matched(db: Session) -> None:
    amelia = add_child(db, "Amelia", "Hartwell", AMELIA_DOB, "ZZ7 1AB", carer=MOTHER)
    same = row("Amelia", "Hartwell", AMELIA_DOB, "ZZ7 1AB", carer=MOTHER)
    adopted = replace(same, new_identity=True, source_record_id="src-adopted")
    results = classify(db, [adopted, same, adopted])
    assert results[0] == results[2] == Classification("new", None, ())
    assert matched(results[1], amelia)


def test_former_names_closed_for_adoption_are_never_used(db: Session) -> None:
    closed = (FeedName("Thornbury", closed_for_adoption=True),)
    lily = add_child(db, "Lily", "Marchbank", dt.date(2013, 8, 19), "ZZ7 6LM", former=closed)
    # The control: the same, with the former name open.
    rosa = add_child(
        db, "Rosa", "Penhallow", dt.date(2013, 10, 21), "ZZ7 7NP", former=(FeedName("Tregarthen"),)
    )
    poppy = add_child(db, "Poppy", "Oldacre", dt.date(2011, 3, 23), "ZZ7 8QR")
    results = classify(
        db,
        [
            # Found only through the closed name: no block finds her.
            row("Lily", "Thornbury", dt.date(2013, 8, 19), "ZZ33 1AA"),
            # Found through her home, but the closed name is not compared: not a sure match.
            row("Lily", "Thornbury", dt.date(2013, 8, 19), "ZZ7 6LM"),
            # The open former name, in the same two cases: found and matched.
            row("Rosa", "Tregarthen", dt.date(2013, 10, 21), "ZZ33 1AA"),
            row("Rosa", "Tregarthen", dt.date(2013, 10, 21), "ZZ7 7NP"),
            # The row's own former name, closed for adoption: not used either.
            row(
                "Poppy",
                "Newland",
                dt.date(2011, 3, 23),
                "ZZ33 1AA",
                former_names=(FeedName("Oldacre", "", True),),
            ),
            row("Poppy", "Newland", dt.date(2011, 3, 23), "ZZ33 1AA", former_names=(FeedName("Oldacre"),)),
        ],
    )
    assert results[0] == Classification("new", None, ())
    assert results[1].decision != "match"
    assert {c.child_pk for c in results[1].candidates} <= {lily.id}
    assert (
        results[2].decision != "new" and results[2].best is not None and results[2].best.child_pk == rosa.id
    )
    assert matched(results[3], rosa)
    assert results[4] == Classification("new", None, ())
    assert (
        results[5].decision != "new" and results[5].best is not None and results[5].best.child_pk == poppy.id
    )


def test_the_server_starts_without_splink_duckdb_or_pyarrow() -> None:
    """Start-up time must not grow: the matcher imports them on its first call with pairs to score."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cpserver.cli, cpserver.api.app, cpserver.domain.feeds.matching\n"
            "heavy = ('splink', 'duckdb', 'pyarrow', 'sqlglot')\n"
            "print(sorted(m for m in sys.modules if m.startswith(heavy)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert loaded.strip() == "[]"


def test_the_scorer_never_spills_childrens_rows_to_a_file() -> None:
    """An in-memory DuckDB spills to `.tmp` in the working directory under memory pressure; the
    rows it holds are names, dates of birth and addresses, which never go to a file."""
    scorer = matching._Scorer.for_this_thread()
    assert scorer._connection.execute("SELECT current_setting('temp_directory')").fetchone() == ("",)


# --- misses found on the feed benchmark's deltas (bench/feeds.py score) -------------------------


def test_a_family_name_made_double_barrelled_is_found_without_an_address(db: Session) -> None:
    """ "Davies" sent as "Davies-Smith": the whole name's Soundex key is another, so with no postcode
    no block found her and she became a duplicate; each part of the name is now a block and a
    comparison level."""
    born = dt.date(2016, 6, 14)
    ffion = add_child(db, "Ffion", "Davies", born, "")
    owain = add_child(db, "Owain", "Prothero", dt.date(2012, 9, 2), "ZZ7 9AB", gender="male", carer=MOTHER)
    results = classify(
        db,
        [
            # No address, nothing else to go on: found, and a person decides (never a new record).
            row("Ffion", "Davies-Smith", born, ""),
            row("Ffion", "Smith Davies", born, ""),
            # The part and everything else in common: the same child.
            row("Owain", "Prothero-Lloyd", dt.date(2012, 9, 2), "ZZ7 9AB", gender="male", carer=MOTHER),
            # A part in common is no more than that: another child of another birthday is new.
            row("Ffion", "Davies-Smith", dt.date(2019, 3, 30), ""),
        ],
    )
    for result in results[:2]:
        assert result.decision == "review", result.decision
        assert result.best is not None and result.best.child_pk == ffion.id
    assert matched(results[2], owain)
    assert results[3] == Classification("new", None, ())


def test_family_parts() -> None:
    assert matching.family_parts("Davies-Smith") == ["davies", "smith"]
    assert matching.family_parts("Ap Rhys  Price") == ["ap", "rhys", "price"]
    assert matching.family_parts("O'Brien") == ["obrien"]
    assert matching.family_parts("Lloyd – Jones") == ["lloyd", "jones"]
    assert matching.family_parts("-") == []


def test_a_newborn_sibling_is_a_new_child_not_the_older_one(db: Session) -> None:
    """A baby born into a household the directory holds: same family name, home and mother as an
    older brother, a given name and a birthday of her own. Never merged into him."""
    home, mother = "ZZ7 2EF", ("Nia", "Pembridge")
    oliver = add_child(db, "Oliver", "Pembridge", dt.date(2021, 3, 9), home, gender="male", carer=mother)
    newborn = row("Maisie", "Pembridge", AS_OF - dt.timedelta(days=20), home, carer=mother)
    # The same baby sent with nothing but her name and birthday, and a brother only months older.
    born_close = dt.date(2026, 1, 9)
    alfie = add_child(
        db, "Alfie", "Greenhalgh", born_close, "ZZ7 2GH", gender="male", carer=("Zoe", "Greenhalgh")
    )
    close = row("Mila", "Greenhalgh", dt.date(2026, 11, 9), "ZZ7 2GH", carer=("Zoe", "Greenhalgh"))
    results = classify(db, [newborn, close])
    for result, brother in zip(results, (oliver, alfie), strict=True):
        assert result.decision == "new", result.decision
        assert brother.id not in {c.child_pk for c in result.candidates}


def test_loading_a_newborn_sibling_creates_her_and_leaves_her_sister_alone(db: Session) -> None:
    census, _ = feeds_support.source(db)
    first = feeds_support.load(db, census, feeds_support.jsonl(feeds_support.row()))
    assert first.rows_created == 1
    pippa = db.scalars(select(Child).where(Child.family_name == "Fernsworth")).one()
    before = (pippa.given_name, pippa.date_of_birth, pippa.middle_names)
    newborn = feeds_support.row(
        source_record_id="CB-000002",
        given_name="Wren",
        middle_names="",
        date_of_birth=(feeds_support.AS_OF - dt.timedelta(days=30)).isoformat(),
        former_names=[],
    )
    report = feeds_support.load(db, census, feeds_support.jsonl(newborn))
    assert (report.rows_created, report.rows_matched, report.rows_held) == (1, 0, 0), report.as_dict()
    db.expire_all()
    assert (pippa.given_name, pippa.date_of_birth, pippa.middle_names) == before
    family = db.scalars(select(Child).where(Child.family_name == "Fernsworth").order_by(Child.id)).all()
    assert [child.given_name for child in family] == ["Pippa", "Wren"]


def test_loading_a_double_barrelled_name_without_an_address_holds_it(db: Session) -> None:
    """The miss on the benchmark: "Davies" sent again as "Davies-Smith" (another Soundex key: D120,
    D122) by a record id the source has not sent before, with no address or carers: held for a
    person, not a duplicate."""
    census, _ = feeds_support.source(db)
    bare = {"postcode": "", "address_line1": "", "town": "", "carers": [], "former_names": []}
    feeds_support.load(db, census, feeds_support.jsonl(feeds_support.row(**bare, family_name="Davies")))
    renamed = feeds_support.row(**bare, source_record_id="CB-000002", family_name="Davies-Smith")
    report = feeds_support.load(db, census, feeds_support.jsonl(renamed))
    assert (report.rows_created, report.rows_held) == (0, 1), report.as_dict()
    assert db.scalar(select(func.count()).select_from(Child).where(Child.given_name == "Pippa")) == 1


def test_a_family_name_that_lost_a_part_or_changed_is_found_without_an_address(db: Session) -> None:
    """The directory's "Davies-Smith" sent as "Davies", or "Davies" sent as "Morgan", with no postcode
    and no former name: no family-name block finds her (another Soundex key), so she became a new
    record, a duplicate. The "given name and date of birth" block finds her; the surname's
    disagreement keeps her from being matched without a person."""
    born, other_day = dt.date(2016, 6, 14), dt.date(2013, 10, 21)
    ffion = add_child(db, "Ffion", "Davies-Smith", born, "ZZ7 4CD")
    cerys = add_child(db, "Cerys", "Davies", other_day, "ZZ7 4CE", carer=("Bethan", "Davies"))
    results = classify(
        db,
        [
            # A part lost, nothing else to go on but her name, birthday and gender.
            row("Ffion", "Davies", born, ""),
            # An outright change, no postcode, with her mother (a feed row's carers).
            row("Cerys", "Morgan", other_day, "", carer=("Bethan", "Davies")),
        ],
    )
    for result, child in zip(results, (ffion, cerys), strict=True):
        assert result.decision == "review", result.decision
        assert result.best is not None and result.best.child_pk == child.id
        assert result.best.probability < matching.MATCH_AT


def test_a_child_sharing_only_given_name_and_birthday_is_not_merged(db: Session) -> None:
    """The new block's candidates are children born the same day with the same given name: at
    national scale a handful per row. A different surname with nothing else in common, or another
    gender, or other carers at another home, is another child: never matched, and (without the
    surname) not even for a person to look at."""
    born = dt.date(2018, 2, 27)
    isla = add_child(db, "Isla", "Penhaligon", born, "ZZ7 5GH", carer=("Kerensa", "Penhaligon"))
    results = classify(
        db,
        [
            # Another surname, nothing else sent: not enough to put before a person.
            row("Isla", "Trevithick", born, ""),
            # Another surname and another gender.
            row("Isla", "Trevithick", born, "", gender="male"),
            # Another surname, other carers, another home.
            row("Isla", "Trevithick", born, "ZZ40 2TT", carer=("Morwenna", "Trevithick")),
            # The same surname but another gender, other carers and home: a person looks, no more.
            row("Isla", "Penhaligon", born, "ZZ40 2TT", gender="male", carer=("Morwenna", "Trevithick")),
        ],
    )
    for result in results[:3]:
        assert result == Classification("new", None, ()), result
    assert results[3].decision != "match"
    assert all(result.best is None or result.best.child_pk == isla.id for result in results)


def test_loading_a_surname_that_lost_a_part_holds_it(db: Session) -> None:
    """Through the loader: "Davies-Smith" sent back as "Davies" by a record id the source has not
    sent before, with no address, carers or former name: held, not a second child."""
    census, _ = feeds_support.source(db)
    bare = {"postcode": "", "address_line1": "", "town": "", "carers": [], "former_names": []}
    feeds_support.load(db, census, feeds_support.jsonl(feeds_support.row(**bare, family_name="Davies-Smith")))
    shortened = feeds_support.row(**bare, source_record_id="CB-000002", family_name="Davies")
    report = feeds_support.load(db, census, feeds_support.jsonl(shortened))
    assert (report.rows_created, report.rows_held) == (0, 1), report.as_dict()
    assert db.scalar(select(func.count()).select_from(Child).where(Child.given_name == "Pippa")) == 1


OLIVIA_DOB = dt.date(2017, 8, 23)
OLIVIAS_MOTHER = ("Rachel", "Ashdown")


def test_a_misspelt_given_name_with_a_changed_surname_is_found(db: Session) -> None:
    """A child whose surname changed after her mother's marriage, sent as "Olivai Brennan" by a
    record id the source has not sent before: no family-name block finds her (another Soundex key),
    nor the exact given name's (a slip). The block on the given name's Soundex key and the date of
    birth does; the changed surname keeps her from being matched without a person, and she is
    never created a second time."""
    olivia = add_child(db, "Olivia", "Ashdown", OLIVIA_DOB, "ZZ7 6JK", carer=OLIVIAS_MOTHER)
    results = classify(
        db,
        [
            # At home (the postcode block finds her), nothing else sent.
            row("Olivai", "Brennan", OLIVIA_DOB, "ZZ7 6JK"),
            # Without an address, with her mother.
            row("Olivai", "Brennan", OLIVIA_DOB, "", carer=OLIVIAS_MOTHER),
            # Moved away, with her mother.
            row("Olivai", "Brennan", OLIVIA_DOB, "ZZ40 3PQ", carer=OLIVIAS_MOTHER),
        ],
    )
    for result in results:
        assert result.decision == "review", result.decision
        assert result.best is not None and result.best.child_pk == olivia.id
        assert result.best.probability < matching.MATCH_AT


def test_loading_a_misspelt_given_name_with_a_changed_surname_holds_it(db: Session) -> None:
    """Through the loader: "Pippa Fernsworth" sent again as "Pipa Quennell", with no address but her
    mother, by a record id the source has not sent before: held for a person, not a second child."""
    census, _ = feeds_support.source(db)
    feeds_support.load(db, census, feeds_support.jsonl(feeds_support.row()))
    renamed = feeds_support.row(
        source_record_id="CB-000002",
        given_name="Pipa",
        family_name="Quennell",
        postcode="",
        address_line1="",
        town="",
        telephone="",
        former_names=[],
    )
    report = feeds_support.load(db, census, feeds_support.jsonl(renamed))
    assert (report.rows_created, report.rows_held) == (0, 1), report.as_dict()
    named = Child.given_name.in_(("Pippa", "Pipa"))
    assert db.scalar(select(func.count()).select_from(Child).where(named)) == 1


def test_the_given_name_key_block_does_not_merge_another_child(db: Session) -> None:
    """The block's candidates are children born the same day whose given names sound alike
    (Olivia, Olive, Olivai: O410). One with another surname, home and carers is another child,
    never matched and not put before a person; nor is one with another gender."""
    olivia = add_child(db, "Olivia", "Ashdown", OLIVIA_DOB, "ZZ7 6JK", carer=OLIVIAS_MOTHER)
    results = classify(
        db,
        [
            row("Olive", "Brennan", OLIVIA_DOB, "ZZ40 3PQ", carer=("Siobhan", "Brennan")),
            row("Olivai", "Brennan", OLIVIA_DOB, "ZZ40 3PQ", carer=("Siobhan", "Brennan")),
            row("Olivai", "Brennan", OLIVIA_DOB, "", gender="male"),
        ],
    )
    for result in results:
        assert result.decision == "new", result
        assert olivia.id not in {candidate.child_pk for candidate in result.candidates}


def test_a_misspelt_given_name_with_a_changed_surname_may_be_a_shielded_child(db: Session) -> None:
    """The same slip and new surname, sent with nothing else, for a shielded child: held for her
    authority's team (listed down to SHIELDED_FLOOR), never created as a new visible record."""
    olivia = add_child(db, "Olivia", "Ashdown", OLIVIA_DOB, "ZZ7 6JK", carer=OLIVIAS_MOTHER, shielded=True)
    (result,) = classify(db, [row("Olivai", "Brennan", OLIVIA_DOB, "")])
    assert result.decision == "review", result.decision
    assert result.best is not None and result.best.child_pk == olivia.id and result.best.shielded


def test_the_given_name_key_and_birthday_block_is_indexed() -> None:
    """The block reads an index on (given_key, date_of_birth): without one it is a scan of the
    children at every batch."""
    indexes = {tuple(column.name for column in index.columns) for index in Child.__table__.indexes}
    assert ("given_key", "date_of_birth") in indexes


def test_the_postcode_block_pairs_a_row_only_with_children_near_its_age(db: Session) -> None:
    """At the synthetic directory's national scale a postcode holds ~46 children: pairing every row
    with all of them was most of a daily delta's matching. The block pairs a row with the children at
    its postcode born within a year of it or with its given name, and with every shielded child
    there whatever her age (a newborn in a shielded household is held, never created visible)."""
    home = "ZZ7 8LM"
    add_child(db, "Reuben", "Thistlewood", dt.date(2012, 3, 1), home, gender="male")
    neighbour = add_child(db, "Maisie", "Cobbold", dt.date(2021, 9, 1), home)
    namesake = add_child(db, "Ivy", "Cobbold", dt.date(2010, 5, 5), home)
    shielded = add_child(db, "Nell", "Gatward", dt.date(2009, 1, 1), home, shielded=True)
    newborn = row("Ivy", "Pennick", dt.date(2022, 7, 1), home)
    found = matching._fetch_candidates(db, {0: newborn})
    assert {child.child_pk for child in found[0]} == {neighbour.id, namesake.id, shielded.id}
    # A row elsewhere finds none of them; the same row born 367 days after the neighbour, not her.
    assert matching._fetch_candidates(db, {0: replace(newborn, postcode="ZZ9 9ZZ")}) == {}
    later = replace(newborn, date_of_birth=dt.date(2022, 9, 3))
    assert {child.child_pk for child in matching._fetch_candidates(db, {0: later})[0]} == {
        namesake.id,
        shielded.id,
    }


def test_a_childs_names_at_her_postcode_are_found_whatever_the_date_of_birth(db: Session) -> None:
    """A source keys the year of birth wrong (2013 for 2017): no name-and-birthday block finds the
    child; the postcode block does (her given name), so the row is hers (by the model's weights on
    the same names at the same home), never a second child: for a shielded child, never a visible one."""
    wrong = OLIVIA_DOB.replace(year=2013)
    olivia = add_child(db, "Olivia", "Ashdown", OLIVIA_DOB, "ZZ7 6JK", carer=OLIVIAS_MOTHER)
    shielded = add_child(db, "Poppy", "Larkhall", OLIVIA_DOB, "ZZ7 6JL", shielded=True)
    plain, held = classify(
        db,
        [row("Olivia", "Ashdown", wrong, "ZZ7 6JK"), row("Poppy", "Larkhall", wrong, "ZZ7 6JL")],
    )
    assert plain.decision != "new" and held.decision != "new"
    assert plain.best is not None and plain.best.child_pk == olivia.id
    assert held.best is not None and held.best.child_pk == shielded.id and held.best.shielded


def test_the_blocks_see_what_the_session_has_not_written_yet(db: Session) -> None:
    """The blocks read on the session's connection (plain rows): what the session holds unwritten
    is flushed first, as `session.execute` would, so a child added in the same transaction is
    found (and a row for her is hers, never a second record)."""
    north = db.scalars(select(LocalAuthority).where(LocalAuthority.code == "NMR")).one()
    born = dt.date(2018, 6, 9)
    wren = Child(
        cp_id=f"CPM{next(_numbers):08d}",
        given_name="Wren",
        family_name="Holloway",
        family_norm="holloway",
        family_key=phonetic_key("Holloway"),
        given_norm="wren",
        given_key=phonetic_key("Wren"),
        gender="female",
        date_of_birth=born,
        postcode="ZZ7 9QR",
        postcode_norm="ZZ79QR",
        local_authority_id=north.id,
    )
    db.add(wren)
    assert wren.id is None  # not written yet
    (result,) = classify(db, [row("Wren", "Holloway", born, "ZZ7 9QR")])
    assert wren.id is not None and matched(result, wren)
    db.rollback()
