"""hpr initial tables

Revision ID: hpr_0001
Revises:
Create Date: 2026-11-22 21:54:37.857110
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hpr_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("hpr",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "hpr_person",
        sa.Column("hpr_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("nin", sa.String(length=11), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("hpr_number", name=op.f("pk_hpr_person")),
    )
    op.create_index(op.f("ix_hpr_person_nin"), "hpr_person", ["nin"], unique=False)
    op.create_table(
        "hpr_approval",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hpr_number", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=4), nullable=False),
        sa.Column("authorization", sa.String(length=4), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hpr_number"],
            ["hpr_person.hpr_number"],
            name=op.f("fk_hpr_approval_hpr_number_hpr_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_approval")),
    )
    op.create_index(op.f("ix_hpr_approval_hpr_number"), "hpr_approval", ["hpr_number"], unique=False)
    op.create_table(
        "hpr_requisition_right",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("approval_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["hpr_approval.id"],
            name=op.f("fk_hpr_requisition_right_approval_id_hpr_approval"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_requisition_right")),
    )
    op.create_index(
        op.f("ix_hpr_requisition_right_approval_id"),
        "hpr_requisition_right",
        ["approval_id"],
        unique=False,
    )
    op.create_table(
        "hpr_speciality",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("approval_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["hpr_approval.id"],
            name=op.f("fk_hpr_speciality_approval_id_hpr_approval"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_speciality")),
    )
    op.create_index(op.f("ix_hpr_speciality_approval_id"), "hpr_speciality", ["approval_id"], unique=False)
    op.create_table(
        "hpr_suspension",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("approval_id", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["hpr_approval.id"],
            name=op.f("fk_hpr_suspension_approval_id_hpr_approval"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_suspension")),
    )
    op.create_index(op.f("ix_hpr_suspension_approval_id"), "hpr_suspension", ["approval_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_hpr_suspension_approval_id"), table_name="hpr_suspension")
    op.drop_table("hpr_suspension")
    op.drop_index(op.f("ix_hpr_speciality_approval_id"), table_name="hpr_speciality")
    op.drop_table("hpr_speciality")
    op.drop_index(op.f("ix_hpr_requisition_right_approval_id"), table_name="hpr_requisition_right")
    op.drop_table("hpr_requisition_right")
    op.drop_index(op.f("ix_hpr_approval_hpr_number"), table_name="hpr_approval")
    op.drop_table("hpr_approval")
    op.drop_index(op.f("ix_hpr_person_nin"), table_name="hpr_person")
    op.drop_table("hpr_person")
