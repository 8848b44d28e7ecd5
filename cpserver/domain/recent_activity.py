"""A user's recent audit rows, counted for every rule that counts them in one round trip.

The rate limits (`rate_limits`), the volume rules (`detection`, `harvesting`) and the ID walk each
count the user's own recent rows. Asked one at a time, that was a dozen round trips for every record
view. Each rule still states its own question here: a `Count` (which rows, counted up to a cap, so
the cost of an access does not grow with how many came before it) or a `Latest` (the newest rows, as
short texts). `read` asks them all in one statement made of scalar subqueries. The database answers
each from its own index, exactly as it would alone.

Questions name the user, the workstation and the start of their window with the bound parameters
below (`USER`, `WORKSTATION`, `since(window)`), never with values, so the rules build each question
once per policy (`functools.cache` on the settings) and `read` builds each statement once: a view
does not rebuild, and SQLAlchemy does not re-key, a statement of a dozen subqueries every time.

Read under the user's row lock (`rate_limits.check`), the answers are those of this moment: no
other access by the same user can add a row until this transaction ends. So a rule that must count
the access being made adds that access's own row to what was read (`after`). It does not ask again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import Session

from cpserver.store.models import AuditEvent

# Joins the texts of a `Latest`. ContactPoint IDs, and the IDs asked for (the path pattern allows
# letters, digits and hyphens), never contain it.
SEPARATOR = ","
# The user whose rows are counted, and the workstation the access comes from.
USER: BindParameter[Any] = bindparam("activity_user")
WORKSTATION: BindParameter[Any] = bindparam("activity_workstation")
# The windows a question may count over (each rule's: the rate limits', the volume rules').
WINDOWS = (dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1))


def since(window: dt.timedelta) -> BindParameter[Any]:
    """The start of `window` (one of `WINDOWS`) before the moment `read` is given."""
    if window not in WINDOWS:
        raise ValueError(f"no bound parameter for a window of {window}")
    return bindparam(f"activity_since_{int(window.total_seconds())}")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a statement is cached per question
class Count:
    """How many audit rows meet `where`, counting at most `cap`."""

    name: str
    where: tuple[ColumnElement[bool], ...]
    cap: int

    def expression(self) -> ColumnElement[int]:
        rows = select(AuditEvent.id).where(*self.where).limit(self.cap).subquery()
        return select(func.count()).select_from(rows).scalar_subquery()

    def after(self, before: Answers, *, counts_own_row: bool) -> int:
        """This count once the access being made has added its own row (if it meets `where`)."""
        found = before.counts[self.name]
        return min(found + 1, self.cap) if counts_own_row else found


@dataclass(frozen=True, eq=False)
class Latest:
    """The texts of the newest rows chosen by `rows` (a select of one text column, ordered and limited).

    Rows whose text is null are left out.
    """

    name: str
    rows: Select[tuple[str]] | Select[tuple[str | None]]

    def expression(self) -> ColumnElement[str | None]:
        newest = self.rows.subquery()
        column = next(iter(newest.c))
        return select(func.aggregate_strings(column, SEPARATOR)).scalar_subquery()


Question = Count | Latest


@dataclass(frozen=True)
class Answers:
    """What `read` found: each `Count` by name, and each `Latest`'s texts by name."""

    counts: dict[str, int] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)


def parameters(user_id: int, workstation: str, now: dt.datetime) -> dict[str, object]:
    """The values of `USER`, `WORKSTATION` and every `since(window)` for one access."""
    values: dict[str, object] = {USER.key: user_id, WORKSTATION.key: workstation}
    for window in WINDOWS:
        values[since(window).key] = now - window
    return values


@lru_cache(maxsize=256)
def _statement(questions: tuple[Question, ...]) -> Select[Any]:
    return select(*(question.expression().label(question.name) for question in questions))


def read(session: Session, questions: Iterable[Question], values: dict[str, object]) -> Answers:
    """Every answer, from one statement (none when nothing is asked); `values` from `parameters`."""
    asked = tuple(questions)
    answers = Answers()
    if not asked:
        return answers
    row = session.execute(_statement(asked), values).one()
    for question, value in zip(asked, row, strict=True):
        if isinstance(question, Count):
            answers.counts[question.name] = int(value or 0)
        else:
            answers.texts[question.name] = str(value).split(SEPARATOR) if value else []
    return answers
