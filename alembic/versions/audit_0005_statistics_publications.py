"""audit: statistics publications, each reference date's counts of persons made once

The first table that needs a reference date's counts of listed persons stores the grouped scan it
made (listed persons and key sums per list, age group and gender, and the lists' attributes at the
date); every later table of that date is answered from it, so a correction registered after the
first publication never moves that date's published counts (docs/statistics.md).

Revision ID: audit_0005
Revises: audit_0004
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0005"
down_revision: str | Sequence[str] | None = "audit_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_statistics_publication",
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference_date", "key_id", name=op.f("pk_audit_statistics_publication")),
    )
    op.create_table(
        "audit_statistics_published_list",
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("municipality_code", sa.String(length=4), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("fixed_salary", sa.Boolean(), nullable=False),
        sa.Column("max_patients", sa.Integer(), nullable=False),
        sa.Column("has_gp", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "reference_date", "key_id", "contract_id", name=op.f("pk_audit_statistics_published_list")
        ),
    )
    op.create_table(
        "audit_statistics_published_cell",
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("age_group", sa.String(length=5), nullable=False),
        sa.Column("gender", sa.String(length=6), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("key_sum", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "reference_date",
            "key_id",
            "contract_id",
            "age_group",
            "gender",
            name=op.f("pk_audit_statistics_published_cell"),
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("audit_statistics_published_cell")
    op.drop_table("audit_statistics_published_list")
    op.drop_table("audit_statistics_publication")
