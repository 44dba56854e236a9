"""preg: restrictions of legal capacity (deprivedLegalAuthority, legalAuthority)

Persontjenesten says when a person is deprived of their legal capacity (`deprivedLegalAuthority`,
fratatt rettslig handleevne) or has it limited (`legalAuthority`, `legalAuthorityScope` Limited),
each over a period. One table keeps the periods, by person, kind and start.

Revision ID: preg_0006
Revises: preg_0005
Create Date: 2026-12-03 11:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "preg_0006"
down_revision: str | Sequence[str] | None = "preg_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "preg_legal_capacity",
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("nin", "kind", "valid_from", name=op.f("pk_preg_legal_capacity")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("preg_legal_capacity")
