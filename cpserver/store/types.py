"""Column types shared by the tables and their migrations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def uncollated(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """`type_` for a parameter or a cast: a text type without its collation (`models.Key`'s "C").

    PostgreSQL takes no COLLATE inside a type name (`CAST(x AS varchar(8) COLLATE "C")`,
    `varchar COLLATE "C"[]` are syntax errors); a parameter compared with or assigned to the column
    takes the column's collation anyway.
    """
    variants = getattr(type_, "_variant_mapping", {}).values()
    if type(type_) is String and (type_.collation or any(getattr(v, "collation", None) for v in variants)):
        return String(type_.length)
    return type_
