"""bed initial tables

Revision ID: bed_0001
Revises:
Create Date: 2026-11-22 21:54:41.104781
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bed_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("bed",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "bed_organization",
        sa.Column("org_number", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_form", sa.String(length=8), nullable=False),
        sa.Column("industry_code", sa.String(length=8), nullable=True),
        sa.Column("parent_org_number", sa.String(length=9), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=4), nullable=True),
        sa.Column("postal_place", sa.String(length=100), nullable=True),
        sa.Column("municipality_code", sa.String(length=4), nullable=True),
        sa.PrimaryKeyConstraint("org_number", name=op.f("pk_bed_organization")),
    )
    op.create_index(
        op.f("ix_bed_organization_municipality_code"),
        "bed_organization",
        ["municipality_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_bed_organization_parent_org_number"),
        "bed_organization",
        ["parent_org_number"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_bed_organization_parent_org_number"), table_name="bed_organization")
    op.drop_index(op.f("ix_bed_organization_municipality_code"), table_name="bed_organization")
    op.drop_table("bed_organization")
