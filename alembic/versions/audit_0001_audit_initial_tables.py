"""audit initial tables

Revision ID: audit_0001
Revises:
Create Date: 2026-11-22 21:54:43.554428
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_access_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("hpr_number", sa.Integer(), nullable=True),
        sa.Column("org_number", sa.String(length=9), nullable=True),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("fields", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_access_log")),
    )
    op.create_index("ix_audit_access_log_nin_at", "audit_access_log", ["nin", "at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_audit_access_log_nin_at", table_name="audit_access_log")
    op.drop_table("audit_access_log")
