"""Reading a feed file (CSV or JSON Lines) into `FeedRow`s or per-row rejections, one row at a time.

The format is documented in docs/feed-format.md (schema: docs/feed-schema.json). Reading streams:
one line (JSON Lines) or one record (CSV) is in memory at a time, so an 11-million-row file is
never read whole. A rejection carries the row number and a stable code, never a value from the row
and never the name of a field the row should not have had.

A file that cannot be read at all (a CSV header without the required columns) raises `FeedRefused`
before any row is read; everything else is decided row by row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Final, Literal, NamedTuple, cast

from cpserver.domain.feeds.csv_quick import QuickRows
from cpserver.domain.feeds.rows import FeedCarer, FeedName, FeedRow, FeedService
from cpserver.domain.feeds.schema import (
    CARER_ALLOWED,
    CARER_BOOLS,
    CARER_REQUIRED,
    CARER_TEXT,
    FORMER_NAME_ALLOWED,
    FORMER_NAME_BOOLS,
    FORMER_NAME_REQUIRED,
    FORMER_NAME_TEXT,
    GENDERS,
    ISO_DATE,
    MAX_GROUP,
    ROW_ALLOWED,
    ROW_BOOLS,
    ROW_DATES,
    ROW_GROUPS,
    ROW_REQUIRED,
    ROW_TEXT,
    SERVICE_ALLOWED,
    SERVICE_BOOLS,
    SERVICE_DATES,
    SERVICE_REQUIRED,
    SERVICE_TEXT,
    UNSTORABLE,
)
from cpserver.domain.service_types import BY_CODE as SERVICE_TYPES

Format = Literal["csv", "jsonl"]
FORMATS: Final = ("csv", "jsonl")

# The longest line (JSON Lines) or field (CSV) read; a longer one is refused `too_long` unread.
MAX_LINE_BYTES: Final = 64 * 1024
_GROUP_COLUMN = re.compile(r"^(former_name|carer|service)([1-9][0-9]?)_([a-z_0-9]+)$")


@dataclass(frozen=True)
class Rejection:
    """A row refused: its number in the file (CSV: the record after the header; JSONL: the line)."""

    row: int
    code: str


class FeedRefused(Exception):
    """The whole file is refused before any row is read (a stable code, no content)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReadContext:
    """What the reader checks rows against: the source's kind and the authorities that exist."""

    source_kind: str  # "national" or "local_authority"
    authorities: Collection[str]
    # A local authority's own system: rows without an authority are its own; others are refused.
    source_authority: str | None = None


