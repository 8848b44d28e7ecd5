"""Rule 5 across the household: a shield hides facts (addresses, telephones), wherever they appear.

A shielded child's hidden facts are its address and telephone and its carers' addresses and
telephones. Any other child whose record holds one of those facts would give it away, so the
shield is computed at read time from the facts themselves, never copied as a flag:

- an *address key* is a postcode and the lines above it, normalised (letters and digits, upper
  case); a child's addresses are its own and those of its carers;
- a *telephone key* is the number without spaces; a child's telephones are its own and its carers'.

A child is *covered* by a shielded child when they share an address key or a telephone key: a
sibling at the same home, a half-sibling whose parent (the same person, so the same telephone or
address) is a carer of the shielded child, a child who moves in. Whoever may not see that shielded
child's details (anyone but its authority's management team) is served the covered child as a
shielded record, does not find it by a postcode that belongs to the shielded household, and sees no
locality for it. A carer who merely has the same name, with no address or telephone in common,
discloses nothing hidden and covers nothing.

The facts are not copied, so no write path (seed, involvement, data feed, a child moving home) can
leave a stale one behind: the next read sees the new facts. One bit is copied, for speed: a carer
row's `child_shielded` is its child's `shielded`, kept by database triggers on every write
(migration 0011_shielded_facts; `cpserver.store.household_facts` checks it), so the probe reads the
shielded households' carers from partial indexes instead of every carer at a postcode. Every lookup
uses an index (`children.postcode_norm`, the expression indexes of migration 0005_household and the
partial ones of 0010 and 0011).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    union,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, joinedload

from cpserver.domain.names import normalise_postcode
from cpserver.store.models import Carer, Child, User

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
AddressKey = tuple[str, str]
# Written into the SQL as literals, not bound: an expression index is used only when the query's
# expression is the index's, character for character.
_SPACE: ColumnElement[str] = literal_column("' '")
_NOTHING: ColumnElement[str] = literal_column("''")
# And `IS true`, as the partial indexes of the shielded few say it: SQLAlchemy writes `IS 1` on
# SQLite, which SQLite does not see as the index's condition (it then reads the whole-table index).
_TRUE: ColumnElement[bool] = literal_column("true")


def is_shielded() -> ColumnElement[bool]:
    """The condition of the shielded children's partial indexes (migration 0010)."""
    return Child.shielded.is_(_TRUE)


def carer_of_shielded() -> ColumnElement[bool]:
    """The condition of the shielded households' carers' partial indexes (migration 0011)."""
    return Carer.child_shielded.is_(_TRUE)


def carer_postcode_key() -> ColumnElement[str]:
    """The SQL expression of index `ix_carers_postcode_key` (must match the migration exactly)."""
    return func.replace(func.upper(Carer.postcode), _SPACE, _NOTHING)


def carer_telephone_key() -> ColumnElement[str]:
    """The SQL expression of index `ix_carers_telephone_key`."""
    return func.replace(Carer.telephone, _SPACE, _NOTHING)


def child_telephone_key() -> ColumnElement[str]:
    """The SQL expression of index `ix_children_telephone_key`."""
    return func.replace(Child.telephone, _SPACE, _NOTHING)


def telephone_key(telephone: str | None) -> str:
    """The number without spaces (the same as the SQL expressions above); "" for none."""
    return (telephone or "").replace(" ", "")


def address_key(line1: str, line2: str, postcode: str) -> AddressKey | None:
    """The postcode and the lines above it, normalised; None without a postcode (nothing to match)."""
    code = normalise_postcode(postcode or "")
    if not code:
        return None
    return code, _NOT_ALNUM.sub("", f"{line1 or ''}{line2 or ''}".upper())


def child_address(child: Child) -> AddressKey | None:
    if child.address_status == "none":
        return None
    return address_key(child.address_line1, child.address_line2, child.postcode)


def carer_address(carer: Carer) -> AddressKey | None:
    return address_key(carer.address_line1, carer.address_line2, carer.postcode)


@dataclass
class Facts:
    """The household facts a record holds: addresses and telephones (the child's and its carers')."""

    addresses: set[AddressKey] = field(default_factory=set)
    telephones: set[str] = field(default_factory=set)

    def add_child(self, child: Child) -> None:
        key = child_address(child)
        if key is not None:
            self.addresses.add(key)
        if telephone_key(child.telephone):
            self.telephones.add(telephone_key(child.telephone))

    def add_carer(self, carer: Carer) -> None:
        key = carer_address(carer)
        if key is not None:
            self.addresses.add(key)
        if telephone_key(carer.telephone):
            self.telephones.add(telephone_key(carer.telephone))

    def shares_with(self, other: Facts) -> bool:
        return bool(self.addresses & other.addresses or self.telephones & other.telephones)


def facts_of(child: Child, carers: Iterable[Carer]) -> Facts:
    facts = Facts()
    facts.add_child(child)
    for carer in carers:
        facts.add_carer(carer)
    return facts


