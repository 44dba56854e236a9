"""resh: what a RESH unit holds in the contract

Display name, organisational level (8628) and designation (8624) as codes, the treatment facility
(behandlingssted) and top organisation, LastChanged; on services the code system, owner and
validity. New columns are nullable: rows from before this revision stay valid.

Revision ID: resh_0002
Revises: resh_0001
Create Date: 2026-12-02 06:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "resh_0002"
down_revision: str | Sequence[str] | None = "resh_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT_COLUMNS = (
    ("display_name", sa.String(length=300)),
    ("organizational_level", sa.String(length=2)),
    ("organizational_designation", sa.String(length=2)),
    ("treatment_facility_org_number", sa.String(length=9)),
    ("top_org_number", sa.String(length=9)),
    ("top_org_resh_id", sa.Integer()),
    ("last_changed", sa.DateTime(timezone=True)),
)
SERVICE_COLUMNS = (
    ("code_system", sa.String(length=10)),
    ("owner_resh_id", sa.Integer()),
    ("valid_from", sa.Date()),
    ("valid_to", sa.Date()),
)


def upgrade() -> None:
    """Apply this revision."""
    for table, columns in (("resh_unit", UNIT_COLUMNS), ("resh_service", SERVICE_COLUMNS)):
        with op.batch_alter_table(table) as batch:
            for name, kind in columns:
                batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    for table, columns in (("resh_unit", UNIT_COLUMNS), ("resh_service", SERVICE_COLUMNS)):
        with op.batch_alter_table(table) as batch:
            for name, _kind in reversed(columns):
                batch.drop_column(name)
