"""flr: the sync engine's bookkeeping (`flr_sync_cursor`, `flr_sync_skip`), in the register's own database

Revision ID: flr_0005
Revises: flr_0004
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "flr_0005"
down_revision: str | Sequence[str] | None = "flr_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sync_tables(register: str) -> None:
    # The sync tables' shape is written once, in preg_0002; every register's chain reuses it.
    [source] = Path(__file__).parent.glob("preg_0002_*.py")
    spec = importlib.util.spec_from_file_location("preg_0002", source)
    assert spec is not None and spec.loader is not None  # noqa: PT018, S101 - the file sits beside this one
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.sync_tables(register)


def upgrade() -> None:
    """Apply this revision."""
    _sync_tables("flr")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("flr_sync_skip")
    op.drop_table("flr_sync_cursor")
