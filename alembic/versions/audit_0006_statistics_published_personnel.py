"""audit: statistics publications keep HPR's health personnel, and each list's grouped rows in one

A reference date's health personnel (persons with a valid approval and their key sums, per
helsepersonellkategori and for every category together) are stored with the date's publication, so an
approval registered after the date was first published, dated before it, never moves that date's
counts (docs/statistics.md). A publication stored before this revision has no such rows: its health
personnel are published the first time a table of that date needs them.

A list's grouped rows of listed persons (age group, gender, persons, key sum) are kept in one text
column of the list's row (`groups`) instead of a row each: at 5.5 million persons a publication is
5,375 list rows instead of 107,500 cell rows to write and to read. Publications stored before keep
their rows in audit_statistics_published_cell (their lists' `groups` is NULL).

Revision ID: audit_0006
Revises: audit_0005
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0006"
down_revision: str | Sequence[str] | None = "audit_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("audit_statistics_published_list", sa.Column("groups", sa.Text(), nullable=True))
    op.create_table(
        "audit_statistics_published_personnel",
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=4), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("key_sum", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "reference_date", "key_id", "category", name=op.f("pk_audit_statistics_published_personnel")
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("audit_statistics_published_personnel")
    # Publications stored with their groups in the lists' rows cannot be read without them: gone, they
    # are published anew when first asked (as after a rotation of the secret).
    packed = "SELECT reference_date FROM audit_statistics_published_list WHERE groups IS NOT NULL"
    for table in ("audit_statistics_published_cell", "audit_statistics_publication", "audit_statistics_published_list"):
        op.execute(f"DELETE FROM {table} WHERE reference_date IN ({packed})")  # noqa: S608 - fixed names
    with op.batch_alter_table("audit_statistics_published_list") as batch:
        batch.drop_column("groups")
