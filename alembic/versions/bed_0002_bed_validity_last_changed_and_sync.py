"""bed: a unit's validity (registered until deleted), last change from the source, sync cursor

Enhetsregisteret's deletions (`slettedato`, `Sletting`/`Fjernet` updates) close a unit's validity
instead of erasing its row. `bed_sync_cursor` and `bed_sync_skip` are the sync engine's bookkeeping.

Revision ID: bed_0002
Revises: bed_0001
Create Date: 2026-12-02 05:20:00
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "bed_0002"
down_revision: str | Sequence[str] | None = "bed_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sync_tables(register: str) -> None:
    # The sync tables' shape is written once, in preg_0002; every register's chain reuses it.
    [source] = Path(__file__).parent.glob("preg_0002_*.py")
    spec = importlib.util.spec_from_file_location("preg_0002", source)
    assert spec is not None and spec.loader is not None  # noqa: S101 - the file sits beside this one
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.sync_tables(register)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("bed_organization") as batch:
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("last_changed", sa.DateTime(timezone=True), nullable=True))
    _sync_tables("bed")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("bed_sync_skip")
    op.drop_table("bed_sync_cursor")
    with op.batch_alter_table("bed_organization") as batch:
        for column in ("last_changed", "valid_to", "valid_from"):
            batch.drop_column(column)
