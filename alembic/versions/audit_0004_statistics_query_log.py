"""audit: the analysts' statistics query log

Who asked which statistics table, when, and with which parameters (no results), as registers log
their data releases: read with audit:read through `statisticsQueryLog`.

Revision ID: audit_0004
Revises: audit_0003
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0004"
down_revision: str | Sequence[str] | None = "audit_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_statistics_query",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("hpr_number", sa.Integer(), nullable=True),
        sa.Column("org_number", sa.String(length=9), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_statistics_query_at", "audit_statistics_query", ["at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_audit_statistics_query_at", table_name="audit_statistics_query")
    op.drop_table("audit_statistics_query")
