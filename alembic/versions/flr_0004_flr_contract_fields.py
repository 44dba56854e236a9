"""flr: what a GP contract, a GP's period and a list membership hold in FLR's contract

Contract status (7751) beside is_open, waiting list length, common list, agreement date, end reason,
UpdatedOn; co-operating municipalities and out-of-office locations (utekontor); WorkingOnDays on a
GP's period; begin and end reasons (7754) and UpdatedOn on list memberships. All nullable.

Revision ID: flr_0004
Revises: flr_0003
Create Date: 2026-12-02 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "flr_0004"
down_revision: str | Sequence[str] | None = "flr_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "flr_gp_contract": (
        ("status", sa.String(length=8)),
        ("patients_on_waiting_list", sa.Integer()),
        ("common_list", sa.Boolean()),
        ("agreement_date", sa.Date()),
        ("end_reason", sa.String(length=8)),
        ("end_reason_text", sa.String(length=200)),
        ("updated_on", sa.DateTime(timezone=True)),
    ),
    "flr_gp_period": (("working_on_days", sa.String(length=60)),),
    "flr_list_membership": (
        ("begin_code", sa.String(length=4)),
        ("end_code", sa.String(length=4)),
        ("updated_on", sa.DateTime(timezone=True)),
    ),
}


def _contract_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["contract_id"],
        ["flr_gp_contract.id"],
        name=op.f(f"fk_{table}_contract_id_flr_gp_contract"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Apply this revision."""
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, kind in columns:
                batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "flr_coop_municipality",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("municipality_code", sa.String(length=4), nullable=False),
        _contract_fk("flr_coop_municipality"),
        sa.PrimaryKeyConstraint("contract_id", "municipality_code", name=op.f("pk_flr_coop_municipality")),
    )
    op.create_table(
        "flr_out_of_office",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=4), nullable=True),
        sa.Column("postal_place", sa.String(length=100), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        _contract_fk("flr_out_of_office"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flr_out_of_office")),
    )
    op.create_index(op.f("ix_flr_out_of_office_contract_id"), "flr_out_of_office", ["contract_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_flr_out_of_office_contract_id"), table_name="flr_out_of_office")
    op.drop_table("flr_out_of_office")
    op.drop_table("flr_coop_municipality")
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, _kind in reversed(columns):
                batch.drop_column(name)
