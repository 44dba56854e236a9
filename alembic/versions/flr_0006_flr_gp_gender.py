"""flr: the GP's gender on each GP period, as FLR holds it

FLR's GPOnContractAssociation carries the GP as a Person with Sex (code system 3101). A GP's gender is
public (helsenorge shows it to everyone choosing a GP; Helsedirektoratet publishes the share of GPs who
are women): the graph publishes it for a doctor serving a list, and the statistics count GPs by gender
exactly from it. Rows from before this revision have none; the statistics look those up in PREG (through
HPR's nin) until the contract is synced again.

Revision ID: flr_0006
Revises: flr_0005
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "flr_0006"
down_revision: str | Sequence[str] | None = "flr_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("flr_gp_period") as batch:
        batch.add_column(sa.Column("gp_gender", sa.String(length=6), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("flr_gp_period") as batch:
        batch.drop_column("gp_gender")
