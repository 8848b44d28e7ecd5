"""The CSV reader's quick path: a clean row read straight from its cells, or left to the full checks.

A national extract is millions of clean rows. The full path (`format._row`) makes each CSV record a
JSON Lines-shaped dict and checks it field by field, as it must for any input; it took about two
thirds of an initial load's parsing. `QuickRows.row(values)` reads a record's cells by the
positions its header gave, once for the file, and makes the same `FeedRow` the full path would
**only when the row is clean**: every cell it reads checks as the full path checks it, nothing
refused. At the first thing that is not plainly right (a blank required cell, a long or unstorable
value, a bad date or boolean, an unknown gender or authority, a cell in a column outside the
schema, a service on a national feed) it answers None and the reader sends the row down the full
path, which decides it: so a rejected row gets exactly the code it always got, and the quick path
never has to know which check comes first. A test holds the two to the same rows on every row of
generated files and on drawn rows of awkward cells.

Services (local authority feeds) are always left to the full path: such feeds are small.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import MISSING, fields
from typing import Any, Final

from cpserver.domain.feeds.rows import FeedCarer, FeedName, FeedRow
from cpserver.domain.feeds.schema import (
    CARER_BOOLS,
    CARER_REQUIRED,
    CARER_TEXT,
    FORMER_NAME_BOOLS,
    FORMER_NAME_REQUIRED,
    FORMER_NAME_TEXT,
    GENDERS,
    ISO_DATE,
    ROW_ALLOWED,
    ROW_BOOLS,
    ROW_DATES,
    ROW_REQUIRED,
    ROW_TEXT,
    UNSTORABLE,
)

# What the full path refuses as unstorable or badly encoded (a NUL, a surrogate): left to it.
_TRUE: Final = ("true", "1")
_FALSE: Final = ("false", "0", "")

# A member's fields: (position, name, kind, longest, required); kind "text" or "bool".
_Cell = tuple[int, str, str, int, bool]


class _Unclear(Exception):
    """Something the full path must decide."""


def _text(value: str, limit: int, required: bool) -> str:
    value = value.strip()
    if len(value) > limit or (not value and required) or "\x00" in value:
        raise _Unclear
    if not value.isascii() and UNSTORABLE.search(value) is not None:
        raise _Unclear
    return value


def _bool(value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _Unclear


def _date(value: str) -> dt.date:
    value = value.strip()
    if not ISO_DATE.match(value):
        raise _Unclear
    try:
        found = dt.date.fromisoformat(value)
    except ValueError:
        raise _Unclear from None
    if found.year < 1900:
        raise _Unclear
    return found


def _maker(kind: type) -> Callable[[dict[str, Any]], Any]:
    """Make a frozen row object from a dict of some of its fields, the rest at their defaults:
    the object the dataclass's `__init__` would make (same fields, same values), without its
    per-field frozen `__setattr__` (a fifth of the quick path's time)."""
    defaults = {item.name: item.default for item in fields(kind) if item.default is not MISSING}
    new = object.__new__

    def make(values: dict[str, Any]) -> Any:
        made: Any = new(kind)
        made.__dict__.update(defaults)
        made.__dict__.update(values)
        return made

    return make


_ROW: Final = _maker(FeedRow)
_CARER: Final = _maker(FeedCarer)
_NAME: Final = _maker(FeedName)


def _runs(positions: Collection[int]) -> tuple[slice, ...]:
    """`positions` as slices of consecutive cells (a header's group columns sit side by side)."""
    runs: list[slice] = []
    for position in sorted(positions):
        if runs and runs[-1].stop == position:
            runs[-1] = slice(runs[-1].start, position + 1)
        else:
            runs.append(slice(position, position + 1))
    return tuple(runs)


def _blank(values: list[str], runs: tuple[slice, ...]) -> bool:
    """Every cell in `runs` empty or spaces: tested a run at a time, joined in C (a national file's
    row has ten carers' and twenty services' columns, nearly all blank)."""
    for run in runs:
        joined = "".join(values[run])
        if joined and not joined.isspace():
            return False
    return True


class _Group:
    """One repeated group's members: the cells of each member number, in number order."""

    def __init__(
        self,
        members: list[list[tuple[int, str]]],
        text: dict[str, int],
        required: Collection[str],
        bools: Collection[str],
        make: Callable[[dict[str, Any]], Any],
    ) -> None:
        self.make = make
        # Each member's cells, and whether its columns include every required field (a member
        # without one is refused by the full path: any filled cell of it is left to that).
        self.members: list[tuple[tuple[_Cell, ...], bool, tuple[slice, ...]]] = []
        self.unclear = False  # a member column outside the schema: the file goes the full way
        for cells in members:
            member: list[_Cell] = []
            for position, name in cells:
                if name in text:
                    member.append((position, name, "text", text[name], name in required))
                elif name in bools:
                    member.append((position, name, "bool", 0, False))
                else:
                    self.unclear = True
            complete = set(required) <= {name for _position, name, *_ in member}
            self.members.append((tuple(member), complete, _runs([position for position, _name in cells])))

    def read(self, values: list[str]) -> tuple[Any, ...]:
        made = []
        for member, complete, runs in self.members:
            if _blank(values, runs):
                continue  # a member with no cell filled is no member
            filled = {
                name: value
                for position, name, *_ in member
                if (value := values[position]) and not value.isspace()
            }
            if not filled:
                continue  # a member with no cell filled is no member
            if not complete:
                raise _Unclear
            out: dict[str, Any] = {}
            for _position, name, kind, limit, required in member:
                if name not in filled:
                    if required:
                        raise _Unclear
                    continue
                if kind == "text":
                    value = _text(filled[name], limit, required)
                    if value or required:
                        out[name] = value
                else:
                    out[name] = _bool(filled[name])
            made.append(self.make(out))
        return tuple(made)


class QuickRows:
    """A CSV header's quick reader (`row`), or None from `of` when the header has no use for one."""

    def __init__(
        self,
        header: list[str],
        grouped: list[tuple[int, str, int, str]],
        beyond: list[int],
        authorities: Collection[str],
        source_authority: str | None,
    ) -> None:
        self._authorities = authorities
        self._source_authority = source_authority
        position = {name: index for index, name in enumerate(header)}
        self._text = tuple(
            (position[name], name, limit, name in ROW_REQUIRED)
            for name, limit in ROW_TEXT.items()
            if name in position
        )
        self._dates = tuple((position[name], name) for name in ROW_DATES)
        self._bools = tuple((position[name], name) for name in ROW_BOOLS if name in position)
        # Cells that must be blank: numbered columns past their group's maximum, columns outside
        # the schema (a value in either is refused by the full path), and every service column.
        self._blank = _runs(
            tuple(
                index
                for index, name in enumerate(header)
                if (index not in {p for p, *_ in grouped} and name not in ROW_ALLOWED)
            )
            + tuple(beyond)
            + tuple(p for p, group, *_ in grouped if group == "service")
        )
        self._groups: list[tuple[str, _Group]] = []
        for group, text, required, bools, make, plural in (
            ("former_name", FORMER_NAME_TEXT, FORMER_NAME_REQUIRED, FORMER_NAME_BOOLS, _NAME, "former_names"),
            ("carer", CARER_TEXT, CARER_REQUIRED, CARER_BOOLS, _CARER, "carers"),
        ):
            numbers: dict[int, list[tuple[int, str]]] = {}
            for index, in_group, number, name in grouped:
                if in_group == group:
                    numbers.setdefault(number, []).append((index, name))
            self._groups.append(
                (plural, _Group([numbers[n] for n in sorted(numbers)], text, required, bools, make))
            )

    @classmethod
    def of(
        cls,
        header: list[str],
        grouped: list[tuple[int, str, int, str]],
        beyond: list[int],
        authorities: Collection[str],
        source_authority: str | None,
    ) -> QuickRows | None:
        quick = cls(header, grouped, beyond, authorities, source_authority)
        if any(group.unclear for _plural, group in quick._groups):
            return None
        return quick

    def row(self, values: list[str]) -> FeedRow | None:
        """`values`' row as the full path makes it, or None: let the full path decide."""
        try:
            return self._row(values)
        except _Unclear:
            return None

    def _row(self, values: list[str]) -> FeedRow:
        if not _blank(values, self._blank):
            raise _Unclear
        out: dict[str, Any] = {}
        for index, name, limit, required in self._text:
            value = _text(values[index], limit, required)
            if value or required:
                out[name] = value
        for index, name in self._dates:
            out[name] = _date(values[index])
        for index, name in self._bools:
            out[name] = _bool(values[index])
        if out["gender"] not in GENDERS:
            raise _Unclear
        authority = out.get("local_authority", "")
        if self._source_authority is not None:
            if authority and authority != self._source_authority:
                raise _Unclear
            authority = self._source_authority
        if not authority or authority not in self._authorities:
            raise _Unclear
        out["local_authority"] = authority
        if out["date_of_birth"] > out["as_of"]:
            raise _Unclear
        for plural, group in self._groups:
            out[plural] = group.read(values)
        made: FeedRow = _ROW(out)
        return made
