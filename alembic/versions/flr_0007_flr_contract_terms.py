"""flr: a list's listetak, open status and fixed salary over time (`flr_gp_contract_terms`)

FLR's contract carries a list's current MaxPatients, status and IsFixedSalary; a table of a past date
needs the values of that date. One row per period `[valid_from, valid_to)` of a contract's values;
each contract starts with one period over its whole validity, holding today's values (what is known).

Revision ID: flr_0007
Revises: flr_0006
Create Date: 2026-12-03 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "flr_0007"
down_revision: str | Sequence[str] | None = "flr_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "flr_gp_contract_terms",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("max_patients", sa.Integer(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("fixed_salary", sa.Boolean(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["flr_gp_contract.id"], ondelete="CASCADE",
                                name=op.f("fk_flr_gp_contract_terms_contract_id_flr_gp_contract")),
        sa.PrimaryKeyConstraint("contract_id", "valid_from", name=op.f("pk_flr_gp_contract_terms")),
    )  # fmt: skip
    op.execute(
        "INSERT INTO flr_gp_contract_terms (contract_id, valid_from, valid_to, max_patients, is_open, fixed_salary) "
        "SELECT id, valid_from, valid_to, max_patients, is_open, fixed_salary FROM flr_gp_contract"
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("flr_gp_contract_terms")
