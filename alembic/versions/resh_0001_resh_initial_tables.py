"""resh initial tables

Revision ID: resh_0001
Revises:
Create Date: 2026-11-22 21:54:38.804985
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "resh_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("resh",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "resh_unit",
        sa.Column("resh_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=60), nullable=True),
        sa.Column("unit_type", sa.String(length=20), nullable=False),
        sa.Column("org_number", sa.String(length=9), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("resh_id", name=op.f("pk_resh_unit")),
    )
    op.create_index(op.f("ix_resh_unit_org_number"), "resh_unit", ["org_number"], unique=False)
    op.create_table(
        "resh_parent_link",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("resh_id", sa.Integer(), nullable=False),
        sa.Column("parent_resh_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_resh_id"],
            ["resh_unit.resh_id"],
            name=op.f("fk_resh_parent_link_parent_resh_id_resh_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resh_id"],
            ["resh_unit.resh_id"],
            name=op.f("fk_resh_parent_link_resh_id_resh_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resh_parent_link")),
    )
    op.create_index(
        op.f("ix_resh_parent_link_parent_resh_id"),
        "resh_parent_link",
        ["parent_resh_id"],
        unique=False,
    )
    op.create_index(op.f("ix_resh_parent_link_resh_id"), "resh_parent_link", ["resh_id"], unique=False)
    op.create_table(
        "resh_service",
        sa.Column("resh_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["resh_id"],
            ["resh_unit.resh_id"],
            name=op.f("fk_resh_service_resh_id_resh_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resh_id", "code", name=op.f("pk_resh_service")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("resh_service")
    op.drop_index(op.f("ix_resh_parent_link_resh_id"), table_name="resh_parent_link")
    op.drop_index(op.f("ix_resh_parent_link_parent_resh_id"), table_name="resh_parent_link")
    op.drop_table("resh_parent_link")
    op.drop_index(op.f("ix_resh_unit_org_number"), table_name="resh_unit")
    op.drop_table("resh_unit")