@lru_cache(maxsize=8)
def _near_statement(by_postcode: bool, by_telephone: bool, postgres: bool) -> CompoundSelect[tuple[int]]:
    """The ids of shielded children at one of the postcodes or telephones (bound as `postcodes`,
    `telephones`), or with a carer at one of them: `covering_shields`'s question.

    On PostgreSQL each list is one array parameter (`= ANY`), so the statement's text is the same
    whatever the number of facts, and the server plans it once per connection (a prepared
    statement) instead of on every view; the expression indexes serve `= ANY` as they serve `IN`.
    """
    parts: list[Select[tuple[int]]] = []
    for wanted, name, child_key, carer_key in (
        (by_postcode, "postcodes", Child.postcode_norm, carer_postcode_key()),
        (by_telephone, "telephones", child_telephone_key(), carer_telephone_key()),
    ):
        if not wanted:
            continue
        if postgres:
            values: BindParameter[Any] = bindparam(name, type_=postgresql.ARRAY(String))
            own, theirs = child_key == any_(values), carer_key == any_(values)
        else:
            values = bindparam(name, expanding=True)
            own, theirs = child_key.in_(values), carer_key.in_(values)
        # One part per fact and table, each served by its own partial index of the shielded few
        # (an OR would make PostgreSQL read the rows for their ids instead): the shielded
        # children's, and their carers' (flagged `child_shielded` by triggers). `_shields_statement`
        # reads those children and keeps only the shielded ones.
        parts.append(select(Child.id).where(is_shielded(), own))
        parts.append(select(Carer.child_pk).where(carer_of_shielded(), theirs))
    return union(*parts)


@lru_cache(maxsize=8)
def _shields_statement(by_postcode: bool, by_telephone: bool, postgres: bool) -> Select[tuple[Child]]:
    """The shielded children `_near_statement` finds, each with all its household facts (its own
    and every carer's) and the authority whose management team brokers contact.

    One round trip, built once: the probe's ids are a subquery, so when no shielded household is
    near (nothing to read) it costs what the probe alone did, and when one is (most searches with
    a few dozen results, at national scale) its children are read in the same statement.
    """
    near = _near_statement(by_postcode, by_telephone, postgres).subquery()
    return (
        select(Child)
        .where(is_shielded(), Child.id.in_(select(near.c.id)))
        .options(joinedload(Child.carers), joinedload(Child.local_authority))
    )


def covering_shields(
    session: Session, children: Sequence[tuple[Child, Sequence[Carer]]]
) -> dict[int, list[Child]]:
    """For each child (by primary key), the *other* shielded children whose household facts it shares.

    One indexed query whatever the number of children: the shielded children at one of the
    postcodes or telephones, or whose carers are at one of them, with all their carers. The exact
    comparison (whole address, not just postcode) is done here, against every fact of each
    shielded household.
    """
    facts = {child.id: facts_of(child, carers) for child, carers in children}
    postcodes = sorted({key[0] for f in facts.values() for key in f.addresses})
    telephones = sorted({number for f in facts.values() for number in f.telephones})
    shield_facts: dict[int, Facts] = {}
    shielded: dict[int, Child] = {}
    if postcodes or telephones:
        values = {"postcodes": postcodes, "telephones": telephones}
        postgres = session.get_bind().dialect.name == "postgresql"
        statement = _shields_statement(bool(postcodes), bool(telephones), postgres)
        for row in session.scalars(statement, values).unique():
            shielded[row.id] = row
            shield_facts[row.id] = facts_of(row, row.carers)
    return {
        child_id: [
            shielded[shield_id]
            for shield_id in sorted(shielded)
            if shield_id != child_id and child_facts.shares_with(shield_facts[shield_id])
        ]
        for child_id, child_facts in facts.items()
    }


def sees_shielded_details(user: User | None, child: Child) -> bool:
    """The management team of the child's own authority may see a shielded record's details."""
    return user is not None and user.role == "cmt" and user.local_authority_id == child.local_authority_id


def hidden_shields(user: User | None, shields: Iterable[Child]) -> list[Child]:
    """The shields among `shields` whose details `user` may not see."""
    return [shield for shield in shields if not sees_shielded_details(user, shield)]


def household_hidden_from(session: Session, user: User | None, child: Child) -> list[Child]:
    """The shielded children (other than `child`) whose household facts `child`'s record holds,
    and whose details `user` may not see."""
    cover = covering_shields(session, [(child, child.carers)])
    return hidden_shields(user, cover.get(child.id, []))


def postcode_hidden_from(session: Session, user: User | None, postcode: str) -> bool:
    """Whether `postcode` belongs to a shielded household (child's or carer's) `user` may not see."""
    code = normalise_postcode(postcode or "")
    if not code:
        return False
    shields = list(session.scalars(select(Child).where(Child.postcode_norm == code, is_shielded())))
    shields += list(
        session.scalars(
            select(Child)
            .join(Carer, Carer.child_pk == Child.id)
            .where(carer_postcode_key() == code, carer_of_shielded(), Child.shielded.is_(True))
        )
    )
    return bool(hidden_shields(user, shields))
