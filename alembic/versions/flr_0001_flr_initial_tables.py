"""flr initial tables

Revision ID: flr_0001
Revises:
Create Date: 2026-11-22 21:54:36.774961
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "flr_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("flr",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "flr_gp_contract",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("office_org_number", sa.String(length=9), nullable=False),
        sa.Column("municipality_code", sa.String(length=4), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("max_patients", sa.Integer(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flr_gp_contract")),
    )
    op.create_index(
        op.f("ix_flr_gp_contract_municipality_code"),
        "flr_gp_contract",
        ["municipality_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_flr_gp_contract_office_org_number"),
        "flr_gp_contract",
        ["office_org_number"],
        unique=False,
    )
    op.create_table(
        "flr_gp_period",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("hpr_number", sa.Integer(), nullable=False),
        sa.Column("relationship", sa.String(length=4), nullable=False),
        sa.Column("substitute_for_hpr_number", sa.Integer(), nullable=True),
        sa.Column("working_percentage", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["flr_gp_contract.id"],
            name=op.f("fk_flr_gp_period_contract_id_flr_gp_contract"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flr_gp_period")),
    )
    op.create_index(op.f("ix_flr_gp_period_contract_id"), "flr_gp_period", ["contract_id"], unique=False)
    op.create_index(op.f("ix_flr_gp_period_hpr_number"), "flr_gp_period", ["hpr_number"], unique=False)
    op.create_table(
        "flr_list_membership",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("gp_her_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["flr_gp_contract.id"],
            name=op.f("fk_flr_list_membership_contract_id_flr_gp_contract"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flr_list_membership")),
    )
    op.create_index(
        "ix_flr_list_membership_contract_id",
        "flr_list_membership",
        ["contract_id", "valid_from"],
        unique=False,
    )
    op.create_index("ix_flr_list_membership_nin", "flr_list_membership", ["nin", "valid_from"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_flr_list_membership_nin", table_name="flr_list_membership")
    op.drop_index("ix_flr_list_membership_contract_id", table_name="flr_list_membership")
    op.drop_table("flr_list_membership")
    op.drop_index(op.f("ix_flr_gp_period_hpr_number"), table_name="flr_gp_period")
    op.drop_index(op.f("ix_flr_gp_period_contract_id"), table_name="flr_gp_period")
    op.drop_table("flr_gp_period")
    op.drop_index(op.f("ix_flr_gp_contract_office_org_number"), table_name="flr_gp_contract")
    op.drop_index(op.f("ix_flr_gp_contract_municipality_code"), table_name="flr_gp_contract")
    op.drop_table("flr_gp_contract")
