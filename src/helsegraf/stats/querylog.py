"""The analysts' query log: who asked for which statistics table, when, with which parameters.

A row is written before the table leaves (a query whose log row cannot be written is refused), as
the access log is for releases of personal data. Results are never logged, only the arguments.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from helsegraf.models.audit import StatisticsQuery
from helsegraf.registers import AUDIT

if TYPE_CHECKING:
    from collections.abc import Sequence

    from helsegraf.db import Database

QUERY_LOG = StatisticsQuery.__table__


async def record(db: Database, *, principal: Any, request_id: str, purpose: str | None, table: str,
                 parameters: dict[str, Any]) -> None:  # fmt: skip
    """Write one query-log row."""
    shared = {
        "at": datetime.now(UTC),
        "request_id": request_id or "",
        "subject": getattr(principal, "subject", None),
        "role": getattr(principal, "role", None),
        "hpr_number": getattr(principal, "hpr_number", None),
        "org_number": getattr(principal, "org_number", None),
        "client_id": getattr(principal, "client_id", None),
        "purpose": purpose,
    }
    await db.append(AUDIT, QUERY_LOG, shared, {"table_name": [table],
                                               "parameters": [json.dumps(parameters, sort_keys=True)]})  # fmt: skip


async def page(db: Database, before_id: int | None, size: int) -> tuple[Sequence[Any], int]:
    """Return a page of the log, newest first (one row more than asked, to tell a next page), and its length."""
    statement = select(QUERY_LOG).order_by(QUERY_LOG.c.id.desc()).limit(size + 1)
    if before_id is not None:
        statement = statement.where(QUERY_LOG.c.id < before_id)
    rows = await db.fetch(AUDIT, statement)
    total = (await db.fetch(AUDIT, select(func.count()).select_from(QUERY_LOG)))[0][0]
    return rows, int(total)
