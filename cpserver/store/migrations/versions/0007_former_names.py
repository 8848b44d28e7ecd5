"""Former names become searchable: fill `former_names` from the names records already show.

`children.former_names` holds display strings, "Given Family" or "Family" (the family name is the
last word). None of them is an identity closed for adoption: those were never shown. A child that
already has rows in the table (written by a feed) is left as it is.

Revision ID: 0007_former_names
Revises: 0007_feeds_loader
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cpserver.domain.names import normalise_name, phonetic_key

revision: str = "0007_former_names"
down_revision: str | None = "0007_feeds_loader"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000


def split_display_name(shown: str) -> tuple[str, str]:
    """("Given", "Family") from "Given Family"; ("", "Family") from "Family"."""
    words = shown.split()
    if not words:
        return "", ""
    return " ".join(words[:-1]), words[-1]


def upgrade() -> None:
    bind = op.get_bind()
    as_text = "former_names::text" if bind.dialect.name == "postgresql" else "former_names"
    found = bind.execute(
        sa.text(
            f"SELECT id, {as_text} FROM children c WHERE {as_text} NOT IN ('[]', '', 'null') "  # noqa: S608
            "AND NOT EXISTS (SELECT 1 FROM former_names f WHERE f.child_id = c.id) ORDER BY id"
        )
    )
    insert = sa.text(
        "INSERT INTO former_names (child_id, given_name, family_name, family_norm, family_key, "
        "given_norm, closed_for_adoption) VALUES (:child_id, :given_name, :family_name, "
        ":family_norm, :family_key, :given_norm, :closed)"
    )
    rows: list[dict[str, object]] = []
    for child_pk, stored in found.all():
        names = json.loads(stored) if isinstance(stored, str) else stored
        for shown in dict.fromkeys(names or []):
            given, family = split_display_name(str(shown))
            if not normalise_name(family):
                continue
            rows.append(
                {
                    "child_id": child_pk,
                    "given_name": given[:100],
                    "family_name": family[:100],
                    "family_norm": normalise_name(family)[:100],
                    "family_key": phonetic_key(family),
                    "given_norm": normalise_name(given)[:100],
                    "closed": False,
                }
            )
        if len(rows) >= BATCH:
            bind.execute(insert, rows)
            rows = []
    if rows:
        bind.execute(insert, rows)


def downgrade() -> None:
    # The table itself belongs to 0006_feeds; the shown names are untouched either way.
    op.execute("DELETE FROM former_names")
