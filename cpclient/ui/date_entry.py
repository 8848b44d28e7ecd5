"""Reading a date typed by a person: 31/12/2009, 31-12-2009, 31 12 2009 or 2009-12-31."""

from __future__ import annotations

import datetime as dt
import re

_DAY_FIRST = re.compile(r"^\s*(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
FORMAT_HINT = "DD/MM/YYYY"


class DateNotUnderstood(ValueError):
    """The text is not a real date in a form this reads (the text itself is never kept)."""


def parse_date(text: str) -> dt.date | None:
    """The date in `text`, or None when it is empty.

    Raises:
        DateNotUnderstood: the text is not a real date written day first (or as YYYY-MM-DD).
    """
    if not text.strip():
        return None
    match = _DAY_FIRST.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
    else:
        match = _ISO.match(text)
        if not match:
            raise DateNotUnderstood
        year, month, day = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateNotUnderstood from None


def format_date(value: dt.date) -> str:
    """A date as people in England write it: 31/12/2009."""
    return value.strftime("%d/%m/%Y")


def format_long_date(value: dt.date) -> str:
    """A date in words: 31 December 2009."""
    return f"{value.day} {value.strftime('%B %Y')}"
