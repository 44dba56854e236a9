"""kodeverk initial tables

Revision ID: kodeverk_0001
Revises:
Create Date: 2026-11-22 21:54:42.426858
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kodeverk_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("kodeverk",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "kodeverk_code_system",
        sa.Column("oid", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("oid", name=op.f("pk_kodeverk_code_system")),
        sa.UniqueConstraint("name", name=op.f("uq_kodeverk_code_system_name")),
    )
    op.create_table(
        "kodeverk_code",
        sa.Column("system_oid", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_oid"],
            ["kodeverk_code_system.oid"],
            name=op.f("fk_kodeverk_code_system_oid_kodeverk_code_system"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_oid", "value", name=op.f("pk_kodeverk_code")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("kodeverk_code")
    op.drop_table("kodeverk_code_system")
