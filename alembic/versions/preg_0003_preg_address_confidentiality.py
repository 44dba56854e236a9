"""preg: each address period keeps its own grading (addressConfidentiality)

Persontjenesten grades every address separately (`addressConfidentiality`: Unclassified, ClientAddress,
Confidential, StrictlyConfidential) besides the person's overall `addressProtection`, which by the
contract does not cover contact (postal) addresses. The graph redacts a dated address by its own
grading as well as by the person's, so the grading is stored with the period, in the contract's words.

Revision ID: preg_0003
Revises: preg_0002
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "preg_0003"
down_revision: str | Sequence[str] | None = "preg_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("preg_address") as batch:
        batch.add_column(sa.Column("confidentiality", sa.String(length=30), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("preg_address") as batch:
        batch.drop_column("confidentiality")
