"""preg: Persontjenesten's contract fields, address history, responsibility, guardianship, sync cursor

The person gains what the contract has and the model lacked: Persontjenesten's own person id, the
protection level, marital status and citizenship in the contract's words, `replaced_by` for identity
redirects (a changed nin, a merged duplicate) and `last_changed` from the source. Parent relations lose their
foreign keys: a change feed may deliver a child before its parents. New tables hold
the identification numbers with type and status, address periods (residential, present, postal) with
half-open validity, parental responsibility and guardianship. `preg_sync_cursor` and `preg_sync_skip`
are the sync engine's bookkeeping, in PREG's own database.

Revision ID: preg_0002
Revises: preg_0001
Create Date: 2026-12-02 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "preg_0002"
down_revision: str | Sequence[str] | None = "preg_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def sync_tables(register: str) -> None:
    """Create a register's sync cursor and skip tables (the shape of models.base.sync_tables)."""
    op.create_table(
        f"{register}_sync_cursor",
        sa.Column("feed", sa.String(length=40), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("source_head", sa.BigInteger(), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f(f"pk_{register}_sync_cursor")),
    )
    op.create_table(
        f"{register}_sync_skip",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feed", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{register}_sync_skip")),
    )


def upgrade() -> None:
    """Apply this revision."""
    # A change feed delivers a child before its parents as often as after: the relation's ends are
    # persons that may arrive later, so they are no longer foreign keys (nothing is deleted either).
    with op.batch_alter_table("preg_parent_relation") as batch:
        batch.drop_constraint(op.f("fk_preg_parent_relation_child_nin_preg_person"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_preg_parent_relation_parent_nin_preg_person"), type_="foreignkey")
    with op.batch_alter_table("preg_person") as batch:
        batch.add_column(sa.Column("person_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("protection_level", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("marital_status", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("citizenship", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.String(length=11), nullable=True))
        batch.add_column(sa.Column("last_changed", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(op.f("ix_preg_person_person_id"), ["person_id"], unique=False)
        batch.create_index(op.f("ix_preg_person_replaced_by"), ["replaced_by"], unique=False)
    op.create_table(
        "preg_identification_number",
        sa.Column("number", sa.String(length=11), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("number_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("number", "person_id", name=op.f("pk_preg_identification_number")),
    )
    op.create_index(
        op.f("ix_preg_identification_number_person_id"), "preg_identification_number", ["person_id"], unique=False
    )
    op.create_table(
        "preg_address",
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=4), nullable=True),
        sa.Column("postal_place", sa.String(length=100), nullable=True),
        sa.Column("municipality_code", sa.String(length=4), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("nin", "kind", "valid_from", name=op.f("pk_preg_address")),
    )
    op.create_table(
        "preg_parental_responsibility",
        sa.Column("child_nin", sa.String(length=11), nullable=False),
        sa.Column("responsible_nin", sa.String(length=11), nullable=False),
        sa.Column("responsibility_type", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("child_nin", "responsible_nin", name=op.f("pk_preg_parental_responsibility")),
    )
    op.create_index(
        "ix_preg_parental_responsibility_responsible_nin",
        "preg_parental_responsibility",
        ["responsible_nin"],
        unique=False,
    )
    op.create_table(
        "preg_guardianship",
        sa.Column("nin", sa.String(length=11), nullable=False),
        sa.Column("guardian_nin", sa.String(length=11), nullable=False),
        sa.Column("guardianship_type", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("nin", "guardian_nin", name=op.f("pk_preg_guardianship")),
    )
    sync_tables("preg")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("preg_sync_skip")
    op.drop_table("preg_sync_cursor")
    op.drop_table("preg_guardianship")
    op.drop_index("ix_preg_parental_responsibility_responsible_nin", table_name="preg_parental_responsibility")
    op.drop_table("preg_parental_responsibility")
    op.drop_table("preg_address")
    op.drop_index(op.f("ix_preg_identification_number_person_id"), table_name="preg_identification_number")
    op.drop_table("preg_identification_number")
    with op.batch_alter_table("preg_person") as batch:
        batch.drop_index(op.f("ix_preg_person_replaced_by"))
        batch.drop_index(op.f("ix_preg_person_person_id"))
        for column in ("last_changed", "replaced_by", "citizenship", "marital_status", "protection_level", "person_id"):
            batch.drop_column(column)
    with op.batch_alter_table("preg_parent_relation") as batch:
        for column in ("child_nin", "parent_nin"):
            batch.create_foreign_key(
                op.f(f"fk_preg_parent_relation_{column}_preg_person"), "preg_person", [column], ["nin"], ondelete="CASCADE"
            )
