"""preg: identifier keys compared byte by byte on PostgreSQL; no index on the person's person_id

The numbers and person ids that key PREG's tables are compared with `COLLATE "C"` on PostgreSQL
(`models.preg.key`): their B-trees are built and searched with plain byte comparisons instead of
the locale's. Digits and the hexadecimal person ids sort the same in any collation. The index on
`preg_person.person_id` goes: no statement looks a person up by it (the loaders find a person's
numbers through `preg_identification_number`'s person id, which keeps its index). On a database
that holds a nation, the ALTERs rebuild the indexes on those columns; the rows are not rewritten
(the type stays the same, only its collation changes).

Revision ID: preg_0007
Revises: preg_0006
Create Date: 2026-12-07 23:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "preg_0007"
down_revision: str | Sequence[str] | None = "preg_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, length) of the identifier keys
KEYS = {
    "preg_person": (("nin", 11), ("replaced_by", 11)),
    "preg_parent_relation": (("child_nin", 11), ("parent_nin", 11)),
    "preg_identification_number": (("number", 11), ("person_id", 36)),
    "preg_address": (("nin", 11),),
    "preg_parental_responsibility": (("child_nin", 11), ("responsible_nin", 11)),
    "preg_guardianship": (("nin", 11), ("guardian_nin", 11)),
    "preg_responsibility_without_id": (("nin", 11),),
    "preg_guardian_without_id": (("nin", 11),),
    "preg_legal_capacity": (("nin", 11),),
}


def _collate(collation: str) -> None:
    """On PostgreSQL, give the key columns a collation (their indexes are rebuilt with it)."""
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite compares bytes already
    for table, columns in KEYS.items():
        changes = ", ".join(f'ALTER COLUMN "{c}" TYPE VARCHAR({n}) COLLATE "{collation}"' for c, n in columns)
        op.execute(f'ALTER TABLE "{table}" {changes}')


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index(op.f("ix_preg_person_person_id"), table_name="preg_person")
    _collate("C")


def downgrade() -> None:
    """Revert this revision."""
    _collate("default")
    op.create_index(op.f("ix_preg_person_person_id"), "preg_person", ["person_id"], unique=False)
