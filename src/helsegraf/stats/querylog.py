"""The analysts' query log: who asked for which statistics table, when, with which parameters.

A row is written before the table leaves (a query whose log row cannot be written is refused with
503 SERVICE_UNAVAILABLE and no data), as the access log is for releases of personal data. Refused and
failed attempts are logged too, with their outcome (BAD_USER_INPUT, QUERY_TOO_COMPLEX, INTERNAL; OK for
an answered table), so that probing is visible. Results are never logged, only the arguments; a string
the caller gave is cut to 40 characters and identity numbers in it are masked.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, select

from helsegraf.models.audit import StatisticsQuery
from helsegraf.registers import AUDIT

if TYPE_CHECKING:
    from collections.abc import Sequence

    from helsegraf.db import Database

QUERY_LOG = cast("Table", StatisticsQuery.__table__)  # typed as FromClause; a model with __tablename__ maps a Table
OUTCOME = "outcome"  # kept in the parameters' JSON: the key an entry's outcome is read from


def _plain(value: Any) -> Any:
    """Return a value as the log keeps it: enums by name, dates as ISO text, strings cut and masked."""
    from helsegraf.http.observability import mask_identity_numbers  # noqa: PLC0415 - http imports the schema

    if isinstance(value, Enum):
        return value.name
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return mask_identity_numbers(value[:40])
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value[:400]]
    return value


def as_logged(parameters: dict[str, Any], outcome: str) -> dict[str, Any]:
    """Return an attempt's parameters with its outcome, as the log keeps them."""
    return {**{k: _plain(v) for k, v in parameters.items()}, OUTCOME: outcome}


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
