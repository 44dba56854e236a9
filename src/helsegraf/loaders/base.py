"""Loader building blocks: batch rows by key, in key order, with one statement per batch.

Every edge of the graph goes through a loader created per request (so cached rows never
cross callers). A batch is one `= ANY(array)` query on PostgreSQL (chunked `IN` on SQLite),
so the number of statements depends on the query's shape, never on the number of rows.
"""

from __future__ import annotations

from asyncio import Future
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable, Iterable, Sequence
from datetime import date
from operator import attrgetter
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader, enqueue_post_future_job
from aiodataloader import Loader as Queued  # a queued key and its future
from sqlalchemy import Date, Select, and_, bindparam, or_
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement, KeyedColumnElement

from helsegraf.db import Database
from helsegraf.metrics import observe_batch

K = TypeVar("K", bound=Hashable)
MAX_BATCH = 10_000


def valid_at(table: Any, on: date) -> ColumnElement[bool]:
    """Return the half-open validity test `valid_from <= on < valid_to` (NULL `valid_to` = open)."""
    return and_(table.c.valid_from <= on, or_(table.c.valid_to.is_(None), table.c.valid_to > on))


def valid_on_param(table: Any) -> ColumnElement[bool]:
    """Return the half-open validity test against a named `on` parameter (for module-level statements)."""
    on = bindparam("on", type_=Date())
    return and_(table.c.valid_from <= on, or_(table.c.valid_to.is_(None), table.c.valid_to > on))


def is_valid_on(row: Any, on: date) -> bool:
    """Tell whether a row with `valid_from`/`valid_to` is valid on a date (half-open)."""
    return bool(row.valid_from <= on and (row.valid_to is None or row.valid_to > on))


async def _resolved(futures: list[Future[Any]]) -> list[Any]:
    """Return the values of a batch's futures, in order, waking once rather than once per key.

    aiodataloader's `load_many` gathers the keys' futures: a done-callback on each, so a batch of a
    thousand keys schedules a thousand callbacks when it is answered. One batch answers all its keys
    at once, so waiting for the first pending future mostly finds the rest done. Errors are those
    `gather` raises: the first failed key's (in key order here), the others' retrieved.
    """
    try:
        for future in futures:
            if not future.done():
                await future
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            if future.done() and not future.cancelled():
                future.exception()
        raise


class Loader(DataLoader):  # type: ignore[type-arg]
    """A DataLoader whose `load_many` wakes its caller once per batch, not once per key (see `_resolved`).

    Its cache is keyed by the key itself (no `get_cache_key`), and it batches and caches (the defaults).
    """

    def load_many(self, keys: Iterable[Any]) -> Coroutine[Any, Any, list[Any]]:  # type: ignore[override]
        """Load many keys at once (cached, batched and answered exactly as by `load`); await the values in order.

        What `load` does key by key, in one loop: a preloaded level asks a thousand keys at once, and
        `load`'s calls per key (the cache key, the queueing, the check whether to schedule the batch)
        were most of a loader's cost. As there: a cached key gets its future, a new key gets a future
        that is cached and queued, and the batch is scheduled when the queue stops being empty.
        """
        if not isinstance(keys, Iterable):
            msg = f"The loader.load_many() function must be called with Iterable<key> but got: {keys}."
            raise TypeError(msg)
        if not (self.batch and self.cache):
            return _resolved([self.load(key) for key in keys])
        cache, queue, create = self._cache, self._queue, self.loop.create_future
        was_empty = not queue
        futures = []
        try:
            for key in keys:
                future = cache.get(key)
                if future is None:
                    if key is None:
                        self.load(key)  # raises load's own TypeError (the keys before it stay queued, as there)
                    future = cache[key] = create()
                    queue.append(Queued(key=key, future=future))
                futures.append(future)
        finally:
            if was_empty and queue:
                enqueue_post_future_job(self.loop, self)
        return _resolved(futures)


class RowLoader(Loader, Generic[K]):
    """Loads at most one row per key (`None` for unknown keys); `key_name` names the key in the rows."""

    def __init__(
        self,
        db: Database,
        store: str,
        statement: Select[Any],
        column: KeyedColumnElement[Any],
        key_name: str | None = None,
    ) -> None:
        super().__init__(max_batch_size=MAX_BATCH)
        self.db, self.store, self.statement, self.column = db, store, statement, column
        self.key_name = key_name or column.key
        self.key_of = attrgetter(self.key_name)
        self.label = _label(column)

    async def batch_load_fn(self, keys: Sequence[K]) -> list[Row[Any] | None]:
        """Fetch the rows of a batch of keys."""
        observe_batch(self.label, len(keys))
        rows = await self.db.fetch_by_keys(self.store, self.statement, self.column, keys)
        by_key = dict(zip(map(self.key_of, rows), rows, strict=True))
        return [by_key.get(key) for key in keys]


class GroupLoader(Loader, Generic[K]):
    """Loads every row that shares a key (an empty list for unknown keys), ordered by `statement`."""

    def __init__(self, db: Database, store: str, statement: Select[Any], column: KeyedColumnElement[Any]) -> None:
        super().__init__(max_batch_size=MAX_BATCH)
        self.db, self.store, self.statement, self.column = db, store, statement, column
        self.label = _label(column)

    async def batch_load_fn(self, keys: Sequence[K]) -> list[list[Row[Any]]]:
        """Fetch and group the rows of a batch of keys."""
        observe_batch(self.label, len(keys))
        rows = await self.db.fetch_by_keys(self.store, self.statement, self.column, keys)
        groups: dict[Any, list[Row[Any]]] = defaultdict(list)
        for key, row in zip(map(attrgetter(self.column.key), rows), rows, strict=True):
            groups[key].append(row)
        return [groups.get(key, []) for key in keys]


class DatedLoader(Loader, Generic[K]):
    """Loads by `(key, date)` with a statement that tests validity on `:on`; one statement per distinct date."""

    def __init__(
        self,
        db: Database,
        store: str,
        statement: Select[Any],
        column: KeyedColumnElement[Any],
        pick: Callable[[list[Row[Any]]], Any],
    ) -> None:
        super().__init__(max_batch_size=MAX_BATCH)
        self.db, self.store, self.statement, self.column, self.pick = db, store, statement, column, pick
        self.label = _label(column) + "_at"

    async def batch_load_fn(self, keys: Sequence[tuple[K, date]]) -> list[Any]:
        """Fetch each date's rows and pick the answer per key."""
        observe_batch(self.label, len(keys))
        by_date: dict[date, list[K]] = defaultdict(list)
        for key, on in keys:
            by_date[on].append(key)
        groups: dict[tuple[Any, date], list[Row[Any]]] = defaultdict(list)
        for on, date_keys in by_date.items():
            rows = await self.db.fetch_by_keys(self.store, self.statement, self.column, date_keys, on=on)
            for key, row in zip(map(attrgetter(self.column.key), rows), rows, strict=True):
                groups[key, on].append(row)
        return [self.pick(groups.get(key, [])) for key in keys]


def _label(column: ColumnElement[Any]) -> str:
    table = getattr(column, "table", None)
    name = getattr(getattr(table, "element", table), "name", "rows")
    return f"{name}_by_{column.key}"


def first_or_none(rows: list[Row[Any]]) -> Row[Any] | None:
    """Return the first row, or None."""
    return rows[0] if rows else None
