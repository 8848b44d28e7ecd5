"""The feed format: CSV and JSON Lines read into the same rows, every rejection by its code, streaming,
and the published JSON Schema (docs/feed-schema.json) agreeing with the reader."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cpserver.domain.feeds import format as feed_format
from cpserver.domain.feeds.format import FeedRefused, ReadContext, Rejection, read_feed
from cpserver.domain.feeds.rows import FeedRow
from cpserver.domain.service_types import SERVICE_TYPES
from tests.server.feeds_support import NEW_CHILD, jsonl, row

NATIONAL = ReadContext("national", {"NMR", "SWV"})
COUNCIL = ReadContext("local_authority", {"NMR", "SWV"}, source_authority="NMR")
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "feed-schema.json").read_text())
SERVICE = {
    "service_type": "family_support",
    "organisation_name": "Brambleford Family Centre",
    "practitioner_name": "Robin Ashdown",
    "telephone": "01632 960888",
    "started_on": "2026-01-05",
    "lead_professional": True,
}


def parsed(data: bytes, fmt: feed_format.Format = "jsonl", context: ReadContext = NATIONAL) -> list[Any]:
    return [item for _number, item in read_feed(io.BytesIO(data), fmt, context)]


def codes(data: bytes, fmt: feed_format.Format = "jsonl", context: ReadContext = NATIONAL) -> list[str]:
    return [item.code for item in parsed(data, fmt, context) if isinstance(item, Rejection)]


def as_csv(*rows: dict[str, Any]) -> bytes:
    """Rows written the CSV way: repeated groups as numbered columns."""
    flat_rows = []
    for item in rows:
        flat: dict[str, str] = {}
        for key, value in item.items():
            if key in ("former_names", "carers", "services"):
                prefix = {"former_names": "former_name", "carers": "carer", "services": "service"}[key]
                for index, member in enumerate(value, start=1):
                    for name, inner in member.items():
                        flat[f"{prefix}{index}_{name}"] = _cell(inner)
            else:
                flat[key] = _cell(value)
        flat_rows.append(flat)
    header = list(dict.fromkeys(key for flat in flat_rows for key in flat))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for flat in flat_rows:
        writer.writerow([flat.get(name, "") for name in header])
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def test_csv_and_json_lines_read_into_the_same_row() -> None:
    child = row(services=[SERVICE], local_authority="NMR")
    from_jsonl = parsed(jsonl(child), "jsonl", COUNCIL)
    from_csv = parsed(as_csv(child), "csv", COUNCIL)
    assert len(from_jsonl) == 1 and isinstance(from_jsonl[0], FeedRow)
    assert from_csv == from_jsonl
    read = from_jsonl[0]
    assert read.carers[0].parental_responsibility is True
    assert read.former_names[0].family_name == "Oakhurst"
    assert read.services[0].lead_professional is True
    assert read.services[0].started_on is not None and read.services[0].started_on.isoformat() == "2026-01-05"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"given_name": ""}, "missing_field"),
        ({"date_of_birth": "2015-02-30"}, "bad_date"),
        ({"date_of_birth": "01/02/2015"}, "bad_date"),
        ({"as_of": "2001-01-01"}, "bad_date"),  # born after the date the source speaks for
        ({"gender": "f"}, "unknown_gender"),
        ({"local_authority": "XXX"}, "unknown_local_authority"),
        ({"given_name": "Pip\u0000pa"}, "unstorable_text"),
        ({"family_name": "F" * 101}, "too_long"),
        ({"postcode": "ZZ1 7XY EXTRA"}, "too_long"),
        ({"case_notes": "anything"}, "unknown_field"),
        ({"carers": [{**NEW_CHILD["carers"][0], "diagnosis": "anything"}]}, "unknown_field"),
        ({"carers": [{"given_name": "Hazel", "family_name": "Fernsworth"}]}, "missing_field"),
        ({"services": [SERVICE]}, "services_not_allowed"),
        ({"new_identity": "yes"}, "wrong_type"),
        ({"given_name": 7}, "wrong_type"),
        ({"carers": {"given_name": "x"}}, "wrong_type"),
        ({"former_names": [{"family_name": "Oakhurst"}] * 11}, "too_many"),
    ],
)
def test_each_problem_rejects_the_row_with_its_code(changes: dict[str, Any], code: str) -> None:
    assert codes(jsonl(row(**changes))) == [code]


@pytest.mark.parametrize(
    ("service", "code"),
    [
        ({**SERVICE, "service_type": "astrology"}, "unknown_service_type"),
        ({**SERVICE, "service_type": "mental_health"}, "sensitive_service_without_consent"),
        ({**SERVICE, "started_on": "soon"}, "bad_date"),
        ({**SERVICE, "notes": "what the session was about"}, "unknown_field"),
    ],
)
def test_services_are_checked(service: dict[str, Any], code: str) -> None:
    assert codes(jsonl(row(services=[service])), "jsonl", COUNCIL) == [code]
    consented = {**SERVICE, "service_type": "mental_health", "consent_recorded": True}
    assert codes(jsonl(row(services=[consented])), "jsonl", COUNCIL) == []


def test_a_councils_source_feeds_its_own_authority() -> None:
    read = parsed(jsonl(row(local_authority="")), "jsonl", COUNCIL)[0]
    assert isinstance(read, FeedRow) and read.local_authority == "NMR"
    assert codes(jsonl(row(local_authority="SWV")), "jsonl", COUNCIL) == ["not_this_sources_authority"]
    assert codes(jsonl(row(local_authority=""))) == ["missing_field"]  # a national source must say


def test_csv_problems_are_per_row() -> None:
    good = row()
    data = as_csv(good, row(source_record_id="CB-2", gender="x"))
    data += b"CB-3,only,three\n"
    data += as_csv(good).split(b"\n", 1)[1].replace(b"Pippa", b"P\xffppa", 1)
    items = parsed(data, "csv")
    assert isinstance(items[0], FeedRow)
    assert [(item.row, item.code) for item in items[1:] if isinstance(item, Rejection)][:3] == [
        (2, "unknown_gender"),
        (3, "wrong_field_count"),
        (4, "bad_encoding"),
    ]


def test_csv_columns_outside_the_schema_refuse_rows_that_fill_them() -> None:
    data = as_csv(row(case_notes="told in confidence"), row(source_record_id="CB-2", case_notes=""))
    items = parsed(data, "csv")
    assert isinstance(items[0], Rejection) and items[0].code == "unknown_field"
    assert isinstance(items[1], FeedRow)  # the column is there, but this row carries nothing in it
    numbered = as_csv(row(carers=[{**NEW_CHILD["carers"][0], "religion": "x"}]))
    assert codes(numbered, "csv") == ["unknown_field"]


def test_csv_numbered_columns_become_members_in_order_and_blank_cells_are_left_out() -> None:
    hazel = NEW_CHILD["carers"][0]
    rowan = {"given_name": "Rowan", "family_name": "Fernsworth", "relationship_to_child": "Father"}
    plain = [key for key in NEW_CHILD if key not in ("carers", "former_names")]
    numbered = [f"carer{number}_{field}" for number in (3, 1, 2, 11) for field in hazel]
    cells = {f"carer3_{field}": _cell(value) for field, value in rowan.items()}
    cells |= {f"carer1_{field}": _cell(value) for field, value in hazel.items()}
    cells |= {"carer2_given_name": "   ", "carer3_telephone": " \t"}  # blank: no member, no field
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*plain, *numbered])
    for extra in ({}, {"carer11_given_name": "Ash"}):
        writer.writerow(
            [*(_cell(NEW_CHILD[key]) for key in plain), *((cells | extra).get(c, "") for c in numbered)]
        )
    items = parsed(out.getvalue().encode(), "csv")
    assert isinstance(items[0], FeedRow)
    assert [carer.given_name for carer in items[0].carers] == ["Hazel", "Rowan"]
    assert items[0].carers[1].telephone == ""
    assert isinstance(items[1], Rejection) and items[1].code == "too_many"  # past the tenth carer


@pytest.mark.parametrize(
    "header",
    [b"", b"name,dob\n", b"source_record_id,given_name,family_name,date_of_birth,gender,as_of,gender\n"],
)
def test_a_csv_without_the_header_is_refused_whole(header: bytes) -> None:
    data = header + b"CB-1,Pippa,Fernsworth,2019-04-01,female,2026-01-01\n"
    if not header:
        data = b"CB-1,Pippa,Fernsworth,2019-04-01,female,2026-01-01\n"
    with pytest.raises(FeedRefused) as refused:
        parsed(data, "csv")
    assert refused.value.code == "wrong_header"


def test_json_lines_problems_are_per_line() -> None:
    lines = [
        jsonl(row()),
        b'{"source_record_id": "CB-2", "given_name": "Tr\n',  # truncated
        b"[1, 2]\n",
        b"\n",  # blank lines are skipped
        jsonl(row(source_record_id="CB-3")).replace(b"Pippa", b"P\xc3ppa", 1),
        b"{" + b" " * (feed_format.MAX_LINE_BYTES + 10) + b"}\n",
        jsonl(row(source_record_id="CB-4")),
    ]
    items = list(read_feed(io.BytesIO(b"".join(lines)), "jsonl", NATIONAL))
    assert [(number, getattr(item, "code", "ok")) for number, item in items] == [
        (1, "ok"),
        (2, "bad_json"),
        (3, "bad_json"),
        (5, "bad_encoding"),
        (6, "too_long"),
        (7, "ok"),
    ]


def test_a_byte_order_mark_is_accepted() -> None:
    assert codes(b"\xef\xbb\xbf" + jsonl(row())) == []
    assert codes(b"\xef\xbb\xbf" + as_csv(row()), "csv") == []


class EndlessFeed(io.RawIOBase):
    """A feed that never ends, counting the bytes read from it."""

    def __init__(self, header: bytes, line: bytes) -> None:
        self.pending = header
        self.line = line
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self.pending) < len(buffer):
            self.pending += self.line
        size = len(buffer)
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        self.served += size
        return size


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_reading_streams(fmt: feed_format.Format) -> None:
    """Rows come out while the file is still being read: an 11M-row file is never held whole."""
    if fmt == "jsonl":
        header, line = b"", jsonl(row())
    else:
        header, line = as_csv(row()).split(b"\n", 1)
        header += b"\n"
    feed = EndlessFeed(header, line)
    taken = list(itertools.islice(read_feed(io.BufferedReader(feed), fmt, NATIONAL), 2000))
    assert all(isinstance(item, FeedRow) for _number, item in taken)
    assert feed.served < 2 * 2000 * len(line) + 1_000_000


def test_loaders_shares_of_a_csv_together_are_the_whole_read() -> None:
    """`--jobs N`: each loader reads the whole file and parses only its share, numbering the others'
    rows without tokenising them (a line with no quote). Quoted fields over several lines, blank and
    comma-only lines (not records), a line too long, a broken quote and short rows fall where a
    whole read puts them, so the shares together are the whole read, row for row."""
    header, good = as_csv(row()).split(b"\n", 1)
    good = good.rstrip(b"\r\n")
    mill = row(source_record_id="CB-Q", address_line1='4 "The Mill",\nLower Lane')
    quoted = as_csv(mill).split(b"\n", 1)[1]
    lines = [
        header,
        good,
        b"",
        b",,,,",
        quoted.rstrip(b"\r\n"),
        b"CB-3,only,three",
        b"  ,  ,",
        b"x" * (feed_format.MAX_LINE_BYTES + 10),
        good.replace(b"CB-", b"CB-Z", 1),
        b'CB-4,"never closed,' + b"a" * 10,
        b"CB-5,on the last line,",
        good.replace(b"CB-", b"CB-Y", 1),
    ]
    data = b"\r\n".join(lines * 3) + b"\r\n"
    whole = list(read_feed(io.BytesIO(data), "csv", NATIONAL))
    assert len(whole) > 12 and {"too_long", "wrong_field_count"} <= {
        item.code for _n, item in whole if isinstance(item, Rejection)
    }
    for lanes in (2, 3):
        for size in (1, 2):
            shares = [
                list(
                    read_feed(
                        io.BytesIO(data),
                        "csv",
                        NATIONAL,
                        keep=lambda number, k=k, n=lanes, size=size: ((number - 1) // size) % n == k,
                    )
                )
                for k in range(lanes)
            ]
            assert sorted(itertools.chain(*shares), key=lambda parsed: parsed[0]) == whole


# --- the published schema agrees with the reader --------------------------------------------------


def _check(
    schema: dict[str, Any],
    text: dict[str, int],
    required: tuple[str, ...],
    dates: tuple[str, ...],
    bools: tuple[str, ...],
) -> None:
    properties = schema["properties"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(required)
    for name, limit in text.items():
        assert properties[name]["type"] == "string", name
        assert properties[name].get("maxLength") == limit or "enum" in properties[name], name
    for name in dates:
        assert properties[name]["format"] == "date", name
    for name in bools:
        assert properties[name]["type"] == "boolean", name


def test_the_schema_names_exactly_the_fields_the_reader_accepts() -> None:
    row_schema = SCHEMA
    groups = set(feed_format.ROW_GROUPS)
    scalar = set(feed_format.ROW_TEXT) | set(feed_format.ROW_DATES) | set(feed_format.ROW_BOOLS)
    assert set(row_schema["properties"]) == scalar | groups
    assert set(row_schema["properties"]) == set(FeedRow.__dataclass_fields__)
    _check(
        row_schema,
        {k: v for k, v in feed_format.ROW_TEXT.items() if k != "gender"},
        feed_format.ROW_REQUIRED,
        feed_format.ROW_DATES,
        feed_format.ROW_BOOLS,
    )
    assert row_schema["properties"]["gender"]["enum"] == list(feed_format.GENDERS)
    definitions = row_schema["$defs"]
    _check(
        definitions["former_name"],
        feed_format.FORMER_NAME_TEXT,
        feed_format.FORMER_NAME_REQUIRED,
        (),
        feed_format.FORMER_NAME_BOOLS,
    )
    _check(
        definitions["carer"], feed_format.CARER_TEXT, feed_format.CARER_REQUIRED, (), feed_format.CARER_BOOLS
    )
    _check(
        definitions["service"],
        feed_format.SERVICE_TEXT,
        feed_format.SERVICE_REQUIRED,
        feed_format.SERVICE_DATES,
        feed_format.SERVICE_BOOLS,
    )
    assert definitions["service"]["properties"]["service_type"]["enum"] == [s.code for s in SERVICE_TYPES]
    for plural, group in feed_format.ROW_GROUPS.items():
        assert row_schema["properties"][plural]["maxItems"] == feed_format.MAX_GROUP[group]
        assert row_schema["properties"][plural]["items"] == {"$ref": f"#/$defs/{group}"}


def test_the_schemas_examples_are_read_as_rows() -> None:
    examples = SCHEMA["examples"]
    assert len(examples) >= 3
    for example in examples:
        context = COUNCIL if example.get("services") else NATIONAL
        read = parsed(jsonl(example), "jsonl", context)
        assert len(read) == 1 and isinstance(read[0], FeedRow), read
        # And the CSV way, as the format document shows.
        assert parsed(as_csv(example), "csv", context) == read


def test_the_format_documents_examples_are_read_as_rows() -> None:
    text = (Path(__file__).parents[2] / "docs" / "feed-format.md").read_text()
    csv_blocks = re.findall(r"```csv\n(.*?)```", text, re.S)
    json_blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    assert csv_blocks and json_blocks
    for block in csv_blocks:
        read = parsed(block.encode(), "csv")
        assert read and all(isinstance(item, FeedRow) for item in read), read
    for block in json_blocks:
        read = parsed(block.encode(), "jsonl")
        assert read and all(isinstance(item, FeedRow) for item in read), read
