"""audit: actor fields stored whole, the scopes a release relied on, and health workers without a nin

Actor fields (subject, client id, request id, purpose) are stored as sent: unbounded text instead of
VARCHAR(n), which PostgreSQL's explicit casts truncated silently. `scopes` records what the caller's
token held that the release relied on (or the policy that granted it: `self`, `parent`). A release of
HPR data about a health worker registered without a nin (ManglerNIN) is logged under the HPR number
(`subject_hpr_number`); `nin` is then null.

Revision ID: audit_0002
Revises: audit_0001
Create Date: 2026-12-01 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0002"
down_revision: str | Sequence[str] | None = "audit_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHOLE = ("request_id", "subject", "role", "client_id", "purpose", "fields")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("audit_access_log") as batch:
        for name in WHOLE:
            batch.alter_column(name, type_=sa.Text())
        batch.alter_column("nin", existing_type=sa.String(length=11), nullable=True)
        batch.add_column(sa.Column("subject_hpr_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=True))
    op.create_index(
        "ix_audit_access_log_subject_hpr_number_at", "audit_access_log", ["subject_hpr_number", "at"], unique=False
    )


def downgrade() -> None:
    """Revert this revision (actor fields longer than the old widths are cut)."""
    op.drop_index("ix_audit_access_log_subject_hpr_number_at", table_name="audit_access_log")
    op.execute("DELETE FROM audit_access_log WHERE nin IS NULL")
    widths = {"request_id": 40, "subject": 200, "role": 40, "client_id": 200, "purpose": 200, "fields": 400}
    with op.batch_alter_table("audit_access_log") as batch:
        batch.drop_column("scopes")
        batch.drop_column("subject_hpr_number")
        batch.alter_column("nin", existing_type=sa.String(length=11), nullable=False)
        for name, width in widths.items():
            batch.alter_column(name, type_=sa.String(length=width), postgresql_using=f"left({name}, {width})")
