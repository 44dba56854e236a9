"""ar initial tables

Revision ID: ar_0001
Revises:
Create Date: 2026-11-22 21:54:39.881195
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ar_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("ar",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "ar_communication_party",
        sa.Column("her_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("parent_her_id", sa.Integer(), nullable=True),
        sa.Column("org_number", sa.String(length=9), nullable=True),
        sa.Column("hpr_number", sa.Integer(), nullable=True),
        sa.Column("municipality_code", sa.String(length=4), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("her_id", name=op.f("pk_ar_communication_party")),
    )
    op.create_index(
        op.f("ix_ar_communication_party_hpr_number"),
        "ar_communication_party",
        ["hpr_number"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ar_communication_party_org_number"),
        "ar_communication_party",
        ["org_number"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ar_communication_party_parent_her_id"),
        "ar_communication_party",
        ["parent_her_id"],
        unique=False,
    )
    op.create_table(
        "ar_electronic_address",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("her_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["her_id"],
            ["ar_communication_party.her_id"],
            name=op.f("fk_ar_electronic_address_her_id_ar_communication_party"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ar_electronic_address")),
    )
    op.create_index(op.f("ix_ar_electronic_address_her_id"), "ar_electronic_address", ["her_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_ar_electronic_address_her_id"), table_name="ar_electronic_address")
    op.drop_table("ar_electronic_address")
    op.drop_index(op.f("ix_ar_communication_party_parent_her_id"), table_name="ar_communication_party")
    op.drop_index(op.f("ix_ar_communication_party_org_number"), table_name="ar_communication_party")
    op.drop_index(op.f("ix_ar_communication_party_hpr_number"), table_name="ar_communication_party")
    op.drop_table("ar_communication_party")
