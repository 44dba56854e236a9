"""flr: the patient's birth date and gender on each list membership

FLR's patient-to-list association carries the patient as Folkeregisteret gives it. Holding the birth
date and gender on the membership lets list statistics group in FLR itself instead of looking up every
listed patient in PREG. Rows from before this revision have neither; statistics look those up in PREG.

Revision ID: flr_0002
Revises: flr_0001
Create Date: 2026-11-23 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "flr_0002"
down_revision: str | Sequence[str] | None = "flr_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("flr_list_membership") as batch:
        batch.add_column(sa.Column("patient_birth_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("patient_gender", sa.String(length=6), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("flr_list_membership") as batch:
        batch.drop_column("patient_gender")
        batch.drop_column("patient_birth_date")
