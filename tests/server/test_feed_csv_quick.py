"""The CSV reader's quick path makes exactly what the full checks make: the same rows, and for any row
it does not take, the full path's own rejection code (it leaves every doubtful row to the full path).

Each file is read twice, once as the loader reads it and once with the quick path turned off, and
the two readings must be equal row for row: generated national and local authority files, and rows
drawn cell by cell from awkward values (blank, spaced, too long, NUL, undecodable bytes, accented,
bad dates and booleans, unknown genders and authorities, values in columns outside the schema,
past a group's maximum, or in a member that lacks a required column).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpserver.domain.feeds import csv_quick
from cpserver.domain.feeds.format import (
    CsvCells,
    ReadContext,
    Rejection,
    Unparsed,
    read_feed,
    read_feed_unparsed,
)
from cpserver.domain.feeds.rows import FeedRow
from cpserver.seed.feed_file import child_rows, reference_in_memory, write_csv

TODAY = dt.date(2026, 12, 1)


@contextmanager
def _counting() -> Iterator[list[int]]:
    """Count the rows the quick path made ([made, left to the full path])."""
    counts = [0, 0]
    real = csv_quick.QuickRows.row

    def row(self: csv_quick.QuickRows, values: list[str]) -> FeedRow | None:
        made = real(self, values)
        counts[made is None] += 1
        return made

    with mock.patch.object(csv_quick.QuickRows, "row", row):
        yield counts


def _read(data: bytes, context: ReadContext, *, quick: bool) -> list[Any]:
    if quick:
        return list(read_feed(io.BytesIO(data), "csv", context))
    with mock.patch.object(csv_quick.QuickRows, "of", classmethod(lambda *_args: None)):
        return list(read_feed(io.BytesIO(data), "csv", context))


def _generated(*, services: bool, authority: str | None = None) -> tuple[bytes, list[str]]:
    reference = reference_in_memory(children=600, random_seed=7, today=TODAY)
    out = io.StringIO()
    rows = child_rows(
        reference, children=600, random_seed=7, today=TODAY, services=services, authority=authority
    )
    write_csv(rows, out)
    return out.getvalue().encode("utf-8"), [item.code for item in reference.authorities]


def test_generated_national_and_council_files_read_the_same_both_ways() -> None:
    data, authorities = _generated(services=False)
    national = ReadContext("national", set(authorities))
    with _counting() as counts:
        quick = _read(data, national, quick=True)
    full = _read(data, national, quick=False)
    assert len(quick) == len(full) > 500
    assert quick == full
    assert all(isinstance(row, FeedRow) for _number, row in quick)
    assert counts == [len(full), 0]  # a clean national file never needs the full path
    assert any(row.carers for _number, row in quick) and any(row.former_names for _number, row in quick)

    council_code = authorities[0]
    data, _ = _generated(services=True, authority=council_code)
    council = ReadContext("local_authority", set(authorities), source_authority=council_code)
    assert _read(data, council, quick=True) == _read(data, council, quick=False)
    # A national source sent services: every such row refused by the full path, as before.
    assert _read(data, national, quick=True) == _read(data, national, quick=False)


# Cells drawn for any column, then the values that are right for particular ones.
_AWKWARD = [
    "",
    " ",
    "  Amelia  ",
    "Zoë",
    "x" * 101,
    "x" * 201,
    "a\x00b",
    "\udc80bad",
    "line\nbreak",
    'quote " and, comma',
]
_RIGHT: dict[str, list[str]] = {
    "source_record_id": ["R-1", " R-2 ", "x" * 65],
    "date_of_birth": ["2015-03-04", " 2015-03-04 ", "2015-02-30", "2015-3-4", "1899-12-31", "2030-01-01"],
    "as_of": ["2026-12-01", "2026-12-01 ", "2014-01-01", "01/12/2026"],
    "gender": ["female", "male", "not_specified", "Female", " male "],
    "local_authority": ["NMR", "SWV", " NMR", "XXX"],
    "postcode": ["ZZ1 1AA", "ZZ99 9ZZ 12345"],
    "consent_to_25": ["true", "TRUE", " 1 ", "0", "false", "yes"],
    "new_identity": ["false", "", "1", "no"],
    "closed_for_adoption": ["true", "", "maybe", "yes"],
    "parental_responsibility": ["true", "False", "", "2", "yes", "no"],
    "relationship_to_child": ["Mother", "Grandparent"],
    "service_type": ["family_support", "sexual_health", "nonsense"],
    "consent_recorded": ["true", "", "yes"],
}
_ROW_COLUMNS = [
    "source_record_id",
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "gender",
    "as_of",
    "address_line1",
    "town",
    "postcode",
    "telephone",
    "local_authority",
    "education_setting",
    "consent_to_25",
    "new_identity",
]
_REQUIRED = {"source_record_id", "given_name", "family_name", "date_of_birth", "gender", "as_of"}
_MEMBERS = {
    "former_name": ["family_name", "given_name", "closed_for_adoption"],
    "carer": ["given_name", "family_name", "relationship_to_child", "parental_responsibility", "postcode"],
    "service": ["service_type", "organisation_name", "practitioner_name", "consent_recorded"],
}


def _field(column: str) -> str:
    found = re.match(r"^(?:former_name|carer|service)[0-9]+_(.+)$", column)
    return found.group(1) if found else column


def _good(column: str) -> str:
    if column in ("case_notes", "carer11_given_name", "service21_email"):
        return ""  # outside the schema, or past the group's maximum: blank is allowed
    return _RIGHT.get(_field(column), ["Ann"])[0]


def _cell(column: str) -> st.SearchStrategy[str]:
    return st.sampled_from(_RIGHT.get(_field(column), ["Ann"]) + _AWKWARD)


@st.composite
def _files(draw: st.DrawFn) -> bytes:
    # The required columns and the authority's (a national feed must say it), the others at random.
    header = [
        column
        for column in _ROW_COLUMNS
        if column in _REQUIRED or column == "local_authority" or draw(st.booleans())
    ]
    for group, names in _MEMBERS.items():
        for number in (1, 2):
            # Services now and then (a national feed refuses them; a council's reads them the
            # full way), former names and carers often.
            if draw(st.integers(0, 9)) == 4 if group == "service" else draw(st.booleans()):
                # Now and then a member lacks a column it needs (its rows are the full path's).
                lacking = draw(st.sampled_from(names)) if draw(st.integers(0, 9)) == 4 else None
                header += [f"{group}{number}_{name}" for name in names if name != lacking]
    header += draw(st.sets(st.sampled_from(["case_notes", "carer11_given_name", "service21_email"])))
    good = {column: _good(column) for column in header}
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        # Right cells but for one or two awkward ones (or none): a row that differs from a clean
        # one in a single cell shows which checks each path makes.
        row = [good[column] for column in header]
        for position in draw(st.lists(st.integers(0, len(header) - 1), max_size=2)):
            row[position] = draw(_cell(header[position]))
        rows.append(row)
    return _csv(header, rows)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogateescape")


def _unparsed_then_parsed(data: bytes, context: ReadContext) -> list[Any]:
    """The file read as a delta's loader reads it (`read_feed_unparsed`) and each record parsed as
    its worker parses it (`CsvCells`), checking on the way that the two cells the loader partitions
    by are what the parsed row has (or, for the record id, "" when the row is refused for it)."""
    out: list[Any] = []
    parsers: dict[tuple[str, ...], CsvCells] = {}
    for number, item in read_feed_unparsed(io.BytesIO(data), "csv", context):
        if not isinstance(item, Unparsed):
            out.append((number, item))
            continue
        parsed = parsers.setdefault(item.header, CsvCells(item.header, context)).parse(number, item.values)
        if isinstance(parsed, FeedRow):
            assert (item.source_record_id, item.date_of_birth) == (
                parsed.source_record_id,
                parsed.date_of_birth,
            )
        elif parsed.code in ("too_long", "unstorable_text", "bad_encoding") and item.source_record_id:
            # Refused for another cell: the id the loader looks up is the one the row would have.
            assert item.source_record_id == item.values[item.header.index("source_record_id")].strip()
        out.append((number, parsed))
    return out


def test_every_awkward_cell_alone_reads_the_same_both_ways() -> None:
    """Each awkward value in each column of a full header, in an otherwise right row."""
    header = [*_ROW_COLUMNS, "case_notes", "carer11_given_name", "service21_email"]
    for group, names in _MEMBERS.items():
        header += [f"{group}{number}_{name}" for number in (1, 2) for name in names if group != "service"]
    good = [_good(column) for column in header]
    rows = [good]
    for position, column in enumerate(header):
        for value in [*_RIGHT.get(_field(column), []), *_AWKWARD]:
            rows.append([*good[:position], value, *good[position + 1 :]])
    data = _csv(header, rows)
    for context in (
        ReadContext("national", {"NMR", "SWV"}),
        ReadContext("local_authority", {"NMR", "SWV"}, source_authority="NMR"),
    ):
        with _counting() as counts:
            quick = _read(data, context, quick=True)
        assert quick == _read(data, context, quick=False)
        assert counts[0] > len(rows) // 3  # the quick path read many of them
        # Read by a delta's loader, parsed by its workers: the same again.
        assert _unparsed_then_parsed(data, context) == quick
    assert len(rows) > 400
    # The record ids the loader would send to the database to look up: never one it cannot hold.
    ids = [
        item.source_record_id
        for _n, item in read_feed_unparsed(io.BytesIO(data), "csv", ReadContext("national", {"NMR"}))
        if isinstance(item, Unparsed)
    ]
    assert "R-2" in ids and "" in ids
    assert all(len(value) <= 64 and "\x00" not in value and "\udc80" not in value for value in ids)


def test_a_delta_loaders_reading_of_generated_files_parses_to_the_same_rows() -> None:
    data, authorities = _generated(services=False)
    national = ReadContext("national", set(authorities))
    assert _unparsed_then_parsed(data, national) == _read(data, national, quick=True)
    council_code = authorities[0]
    data, _ = _generated(services=True, authority=council_code)
    council = ReadContext("local_authority", set(authorities), source_authority=council_code)
    assert _unparsed_then_parsed(data, council) == _read(data, council, quick=True)
    # Rows the loader refuses before parsing (a cell too many) stay its own.
    broken = data.replace(b"\n", b",extra\n", 3).split(b"\n", 1)[1]
    first = b"".join(data.partition(b"\n")[:2])
    read = list(read_feed_unparsed(io.BytesIO(first + broken), "csv", council))
    assert [item for _n, item in read[:2]] == [
        Rejection(1, "wrong_field_count"),
        Rejection(2, "wrong_field_count"),
    ]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_files())
def test_awkward_cells_read_the_same_both_ways(data: bytes) -> None:
    for context in (
        ReadContext("national", {"NMR", "SWV"}),
        ReadContext("local_authority", {"NMR", "SWV"}, source_authority="NMR"),
    ):
        quick = _read(data, context, quick=True)
        assert quick == _read(data, context, quick=False)
        assert _unparsed_then_parsed(data, context) == quick
