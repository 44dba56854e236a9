"""preg initial tables

Revision ID: preg_0001
Revises:
Create Date: 2026-11-22 21:54:25.353244
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "preg_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("preg",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "preg_person",
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=4), nullable=True),
        sa.Column("postal_place", sa.String(length=100), nullable=True),
        sa.Column("municipality_code", sa.String(length=4), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("address_protection", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("nin", name=op.f("pk_preg_person")),
    )
    op.create_index(op.f("ix_preg_person_municipality_code"), "preg_person", ["municipality_code"], unique=False)
    op.create_table(
        "preg_parent_relation",
        sa.Column("child_nin", sa.String(length=11), nullable=False),
        sa.Column("parent_nin", sa.String(length=11), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_nin"],
            ["preg_person.nin"],
            name=op.f("fk_preg_parent_relation_child_nin_preg_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_nin"],
            ["preg_person.nin"],
            name=op.f("fk_preg_parent_relation_parent_nin_preg_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("child_nin", "parent_nin", name=op.f("pk_preg_parent_relation")),
    )
    op.create_index("ix_preg_parent_relation_parent_nin", "preg_parent_relation", ["parent_nin"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_preg_parent_relation_parent_nin", table_name="preg_parent_relation")
    op.drop_table("preg_parent_relation")
    op.drop_index(op.f("ix_preg_person_municipality_code"), table_name="preg_person")
    op.drop_table("preg_person")
