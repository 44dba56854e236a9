"""The access log ("logg over bruk"): written in one statement per request, read page by page.

Written before the response leaves: if the write fails, the personal data is not released.
The API only ever appends to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from aiodataloader import DataLoader
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Row

from helsegraf.authz.principal import Principal
from helsegraf.authz.release import Released, Subject
from helsegraf.db import Database
from helsegraf.models.audit import AccessLogEntry
from helsegraf.registers import AUDIT

LOG = cast("Table", AccessLogEntry.__table__)  # typed as FromClause; a model with __tablename__ maps a Table
COUNTS = select(LOG.c.nin, func.count().label("n")).group_by(LOG.c.nin)


class AccessLogUnavailableError(Exception):
    """Raised when the access log cannot be written: the response must not release personal data."""


async def write_entries(
    db: Database,
    *,
    principal: Principal,
    request_id: str,
    purpose: str | None,
    released: Mapping[Subject, Released],
    at: datetime,
) -> int:
    """Append one entry per person (or health worker without a nin) whose data the response releases.

    Actor fields are stored whole; the caller's request id and purpose were checked when the request
    arrived (http/context.py), and token claims when the token was verified.
    """
    if not released:
        return 0
    actor = {
        "at": at, "request_id": request_id, "subject": principal.subject, "role": principal.role,
        "hpr_number": principal.hpr_number, "org_number": principal.org_number, "client_id": principal.client_id,
        "purpose": purpose,
    }  # fmt: skip
    subjects = sorted(released, key=lambda s: (isinstance(s, int), str(s)))
    varying: dict[str, list[Any]] = {
        "nin": [s if isinstance(s, str) else None for s in subjects],
        "subject_hpr_number": [s if isinstance(s, int) else None for s in subjects],
        "fields": [" ".join(sorted(released[s].groups)) for s in subjects],
        "scopes": [" ".join(sorted(released[s].grounds)) for s in subjects],
    }
    try:
        await db.append(AUDIT, LOG, actor, varying)
    except Exception as exc:
        msg = "the access log could not be written"
        raise AccessLogUnavailableError(msg) from exc
    return len(subjects)


class AccessLogLoader(DataLoader):  # type: ignore[type-arg]
    """AccessLogByNinLoader: pages of a person's access log, newest first, for many persons at once.

    Keys are `(nin, before_id, first)`; persons sharing the page arguments are fetched together with a
    window function, `first + 1` rows each. Totals come from `AccessLogCountLoader`.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=1000)
        self.db = db

    async def batch_load_fn(self, keys: Sequence[tuple[str, int | None, int]]) -> list[list[Row[Any]]]:
        """Fetch each page shape's rows and split them per person."""
        shapes: dict[tuple[int | None, int], list[str]] = defaultdict(list)
        for nin, before_id, first in keys:
            shapes[before_id, first].append(nin)
        found: dict[tuple[str, int | None, int], list[Row[Any]]] = defaultdict(list)
        for (before_id, first), nins in shapes.items():
            rank = func.row_number().over(partition_by=LOG.c.nin, order_by=LOG.c.id.desc()).label("rank")
            ranked = select(LOG, rank).where(self.db.in_keys(AUDIT, LOG.c.nin, nins))
            if before_id is not None:
                ranked = ranked.where(LOG.c.id < before_id)
            sub = ranked.subquery()
            statement = select(sub).where(sub.c.rank <= first + 1).order_by(sub.c.nin, sub.c.id.desc())
            for row in await self.db.fetch(AUDIT, statement):
                found[row.nin, before_id, first].append(row)
        return [found.get(key, []) for key in keys]


class AccessLogCountLoader(DataLoader):  # type: ignore[type-arg]
    """AccessLogCountByNinLoader: how many entries each person's access log has."""

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=10_000)
        self.db = db

    async def batch_load_fn(self, nins: Sequence[str]) -> list[int]:
        """Count the entries of a batch of persons."""
        counts = {row.nin: row.n for row in await self.db.fetch_by_keys(AUDIT, COUNTS, LOG.c.nin, nins)}
        return [int(counts.get(nin, 0)) for nin in nins]