class _RowProblem(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


Parsed = tuple[int, FeedRow | Rejection]


class Unparsed(NamedTuple):
    """A CSV record read and tokenised but not parsed (`read_feed_unparsed`): a delta's worker
    parses it (`CsvCells`), so the one process that reads the file only partitions its rows, by the
    two cells it reads here. A NamedTuple: it crosses to a worker as a tuple of strings (a parsed
    `FeedRow`, dates and nested carers, cost twice as much to pickle and unpickle, 29 µs a row)."""

    header: tuple[str, ...]
    values: list[str]
    # The record id as a parsed row has it (the cell, stripped; "" when the row will be refused for
    # it), and the date of birth when the cell is an ISO date (None: the row will be refused).
    source_record_id: str
    date_of_birth: dt.date | None


Read = tuple[int, FeedRow | Rejection | Unparsed]


def read_feed(
    stream: IO[bytes], fmt: Format, context: ReadContext, keep: Callable[[int], bool] | None = None
) -> Iterator[Parsed]:
    """Yield each row of `stream` with its row number, parsed or rejected, in file order.

    `keep(number)`: only those rows (one of several loaders' share of the file, `--jobs`); the
    others are counted but neither parsed nor yielded, so every row is numbered as in a whole read.
    """
    return cast(Iterator[Parsed], _read(stream, fmt, context, keep, unparsed=False))


def read_feed_unparsed(stream: IO[bytes], fmt: Format, context: ReadContext) -> Iterator[Read]:
    """`read_feed`, but a CSV record with the header's number of cells is yielded as `Unparsed`,
    for a worker's `CsvCells.parse` to make of it what `read_feed` would have (a delta's workers,
    `parallel_delta.py`). JSON Lines rows are parsed here as by `read_feed`."""
    return _read(stream, fmt, context, None, unparsed=True)


def _read(
    stream: IO[bytes],
    fmt: Format,
    context: ReadContext,
    keep: Callable[[int], bool] | None,
    *,
    unparsed: bool,
) -> Iterator[Read]:
    if fmt == "jsonl":
        found: Iterator[Read] = _read_jsonl(stream, context, keep)
    elif fmt == "csv":
        found = _read_csv(stream, context, keep, unparsed=unparsed)
    else:
        raise FeedRefused("unknown_format", "The feed format must be csv or jsonl.")
    if keep is None:
        yield from found
    else:
        yield from (parsed for parsed in found if keep(parsed[0]))


def format_of(content_type: str) -> Format | None:
    """The feed format a request's content type names, or None."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in (
        "application/jsonl",
        "application/x-ndjson",
        "application/x-jsonlines",
        "application/json-lines",
    ):
        return "jsonl"
    if kind == "text/csv":
        return "csv"
    return None


# --- JSON Lines ------------------------------------------------------------------------------------


def _lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """Each line of `stream` without its end; None for a line longer than MAX_LINE_BYTES (skipped)."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the long line unread
                line = stream.readline(MAX_LINE_BYTES + 1)
            yield None
            continue
        yield line.rstrip(b"\r\n")


def _read_jsonl(
    stream: IO[bytes], context: ReadContext, keep: Callable[[int], bool] | None = None
) -> Iterator[Parsed]:
    for number, read in enumerate(_lines(stream), start=1):
        if keep is not None and not keep(number):
            continue
        if read is None:
            yield number, Rejection(number, "too_long")
            continue
        line = read[len(codecs.BOM_UTF8) :] if number == 1 and read.startswith(codecs.BOM_UTF8) else read
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield number, Rejection(number, "bad_encoding")
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            yield number, Rejection(number, "bad_json")
            continue
        if not isinstance(data, dict):
            yield number, Rejection(number, "bad_json")
            continue
        yield number, _parsed(number, data, context, typed=True)


# --- CSV -------------------------------------------------------------------------------------------


def _read_csv(
    stream: IO[bytes],
    context: ReadContext,
    keep: Callable[[int], bool] | None = None,
    *,
    unparsed: bool = False,
) -> Iterator[Read]:
    # Undecodable bytes become lone surrogates, refused per row as bad_encoding (the file reads on).
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        yield from _csv_records(text, context, keep, unparsed=unparsed)
    finally:
        text.detach()  # the caller owns the stream


def _csv_records(
    text: io.TextIOWrapper,
    context: ReadContext,
    keep: Callable[[int], bool] | None = None,
    *,
    unparsed: bool = False,
) -> Iterator[Read]:
    lines = _bounded(text)
    # The reader takes its lines from `given` (the line a record starts on), then from the file
    # (a quoted field's further lines): a line not given is never seen by it.
    given: list[str] = []

    def read_lines() -> Iterator[str]:
        while True:
            if given:
                yield given.pop()
                continue
            line = next(lines, None)
            if line is None:
                return
            yield line

    reader = csv.reader(read_lines())
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    except csv.Error:
        header = []
    missing = [name for name in ROW_REQUIRED if name not in header]
    if missing or len(set(header)) != len(header) or _TOO_LONG in header:
        raise FeedRefused(
            "wrong_header",
            "The first line must be the header, naming each column once, with every required column "
            "(source_record_id, given_name, family_name, date_of_birth, gender, as_of).",
        )
    cells = CsvCells(header, context)
    header_t = tuple(header)
    id_at, born_at = header.index("source_record_id"), header.index("date_of_birth")
    number = 0
    while True:
        line = next(lines, None)
        if line is None:
            return
        number += 1
        if keep is not None and '"' not in line:
            # Another loader's share is numbered without being tokenised: a line with no quote is
            # one whole record (what the reader makes of it), blank when all it holds is commas and
            # spaces. (Each of N loaders reads the whole file: one of two loaders' read of 1M rows
            # took 0.96 of the time it took tokenising the other's half too, session 9.)
            if not line.replace(",", "").strip():
                number -= 1  # a blank line is not a record
                continue
            if not keep(number):
                continue
        given.append(line)
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield number, Rejection(number, "bad_csv")
            continue
        if values == [_TOO_LONG]:
            yield number, Rejection(number, "too_long")
            continue
        if not any(value.strip() for value in values):
            number -= 1  # a blank line is not a record
            continue
        if keep is not None and not keep(number):
            continue  # another loader's row: numbered, not parsed
        if len(values) != len(header):
            yield number, Rejection(number, "wrong_field_count")
            continue
        if unparsed:
            born = _iso_date_or_none(values[born_at])
            yield number, Unparsed(header_t, values, _record_id(values[id_at]), born)
            continue
        yield number, cells.parse(number, values)


class CsvCells:
    """How the records under one CSV header are parsed: the quick path (`QuickRows`) for a clean
    row, the full checks for any other (`_CsvLayout.unflatten`, then `_row`)."""

    def __init__(self, header: list[str] | tuple[str, ...], context: ReadContext) -> None:
        header = list(header)
        self.layout = _CsvLayout.of(header)
        self.quick = QuickRows.of(
            header,
            list(self.layout.grouped),
            list(self.layout.beyond),
            context.authorities,
            context.source_authority,
        )
        self.context = context

    def parse(self, number: int, values: list[str]) -> FeedRow | Rejection:
        if self.quick is not None and (clean := self.quick.row(values)) is not None:
            return clean  # what the full checks below make of it, read the short way
        try:
            data = self.layout.unflatten(values)
        except _RowProblem as problem:
            return Rejection(number, problem.code)
        return _parsed(number, data, self.context, typed=False)


def _record_id(value: str) -> str:
    """The cell as a parsed row's record id, or "" where the row will be refused for it (too long,
    or a character the database cannot store: never sent to it as a key to look up)."""
    value = value.strip()
    try:
        _check_storable(value)
    except _RowProblem:
        return ""
    return value if len(value) <= ROW_TEXT["source_record_id"] else ""


def _iso_date_or_none(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


# Stands for a physical line longer than MAX_LINE_BYTES, skipped unread (NUL: never valid in a row).
_TOO_LONG: Final = "\x00too_long\x00"


def _bounded(text: io.TextIOWrapper) -> Iterator[str]:
    """The lines of `text`, each at most MAX_LINE_BYTES long; a longer one becomes `_TOO_LONG`."""
    for line in iter(lambda: text.readline(MAX_LINE_BYTES + 1), ""):
        if len(line) > MAX_LINE_BYTES and not line.endswith(("\n", "\r")):
            rest = line
            while rest and not rest.endswith(("\n", "\r")):
                rest = text.readline(MAX_LINE_BYTES + 1)
            yield _TOO_LONG + "\r\n"
            continue
        yield line


@dataclass(frozen=True)
class _CsvLayout:
    """Where a CSV file's columns go, worked out once from its header (not once a row: a national
    file's million rows share one header, and matching ~90 column names a row was a quarter of an
    initial load's parsing)."""

    # (position, column) of the plain columns, in the header's order.
    plain: tuple[tuple[int, str], ...]
    # (position, group, number, field) of the numbered columns within their group's maximum.
    grouped: tuple[tuple[int, str, int, str], ...]
    # Positions of numbered columns past their group's maximum: a value there is too many.
    beyond: tuple[int, ...]

    @classmethod
    def of(cls, header: list[str]) -> _CsvLayout:
        plain: list[tuple[int, str]] = []
        grouped: list[tuple[int, str, int, str]] = []
        beyond: list[int] = []
        for position, column in enumerate(header):
            found = _GROUP_COLUMN.match(column)
            if not found:
                plain.append((position, column))
            elif int(found.group(2)) > MAX_GROUP[found.group(1)]:
                beyond.append(position)
            else:
                grouped.append((position, found.group(1), int(found.group(2)), found.group(3)))
        return cls(tuple(plain), tuple(grouped), tuple(beyond))

    def unflatten(self, values: list[str]) -> dict[str, Any]:
        """A CSV record as the JSON Lines shape: numbered columns become lists of objects (a blank
        cell is left out; a member with no cell filled is no member)."""
        for position in self.beyond:
            if values[position].strip():
                raise _RowProblem("too_many")
        data: dict[str, Any] = {column: values[position] for position, column in self.plain}
        groups: dict[str, dict[int, dict[str, str]]] = {group: {} for group in MAX_GROUP}
        for position, group, number, field in self.grouped:
            value = values[position]
            if value and not value.isspace():
                members = groups[group]
                member = members.get(number)
                if member is None:
                    member = members[number] = {}
                member[field] = value
        for plural, group in ROW_GROUPS.items():
            members = groups[group]
            data[plural] = [members[number] for number in sorted(members)]
        return data


# --- one row -------------------------------------------------------------------------------------


def _parsed(number: int, data: dict[str, Any], context: ReadContext, *, typed: bool) -> FeedRow | Rejection:
    try:
        return _row(data, context, typed=typed)
    except _RowProblem as problem:
        return Rejection(number, problem.code)


def _row(data: dict[str, Any], context: ReadContext, *, typed: bool) -> FeedRow:
    allowed = ROW_ALLOWED
    if not typed:
        # An empty CSV cell in a column outside the schema carries nothing; a value is refused.
        data = {key: value for key, value in data.items() if key in allowed or str(value).strip()}
    fields = _fields(data, allowed, ROW_TEXT, ROW_REQUIRED, ROW_DATES, ROW_BOOLS, typed=typed)
    if fields["gender"] not in GENDERS:
        raise _RowProblem("unknown_gender")
    authority = fields.get("local_authority", "")
    if context.source_authority is not None:
        if authority and authority != context.source_authority:
            raise _RowProblem("not_this_sources_authority")
        authority = context.source_authority
    if not authority:
        raise _RowProblem("missing_field")
    if authority not in context.authorities:
        raise _RowProblem("unknown_local_authority")
    fields["local_authority"] = authority
    former = tuple(
        FeedName(
            **_fields(
                item,
                FORMER_NAME_ALLOWED,
                FORMER_NAME_TEXT,
                FORMER_NAME_REQUIRED,
                (),
                FORMER_NAME_BOOLS,
                typed=typed,
            )
        )
        for item in _group(data, "former_names", typed=typed)
    )
    carers = tuple(
        FeedCarer(
            **_fields(
                item,
                CARER_ALLOWED,
                CARER_TEXT,
                CARER_REQUIRED,
                (),
                CARER_BOOLS,
                typed=typed,
            )
        )
        for item in _group(data, "carers", typed=typed)
    )
    services_data = _group(data, "services", typed=typed)
    if services_data and context.source_kind != "local_authority":
        raise _RowProblem("services_not_allowed")
    services = tuple(_service(item, typed=typed) for item in services_data)
    if fields["date_of_birth"] > fields["as_of"]:
        raise _RowProblem("bad_date")
    return FeedRow(**fields, former_names=former, carers=carers, services=services)


def _service(item: Mapping[str, Any], *, typed: bool) -> FeedService:
    fields = _fields(
        item, SERVICE_ALLOWED, SERVICE_TEXT, SERVICE_REQUIRED, SERVICE_DATES, SERVICE_BOOLS, typed=typed
    )
    kind = SERVICE_TYPES.get(fields["service_type"])
    if kind is None:
        raise _RowProblem("unknown_service_type")
    if kind.sensitive and not fields.get("consent_recorded", False):
        # Rule: a sensitive service is recorded only with the young person's consent.
        raise _RowProblem("sensitive_service_without_consent")
    return FeedService(**fields)


def _group(data: Mapping[str, Any], name: str, *, typed: bool) -> list[Mapping[str, Any]]:
    value = data.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _RowProblem("wrong_type")
    if len(value) > MAX_GROUP[ROW_GROUPS[name]]:
        raise _RowProblem("too_many")
    return value


def _fields(
    data: Mapping[str, Any],
    allowed: frozenset[str],
    text: Mapping[str, int],
    required: Collection[str],
    dates: Collection[str],
    bools: Collection[str],
    *,
    typed: bool,
) -> dict[str, Any]:
    """The scalar fields of one object, checked; groups are left to the caller."""
    if not allowed.issuperset(data):
        raise _RowProblem("unknown_field")
    out: dict[str, Any] = {}
    for name in required:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _RowProblem("missing_field")
    for name, limit in text.items():
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _RowProblem("wrong_type")
        value = value.strip()
        if not value.isascii() or "\x00" in value:  # `_check_storable`, its usual case inline (hot)
            _check_storable(value)
        if len(value) > limit:
            raise _RowProblem("too_long")
        if value or name in required:
            out[name] = value
    for name in dates:
        value = data.get(name)
        if value is None or (not typed and value == ""):
            continue
        out[name] = _date(value)
    for name in bools:
        value = data.get(name)
        if value is None:
            continue
        out[name] = _bool(value, typed=typed)
    return out


def _check_storable(value: str) -> None:
    if value.isascii():  # the usual case: only a NUL can be wrong
        if "\x00" in value:
            raise _RowProblem("unstorable_text")
        return
    found = UNSTORABLE.search(value)
    if found is not None:
        raise _RowProblem("bad_encoding" if "\udc80" <= found.group() <= "\udcff" else "unstorable_text")


def _date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise _RowProblem("wrong_type")
    value = value.strip()
    _check_storable(value)
    if not ISO_DATE.match(value):
        raise _RowProblem("bad_date")
    try:
        found = dt.date.fromisoformat(value)
    except ValueError:
        raise _RowProblem("bad_date") from None
    if found.year < 1900:
        raise _RowProblem("bad_date")
    return found


def _bool(value: Any, *, typed: bool) -> bool:
    if typed:
        if not isinstance(value, bool):
            raise _RowProblem("wrong_type")
        return value
    if not isinstance(value, str):
        raise _RowProblem("wrong_type")
    word = value.strip().lower()
    if word in ("true", "1"):
        return True
    if word in ("false", "0", ""):
        return False
    _check_storable(word)
    raise _RowProblem("bad_boolean")
