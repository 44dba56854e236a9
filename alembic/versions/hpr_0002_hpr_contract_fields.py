"""hpr: what HPR's contract holds beyond the first model

The person's ManglerNIN, death date, gender, SistOppdatert and ErstattetAvHprNummer (merged HPR
numbers); alternative ids; administrative reactions; on approvals, specialities and requisition
rights the closing status (AvsluttetStatus); additional competences (tilleggskompetanser) and
conditions (vilkår); suspensions of a single speciality or requisition right. Every new column is
nullable (or defaulted), so rows from before this revision stay valid.

Revision ID: hpr_0002
Revises: hpr_0001
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hpr_0002"
down_revision: str | Sequence[str] | None = "hpr_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _approval_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["approval_id"], ["hpr_approval.id"], name=op.f(f"fk_{table}_approval_id_hpr_approval"), ondelete="CASCADE"
    )


def _person_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["hpr_number"], ["hpr_person.hpr_number"], name=op.f(f"fk_{table}_hpr_number_hpr_person"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("hpr_person") as batch:
        batch.add_column(sa.Column("lacks_nin", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("death_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("gender", sa.String(length=1), nullable=True))
        batch.add_column(sa.Column("last_changed", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_hpr_person_replaced_by"), ["replaced_by"], unique=False)
    with op.batch_alter_table("hpr_approval") as batch:
        batch.add_column(sa.Column("closing_status", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("closing_status_text", sa.String(length=200), nullable=True))
    for table in ("hpr_speciality", "hpr_requisition_right"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("closing_status", sa.String(length=8), nullable=True))
    with op.batch_alter_table("hpr_suspension") as batch:
        batch.add_column(sa.Column("speciality_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("requisition_right_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "hpr_alternative_id",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hpr_number", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        _person_fk("hpr_alternative_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_alternative_id")),
    )
    op.create_index(op.f("ix_hpr_alternative_id_hpr_number"), "hpr_alternative_id", ["hpr_number"], unique=False)
    op.create_table(
        "hpr_administrative_reaction",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hpr_number", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        _person_fk("hpr_administrative_reaction"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_administrative_reaction")),
    )
    op.create_index(
        op.f("ix_hpr_administrative_reaction_hpr_number"), "hpr_administrative_reaction", ["hpr_number"], unique=False
    )
    op.create_table(
        "hpr_additional_competence",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("approval_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("closing_status", sa.String(length=8), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        _approval_fk("hpr_additional_competence"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_additional_competence")),
    )
    op.create_index(
        op.f("ix_hpr_additional_competence_approval_id"), "hpr_additional_competence", ["approval_id"], unique=False
    )
    op.create_table(
        "hpr_condition",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("approval_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.Column("free_text", sa.String(length=500), nullable=True),
        _approval_fk("hpr_condition"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hpr_condition")),
    )
    op.create_index(op.f("ix_hpr_condition_approval_id"), "hpr_condition", ["approval_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    for table in ("hpr_condition", "hpr_additional_competence"):
        op.drop_index(op.f(f"ix_{table}_approval_id"), table_name=table)
        op.drop_table(table)
    for table in ("hpr_administrative_reaction", "hpr_alternative_id"):
        op.drop_index(op.f(f"ix_{table}_hpr_number"), table_name=table)
        op.drop_table(table)
    with op.batch_alter_table("hpr_suspension") as batch:
        batch.drop_column("requisition_right_id")
        batch.drop_column("speciality_id")
    for table in ("hpr_speciality", "hpr_requisition_right"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("closing_status")
    with op.batch_alter_table("hpr_approval") as batch:
        batch.drop_column("closing_status_text")
        batch.drop_column("closing_status")
    with op.batch_alter_table("hpr_person") as batch:
        batch.drop_index(batch.f("ix_hpr_person_replaced_by"))
        for column in ("replaced_by", "last_changed", "gender", "death_date", "lacks_nin"):
            batch.drop_column(column)
