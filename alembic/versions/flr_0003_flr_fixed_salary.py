"""flr: fixed salary (fastlønn) on each GP contract

Helsedirektoratet's key figures for the GP scheme report the share of lists whose GP is paid a fixed
salary by the municipality rather than per capita and fee for service. Existing rows become false.

Revision ID: flr_0003
Revises: flr_0002
Create Date: 2026-12-02 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "flr_0003"
down_revision: str | Sequence[str] | None = "flr_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("flr_gp_contract") as batch:
        batch.add_column(sa.Column("fixed_salary", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("flr_gp_contract") as batch:
        batch.drop_column("fixed_salary")
