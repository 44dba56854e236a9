"""The access log ("logg over bruk"): written in one statement per request, read page by page.

Written before the response leaves: if the write fails, the personal data is not released.
The API only ever appends to it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from aiodataloader import DataLoader
from sqlalchemy import Select, Table, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
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


def entry_rows(
    *,
    principal: Principal,
    request_id: str,
    purpose: str | None,
    released: Mapping[Subject, Released],
    at: datetime,
) -> dict[str, list[Any]]:
    """Return the access-log rows of one response, column by column: one row per person it released.

    Actor fields are stored whole; the caller's request id and purpose were checked when the request
    arrived (http/context.py), and token claims when the token was verified.
    """
    # Identity numbers first, then HPR numbers (of health workers without one), each in text order.
    subjects: list[Any] = sorted(s for s in released if not isinstance(s, int))
    subjects += sorted((s for s in released if isinstance(s, int)), key=str)
    actor = {
        "at": at, "request_id": request_id, "subject": principal.subject, "role": principal.role,
        "hpr_number": principal.hpr_number, "org_number": principal.org_number, "client_id": principal.client_id,
        "purpose": purpose,
    }  # fmt: skip
    rows: dict[str, list[Any]] = {name: [value] * len(subjects) for name, value in actor.items()}
    rows["nin"] = [s if isinstance(s, str) else None for s in subjects]
    rows["subject_hpr_number"] = [s if isinstance(s, int) else None for s in subjects]
    rows["fields"] = [_words(released[s].groups) for s in subjects]
    rows["scopes"] = [_words(released[s].grounds) for s in subjects]
    return rows


def _words(names: set[str]) -> str:
    """Return names sorted and space-separated (the log's field groups and scopes)."""
    return " ".join(sorted(names)) if len(names) > 1 else next(iter(names), "")


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


class GroupCommit:
    """Writes the access-log rows of concurrent requests in one transaction: a group commit.

    A durable commit is the largest single cost of an authorised request. As PostgreSQL does for its
    WAL, requests that arrive while a commit is in flight wait for it, and are then written together in
    the next one: a request alone is written at once (it pays one task switch for the grouping), and
    under load one commit serves many requests. Every request still waits for the commit that holds its
    rows before its response may leave, and a failed commit fails every request in it (fail-closed).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: list[tuple[dict[str, list[Any]], asyncio.Future[None]]] = []
        self._busy = False  # a commit is in flight (a request's own, or the group's after it)
        self._group: asyncio.Task[None] | None = None
        self.commits = 0  # for the benchmark: how many commits served how many requests

    async def write(self, rows: dict[str, list[Any]]) -> None:
        """Return once `rows` are committed; raise AccessLogUnavailableError when they could not be."""
        if not next(iter(rows.values()), None):
            return
        if self._busy:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.add_done_callback(_retrieved)  # a request that gave up leaves no unretrieved failure behind
            self._waiting.append((rows, done))
            await asyncio.shield(done)  # a request that gives up still has its rows written (they may be on the way)
            return
        # Nothing in flight: this request commits its own rows at once, paying nothing for the grouping.
        self._busy = True
        try:
            await self._commit(rows)
        finally:
            if self._waiting:
                self._group = asyncio.create_task(self._write_waiting())  # it clears _busy when it ends
            else:
                self._busy = False

    async def _commit(self, rows: dict[str, list[Any]]) -> None:
        try:
            await self.db.append(AUDIT, LOG, {}, rows)
        except Exception as exc:
            msg = "the access log could not be written"
            raise AccessLogUnavailableError(msg) from exc
        finally:
            self.commits += 1

    async def _write_waiting(self) -> None:
        """Commit everything that queued meanwhile, group by group, until no request is waiting."""
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                merged = {name: [v for rows, _ in group for v in rows[name]] for name in group[0][0]}
                try:
                    await self._commit(merged)
                except AccessLogUnavailableError as exc:
                    for _, done in group:
                        done.set_exception(exc)
                else:
                    for _, done in group:
                        done.set_result(None)
        finally:
            self._busy = False


class AccessLogLoader(DataLoader):  # type: ignore[type-arg]
    """AccessLogByNinLoader: pages of a person's access log, newest first, for many persons at once.

    Keys are `(numbers, before_id, first)`: a person's log is the entries under every number they have
    had (a replaced fødselsnummer's entries stay theirs). Persons sharing the page arguments are fetched
    together, `first + 1` rows per number, and each person's page is the newest of their numbers' rows.
    Totals come from `AccessLogCountLoader`.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=1000)
        self.db = db

    async def batch_load_fn(self, keys: Sequence[tuple[tuple[str, ...], int | None, int]]) -> list[list[Row[Any]]]:
        """Fetch each page shape's rows and split them per person."""
        shapes: dict[tuple[int | None, int], set[str]] = defaultdict(set)
        for numbers, before_id, first in keys:
            shapes[before_id, first].update(numbers)
        found: dict[tuple[str, int | None, int], list[Row[Any]]] = defaultdict(list)
        for (before_id, first), shape_numbers in shapes.items():
            nins = sorted(shape_numbers)
            if self.db.is_postgres(AUDIT):
                for row in await self.db.fetch(AUDIT, _pages_by_person(nins, before_id, first + 1)):
                    found[row.nin, before_id, first].append(row)
                continue
            rank = func.row_number().over(partition_by=LOG.c.nin, order_by=LOG.c.id.desc()).label("rank")
            ranked = select(LOG, rank).where(self.db.in_keys(AUDIT, LOG.c.nin, nins))
            if before_id is not None:
                ranked = ranked.where(LOG.c.id < before_id)
            sub = ranked.subquery()
            statement = select(sub).where(sub.c.rank <= first + 1).order_by(sub.c.nin, sub.c.id.desc())
            for row in await self.db.fetch(AUDIT, statement):
                found[row.nin, before_id, first].append(row)
        pages = []
        for numbers, before_id, first in keys:
            rows = [row for nin in numbers for row in found.get((nin, before_id, first), [])]
            pages.append(sorted(rows, key=lambda row: row.id, reverse=True)[: first + 1] if len(numbers) > 1 else rows)
        return pages


def _pages_by_person(nins: list[str], before_id: int | None, size: int) -> Select[Any]:
    """PostgreSQL: each person's newest `size` entries (below `before_id`), however long their log.

    A lateral subquery per person, ordered by id with a limit: the planner merges the monthly
    partitions' (nin, id) indexes backwards and stops after `size` rows, so a page costs the same for a
    person with 20 entries or 200,000 (a window function would read and sort all of them first).
    """
    numbers = bindparam("nins", nins, type_=ARRAY(LOG.c.nin.type))
    persons = func.unnest(numbers).table_valued("nin").render_derived(name="k")
    page = select(LOG).where(LOG.c.nin == persons.c.nin)
    if before_id is not None:
        page = page.where(LOG.c.id < before_id)
    newest = page.order_by(LOG.c.id.desc()).limit(size).lateral("page")
    return select(newest).select_from(persons.join(newest, true())).order_by(newest.c.nin, newest.c.id.desc())


class AccessLogCountLoader(DataLoader):  # type: ignore[type-arg]
    """AccessLogCountByNinLoader: how many entries each person's access log has, under all their numbers."""

    def __init__(self, db: Database) -> None:
        super().__init__(max_batch_size=10_000)
        self.db = db

    async def batch_load_fn(self, keys: Sequence[tuple[str, ...]]) -> list[int]:
        """Count the entries of a batch of persons."""
        nins = sorted({nin for numbers in keys for nin in numbers})
        counts = {row.nin: row.n for row in await self.db.fetch_by_keys(AUDIT, COUNTS, LOG.c.nin, nins)}
        return [sum(int(counts.get(nin, 0)) for nin in numbers) for numbers in keys]
