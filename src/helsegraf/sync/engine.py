"""The sync engine: one loop for every register, an adapter per register for what differs.

How a register is followed (DESIGN.md, "Living registers"):

* A register publishes one or more **feeds** (Persontjenesten: one event log; Enhetsregisteret: the
  update logs of enheter and underenheter). Each entry has a **position** (a sequence number, an
  update id) that grows. The engine keeps a **cursor per feed** in the register's own database
  (`<register>_sync_cursor`, see `models.base.sync_tables`): the position of the last entry applied.
* **Bootstrap is following from the start.** Both registers' feeds begin with an entry per record
  (Persontjenesten's `PersonPopulated` "nulldagsuttrekk", Enhetsregisteret's first update of every
  unit), so an empty database simply reads the feed from position 1, with a progress bar.
* A **batch** is up to `batch_size` entries of a feed (HELSEGRAF_SYNC_BATCH, default 10,000: as many
  pages of `Adapter.page` as that takes) and the documents of the records they name
  (`Adapter.documents`, fetched concurrently in the contract's bulk sizes). The batch is applied
  (`Adapter.apply`) **in one transaction together with the cursor update**, so a crash anywhere
  leaves the database at a batch boundary: restarting repeats nothing and skips nothing.
* `apply` is **idempotent** (upserts keyed by the register's identifiers) and **keeps history**: it
  closes half-open validity periods and marks replaced identities; it never deletes a row.
* What cannot be applied (a malformed document, an unknown entry type, a record the bulk call no
  longer returns, a gap in the positions) is **skipped with a recorded reason** in
  `<register>_sync_skip`, by the source's entry id only (never personal data), logged and counted;
  the cursor then moves past it. What may succeed later (a 500, a timeout, a 429, a source that
  went back in time) is **retried** with exponential backoff and full jitter, obeying Retry-After;
  the cursor does not move.
* A **bulk load** (PostgreSQL): a bootstrap of many entries into empty tables appends to tables
  without their indexes and builds them once at the end (`Engine._bulk_mode`); crash-safe too.
* One sync per register at a time: PostgreSQL's `pg_try_advisory_lock`, or on SQLite an exclusive
  lock on a file beside the database; a second `helsegraf sync` refuses to start (`SyncLockedError`).
* Lag: `last_synced_at` is the last moment the engine saw that it had applied everything the source
  had; `lag = now - last_synced_at` therefore grows while the source is unreachable or while the
  engine is behind, and stays within one poll interval while it follows.

Writing an adapter for another register (HPR, AR, RESH, FLR, Kodeverk): subclass `Adapter`, name
its feeds, implement `head`, `page`, `documents` and `apply`, and register it in `sync/__init__.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import operator
import random
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from sqlalchemy import Connection, Index, PrimaryKeyConstraint, Table, create_engine, literal, select, text
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateIndex

from helsegraf.models import METADATA

log = logging.getLogger("helsegraf.sync")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class SyncError(RuntimeError):
    """A sync cannot go on (the message names the register and the reason, never personal data)."""


class SyncLockedError(SyncError):
    """Another sync of the same register is running."""


class RetryableError(SyncError):
    """The source failed in a way that may pass: retry the same batch later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        """Keep Retry-After when the error crosses from a worker process."""
        return (type(self), (str(self), self.retry_after))


@dataclass(slots=True)  # not frozen: a bootstrap makes one per entry, and a frozen one is six times slower to make
class Entry:
    """One entry of a feed: its position, the record it names and what happened to it."""

    position: int
    key: str
    kind: str
    at: datetime | None = None  # when the source changed the record, where the feed says
    # The record itself, where the feed carries it (AR's export and events, HPR's changed persons).
    document: Any = field(default=None, compare=False, repr=False)
    # Read again from before the cursor (a time-named feed's overlap, sync/window.py): applied, but the
    # cursor does not move back for it.
    reread: bool = False


@dataclass
class Batch:
    """One page of a feed with the documents of the records it names."""

    feed: str
    entries: list[Entry]
    documents: dict[str, Any] = field(default_factory=dict)  # key -> parsed document (adapter's type)
    skipped: dict[int, str] = field(default_factory=dict)  # position -> reason
    head: int | None = None
    rows: Any = None  # the rows an adapter mapped the documents to while fetching them (its own type)

    @property
    def last(self) -> int:
        """Return the position of the last entry."""
        return self.entries[-1].position


class Adapter(ABC):
    """What the engine needs to know of one register's source."""

    register: str
    feeds: tuple[str, ...]
    page_size: int  # entries per page (the contract's limit)
    concurrency: int = 4  # document fetches in flight per batch

    @abstractmethod
    async def head(self, client: httpx.AsyncClient, feed: str, after: int) -> int:
        """Return the newest position the source has in a feed (0 when empty), knowing the stored one.

        A source whose positions have holes may answer `after` plus the number of entries after it
        (what lag in events means); a head below `after` says the source went back in time.
        """

    @abstractmethod
    async def page(self, client: httpx.AsyncClient, feed: str, after: int) -> list[Entry]:
        """Return the next entries after position `after` (at most `page_size`; empty when current)."""

    @abstractmethod
    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Fetch and parse the documents the batch's entries name, into `batch.documents`.

        A document that is missing or does not parse is recorded in `batch.skipped` by position.
        """

    @abstractmethod
    def apply(self, conn: Connection, batch: Batch) -> int:
        """Apply a batch's documents inside the open transaction; return the records written."""

    def contiguous(self, feed: str, after: int) -> bool:
        """Tell whether a page after `after` should have no holes in its positions (a hole is a skip).

        True for sequence numbers; False for positions that are times (HPR, RESH) or for a page that
        jumps to a snapshot's position (AR's export).
        """
        del feed, after
        return True

    async def authenticate(self, client: httpx.AsyncClient) -> None:  # noqa: B027 - optional hook
        """Obtain credentials if the source needs them (called before the first call and on a 401)."""

    def bind(self, dialect: str) -> None:  # noqa: B027 - optional hook
        """Learn which database the batches go to ("postgresql", "sqlite"), before the first batch."""

    # -- bulk load (PostgreSQL): a bootstrap into empty tables builds their indexes once, at the end --

    bulk_tables: tuple[str, ...] = ()  # the register's tables a bulk load appends to (none: no bulk load)
    bulk_kept: tuple[str, ...] = ()  # primary keys or indexes of those a bulk load keeps (its own lookups need them)

    def bulk_resume(self, conn: Connection) -> None:  # noqa: B027 - optional hook
        """Read the keys a bulk load has appended so far (it is starting, or resuming after a crash)."""

    def bulk_new(self, batch: Batch) -> bool:
        """Tell whether every record of a batch is new to the bulk load (False: the load ends before it)."""
        del batch
        return False

    def apply_bulk(self, conn: Connection, batch: Batch) -> int:
        """Append a batch of new records (`bulk_new`) to the index-less tables; return the records written."""
        return self.apply(conn, batch)

    def bulk_end(self) -> None:  # noqa: B027 - optional hook
        """Forget the keys of a finished bulk load."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the adapter holds (worker processes)."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter")."""

    base_s: float = 0.5
    cap_s: float = 60.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self, retry_after: float | None = None) -> float:
        """Return how long to wait before the next attempt (never less than the source's Retry-After)."""
        delay = self.rng.uniform(0, min(self.cap_s, self.base_s * 2**self.attempt))
        self.attempt += 1
        return max(delay, retry_after or 0.0)

    def reset(self) -> None:
        """Start over after a success."""
        self.attempt = 0


def retry_after(response: httpx.Response) -> float | None:
    """Return a response's Retry-After in seconds (delta-seconds form; an HTTP date counts as 1 s)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0


def check(response: httpx.Response, what: str) -> httpx.Response:
    """Raise RetryableError for a response worth retrying, SyncError for another failure."""
    if response.status_code in RETRY_STATUSES:
        raise RetryableError(f"{what}: HTTP {response.status_code}", retry_after(response))
    if response.status_code >= 400:  # noqa: PLR2004 - HTTP's error classes
        raise SyncError(f"{what}: HTTP {response.status_code}")
    return response


@dataclass
class FeedState:
    """A feed's cursor row, as read from and written to `<register>_sync_cursor`."""

    feed: str
    position: int = 0
    source_head: int | None = None
    last_synced_at: datetime | None = None
    last_change_at: datetime | None = None
    applied: int = 0
    skipped: int = 0
    errors: int = 0


@dataclass
class Status:
    """What a run did, per feed; the CLI prints it and tests read it."""

    applied: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)


# -- the lock ----------------------------------------------------------------------------------


@contextlib.contextmanager
def register_lock(engine: DatabaseEngine, register: str) -> Iterator[None]:
    """Hold the register's sync lock for the duration, or raise SyncLockedError."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"helsegraf-sync-{register}".encode())
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
            conn.commit()
            if not got:
                raise SyncLockedError(f"another sync of {register} is running (advisory lock held)")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = make_url(engine.url).database
    path = Path(f"{database}.{register}.sync.lock") if database and database != ":memory:" else None
    if path is None:
        yield
        return
    handle: IO[str] = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncLockedError(f"another sync of {register} is running (lock file {path.name})") from None
        yield
    finally:
        handle.close()


# -- SQLite: one writer per file ---------------------------------------------------------------

SQLITE_BUSY_TIMEOUT_S = 120.0  # generous: a bootstrap batch of another register may hold the file for long
_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def sqlite_options(database_url: str) -> dict[str, Any]:
    """Return create_engine options for a database: on SQLite, a busy timeout instead of failing at once."""
    if make_url(database_url).get_backend_name() != "sqlite":
        return {}
    return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}


def file_write_lock(database_url: str) -> contextlib.AbstractContextManager[Any]:
    """Return the lock every engine writing one SQLite file shares (PostgreSQL: none needed).

    SQLite has one writer per file. Several registers' engines in one `helsegraf sync` may share a
    file (the default: one database for every register); each would otherwise take SQLite's write lock
    in its own thread and the others fail with "database is locked" (a deferred transaction that reads
    before it writes is not helped by the busy timeout). The process-wide lock per file orders them;
    the busy timeout covers other processes (a `serve` reading the same file).
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return contextlib.nullcontext()
    key = str(Path(url.database).resolve())
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.Lock())


# -- cursors -----------------------------------------------------------------------------------


def cursor_table(register: str) -> Table:
    """Return the register's cursor table."""
    return METADATA[register].tables[f"{register}_sync_cursor"]


def skip_table(register: str) -> Table:
    """Return the register's skip table."""
    return METADATA[register].tables[f"{register}_sync_skip"]


def read_states(conn: Connection, register: str, feeds: Sequence[str]) -> dict[str, FeedState]:
    """Return every feed's stored state (a fresh state for a feed never synced)."""
    table = cursor_table(register)
    states = {feed: FeedState(feed) for feed in feeds}
    for row in conn.execute(select(table)):
        if row.feed in states:
            states[row.feed] = FeedState(
                row.feed, row.position, row.source_head, _aware(row.last_synced_at), _aware(row.last_change_at),
                row.applied, row.skipped, row.errors,
            )  # fmt: skip
    return states


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns: they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def write_state(conn: Connection, register: str, state: FeedState) -> None:
    """Upsert a feed's cursor row (inside the caller's transaction)."""
    table = cursor_table(register)
    values = {
        "cursor": str(state.position), "position": state.position, "source_head": state.source_head,
        "last_synced_at": state.last_synced_at, "last_change_at": state.last_change_at,
        "applied": state.applied, "skipped": state.skipped, "errors": state.errors,
    }  # fmt: skip
    updated = conn.execute(table.update().where(table.c.feed == state.feed).values(**values)).rowcount
    if not updated:
        conn.execute(table.insert().values(feed=state.feed, **values))


# -- the engine --------------------------------------------------------------------------------


Progress = Callable[[str, str, int, int | None], None]  # (register, feed, position, head)
BATCH_SIZE = 10_000  # entries per transaction (HELSEGRAF_SYNC_BATCH)
DIRECT_COPY_FROM = 1000  # rows from which an upsert first tries a plain COPY into the table (PostgreSQL)
BULK_FROM = 100_000  # entries behind from which a bootstrap into empty tables loads in bulk (HELSEGRAF_SYNC_BULK_FROM)
PREFETCH = 2  # batches whose documents are fetched (queued) while earlier ones are applied
BULK_MAINTENANCE_WORK_MEM = "256MB"  # for building a bulk load's indexes (sorts in memory, not on disk)
BULK_BUILDERS = 2  # a bulk load's indexes built side by side


class Engine:
    """Follows one register's feeds into its database through an adapter."""

    def __init__(
        self,
        adapter: Adapter,
        database_url: str,
        client: httpx.AsyncClient,
        *,
        on_progress: Progress | None = None,
        backoff: Backoff | None = None,
        max_attempts: int = 8,
        batch_size: int = BATCH_SIZE,
        bulk_from: int = BULK_FROM,
    ) -> None:
        self.adapter, self.client = adapter, client
        self.batch_size = max(1, batch_size)
        self.bulk_from = bulk_from
        self.register = adapter.register
        self.engine = create_engine(database_url, hide_parameters=True, **sqlite_options(database_url))
        self._write_lock = file_write_lock(database_url)
        self.on_progress = on_progress or (lambda *_: None)
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.status = Status()
        self.errors: dict[str, int] = {}
        self._authenticated = False
        self._state: FeedState | None = None
        self._bulk = False  # appending to index-less tables (see `_bulk_mode`)
        self._indexed = False  # the bulk tables' indexes were seen complete: no bulk load from here on
        adapter.bind(self.engine.dialect.name)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """Open a write transaction; on SQLite, one engine at a time per database file (see `file_write_lock`)."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        """Release the database connections (and the adapter's workers)."""
        self.adapter.close()
        self.engine.dispose()

    def states(self) -> dict[str, FeedState]:
        """Return the stored cursor of every feed."""
        with self.engine.connect() as conn:
            return read_states(conn, self.register, self.adapter.feeds)

    def _error(self, kind: str, message: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.status.errors += 1
        if self._state is not None:
            self._state.errors += 1  # stored with the feed's next cursor write (for /metrics)
        log.warning("sync %s: %s", self.register, message, extra={"register": self.register, "kind": kind})

    async def _call(self, what: str, call: Callable[[], Any]) -> Any:
        """Run one source call with retries (backoff with jitter, Retry-After); re-authenticate on a 401."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                if not self._authenticated:
                    await self.adapter.authenticate(self.client)
                    self._authenticated = True
                result = await call()
            except RetryableError as exc:
                self._error("source", f"{what}: {exc} (attempt {attempt})")
                wait = self.backoff.next_delay(exc.retry_after)
            except httpx.TransportError as exc:  # timeouts, refused connections, resets
                self._error("source", f"{what}: {exc.__class__.__name__} (attempt {attempt})")
                wait = self.backoff.next_delay()
            except SyncError as exc:
                if "HTTP 401" in str(exc) and attempt < self.max_attempts:
                    self._authenticated = False
                    self._error("auth", f"{what}: token refused, fetching a new one")
                    continue
                raise
            else:
                self.backoff.reset()
                return result
            if attempt < self.max_attempts:
                await asyncio.sleep(wait)
        raise SyncError(f"sync {self.register}: {what} failed {self.max_attempts} times; giving up for now")

    async def _batches(self, feed: str, after: int, head: int) -> AsyncGenerator[Batch]:
        """Yield batches with their documents, fetched up to `PREFETCH` batches ahead of the applier.

        A producer reads the pages of batch after batch and starts fetching each one's documents,
        while the batches before it are fetched and applied, so neither the source's round trips, the
        document fetches nor the applier wait on each other. Batches come out in order; a batch whose
        documents failed, or a page that failed, raises when its turn comes.
        """
        queue: asyncio.Queue[asyncio.Future[Batch] | None] = asyncio.Queue(PREFETCH)

        async def produce() -> None:
            try:
                async with contextlib.aclosing(self._pages(feed, after, head)) as pages:
                    async for batch in pages:
                        task = asyncio.create_task(self._documents(batch))
                        try:
                            await queue.put(task)
                        except asyncio.CancelledError:
                            task.cancel()
                            raise
            except Exception as exc:  # noqa: BLE001 - handed to the consumer, after the batches before it
                failed: asyncio.Future[Batch] = asyncio.get_running_loop().create_future()
                failed.set_exception(exc)
                await queue.put(failed)
            else:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (item := await queue.get()) is not None:
                yield await item
        finally:
            producer.cancel()
            left: list[asyncio.Future[Any]] = [producer]
            while not queue.empty():
                if (item := queue.get_nowait()) is not None:
                    item.cancel()
                    left.append(item)
            await asyncio.gather(*left, return_exceptions=True)

    async def _documents(self, batch: Batch) -> Batch:
        await self._call(f"{batch.feed} documents of {len(batch.entries)} entries",
                         functools.partial(self.adapter.documents, self.client, batch))  # fmt: skip
        return batch

    async def _pages(self, feed: str, after: int, head: int) -> AsyncGenerator[Batch]:
        """Read pages (up to `batch_size` entries a batch) and yield each batch, without its documents."""
        position = after
        while True:
            entries: list[Entry] = []
            contiguous = True  # every page of the batch should have no holes (see Adapter.contiguous)
            while len(entries) < self.batch_size:
                contiguous = contiguous and self.adapter.contiguous(feed, position)
                page = await self._call(
                    f"{feed} page after {position}",
                    functools.partial(self.adapter.page, self.client, feed, position),
                )
                # A page may repeat its first entry; a reread from before the cursor is kept on purpose.
                page = [e for e in page if e.position > position or e.reread]
                if not page:
                    break
                entries.extend(page)
                newest = max(e.position for e in page)
                if newest <= position or len(page) < self.adapter.page_size:
                    break  # only the overlap again, or a short page: the source has no more for now
                position = newest
            if not entries:
                return
            batch = Batch(feed, sorted(entries, key=lambda e: e.position), head=head)
            if contiguous:
                self._gaps(batch, after)
            yield batch
            if all(e.reread for e in batch.entries):
                return  # only the overlap was read again: nothing after the cursor
            after = position = max(after, batch.last)

    def _gaps(self, batch: Batch, after: int) -> None:
        """Record a jump in positions as a skip of the missing range (the source lost or hid entries)."""
        previous = after
        for entry in batch.entries:
            if entry.position > previous + 1:
                missing = (
                    f"{previous + 1}..{entry.position - 1}" if entry.position - 1 > previous + 1 else str(previous + 1)
                )
                batch.skipped.setdefault(-(previous + 1), f"sequence gap: positions {missing} missing")
            previous = entry.position

    def _apply(self, batch: Batch, state: FeedState) -> int:
        """Apply a batch and move its cursor in one transaction."""
        if self._bulk and not self.adapter.bulk_new(batch):
            self._finish_bulk(state.position)  # a record may be stored already: the bulk load ends before this batch
        now = datetime.now(UTC)
        with self.writing() as conn:
            written = self.adapter.apply_bulk(conn, batch) if self._bulk else self.adapter.apply(conn, batch)
            skips = skip_table(self.register)
            rows = [
                {"feed": batch.feed, "event_id": str(abs(position)), "reason": reason[:200], "at": now}
                for position, reason in sorted(batch.skipped.items(), key=lambda item: abs(item[0]))
            ]
            if rows:
                conn.execute(skips.insert(), rows)
            state.position = max(state.position, batch.last)
            state.applied += written
            state.skipped += len(rows)
            changed = [e.at for e in batch.entries if e.at is not None]
            if changed:
                state.last_change_at = max(changed)
            if batch.head is not None and state.position >= batch.head:
                state.last_synced_at = now
            write_state(conn, self.register, state)
        for position, reason in batch.skipped.items():
            self._error("skipped", f"{batch.feed} entry {abs(position)} skipped: {reason}")
        return written

    # -- bulk load ---------------------------------------------------------------------------------

    def _bulk_mode(self, state: FeedState, head: int) -> bool:
        """Tell whether this run appends to index-less tables, dropping their indexes to start one.

        A bootstrap of many entries (`bulk_from`) into empty tables is a bulk load: every random key
        inserted into a large B-tree costs a page visit (and, after a checkpoint, a full-page image
        in the WAL), so a load into indexed tables slows down as they grow. Instead the adapter's
        tables lose their primary keys and indexes (in one transaction), batches are appended with
        COPY, and the indexes are built once, sorted, at the end (`_finish_bulk`): when the feed is
        current, or before the first batch with a record that may be stored already. A crash in between
        leaves index-less tables (or some of their indexes) and a cursor at a batch boundary; the next
        run sees what is missing and goes on appending from there. PostgreSQL only (SQLite loads the
        ordinary way).
        """
        names = self.adapter.bulk_tables
        if not names or self._indexed or self.engine.dialect.name != "postgresql":
            return False
        tables = [METADATA[self.register].tables[name] for name in names]
        with self.writing() as conn:
            if not missing_indexes(conn, tables):
                behind = head - state.position
                if behind < self.bulk_from or any(
                    conn.execute(select(literal(1)).select_from(t).limit(1)).first() for t in tables
                ):
                    self._indexed = True
                    return False
                for table in tables:
                    drop_indexes(conn, table, self.adapter.bulk_kept)
                log.info("sync %s: bulk load of %d entries: indexes built after it", self.register, behind,
                         extra={"register": self.register})  # fmt: skip
            self.adapter.bulk_resume(conn)
        return True

    def _finish_bulk(self, position: int) -> None:
        """Build the indexes a bulk load left out, `BULK_BUILDERS` at a time, then leave bulk mode.

        Each index is built (and committed) in a transaction of its own, so the builds run side by
        side on their own connections; a primary key is built as its unique index, then made the
        constraint, in one transaction. A crash in between leaves some indexes missing, which the next
        run's bulk load builds. Statistics are gathered after (autovacuum may be off, or late).
        """
        started = time.monotonic()
        tables = [METADATA[self.register].tables[name] for name in self.adapter.bulk_tables]
        with self.engine.connect() as conn:
            missing = missing_indexes(conn, tables)

        def build(item: tuple[Table, Index | PrimaryKeyConstraint]) -> None:
            table, index = item
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{BULK_MAINTENANCE_WORK_MEM}'")
                conn.exec_driver_sql("SET LOCAL max_parallel_maintenance_workers = 0")  # the builds run side by side
                if isinstance(index, PrimaryKeyConstraint):
                    quote = conn.dialect.identifier_preparer.quote
                    name, columns = quote(str(index.name)), ", ".join(quote(c.name) for c in index.columns)
                    conn.exec_driver_sql(f"CREATE UNIQUE INDEX {name} ON {quote(table.name)} ({columns})")
                    conn.exec_driver_sql(
                        f"ALTER TABLE {quote(table.name)} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}"
                    )
                else:
                    conn.execute(CreateIndex(index))

        def analyze(table: Table) -> None:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f'ANALYZE "{table.name}"')

        # Statistics after the builds, side by side too (a million persons: 3 s in one session); a
        # table's ANALYZE waits for its own builds only (their locks conflict), not for every build.
        with ThreadPoolExecutor(BULK_BUILDERS) as pool:
            builds = [pool.submit(build, item) for item in missing]
            analyses = [pool.submit(analyze, table) for table in tables]
            for future in (*builds, *analyses):
                future.result()
        self._bulk, self._indexed = False, True
        self.adapter.bulk_end()
        log.info("sync %s: bulk load done at entry %d, %d indexes built in %.1f s", self.register, position,
                 len(missing), time.monotonic() - started, extra={"register": self.register})  # fmt: skip

    def _persist_errors(self) -> None:
        """Store the error count of the feed that failed (its position is left as it was)."""
        state = self._state
        if state is None:
            return
        with contextlib.suppress(Exception), self.writing() as conn:
            stored = read_states(conn, self.register, [state.feed])[state.feed]
            stored.errors = max(stored.errors, state.errors)
            write_state(conn, self.register, stored)

    def _progressed(self, feed: str, position: int, head: int, _done: object) -> None:
        self.on_progress(self.register, feed, position, head)

    async def run_feed(self, feed: str, state: FeedState) -> None:
        """Bring one feed up to the source's head."""
        self._state = state
        head = await self._call(f"{feed} head", functools.partial(self.adapter.head, self.client, feed, state.position))
        if head < state.position:
            # The source went back in time (restored from a backup, or a different source): applying
            # would repeat or contradict what is stored, so nothing moves until it is ahead again.
            state.source_head = head
            with self.writing() as conn:
                write_state(conn, self.register, state)
            raise RetryableError(
                f"{feed}: the source's newest position {head} is behind the stored cursor {state.position}"
            )
        state.source_head = head
        self.on_progress(self.register, feed, state.position, head)
        if head == state.position:
            state.last_synced_at = datetime.now(UTC)
            with self.writing() as conn:
                write_state(conn, self.register, state)
        self._bulk = await asyncio.to_thread(self._bulk_mode, state, head)
        pending: asyncio.Task[int] | None = None
        try:
            async with contextlib.aclosing(self._batches(feed, state.position, head)) as batches:
                async for batch in batches:
                    if pending is not None:
                        await pending
                    pending = asyncio.create_task(asyncio.to_thread(self._apply, batch, state))
                    pending.add_done_callback(functools.partial(self._progressed, feed, batch.last, head))
        finally:
            if pending is not None:  # a batch being applied is committed (or not) before anything else happens
                await asyncio.gather(pending, return_exceptions=True)
        if pending is not None:
            await pending  # its error, if it failed
        if self._bulk:  # the feed is current: build the indexes
            await asyncio.to_thread(self._finish_bulk, state.position)
        self.status.positions[feed] = state.position
        self.status.heads[feed] = head

    async def run_once(self) -> Status:
        """Bring every feed of the register up to date once (bootstrap when the database is empty)."""
        states = self.states()
        for feed in self.adapter.feeds:
            before = states[feed].applied, states[feed].skipped
            await self.run_feed(feed, states[feed])
            self.status.applied[feed] = states[feed].applied - before[0]
            self.status.skipped[feed] = states[feed].skipped - before[1]
        return self.status

    async def follow(self, interval_s: float, stop: asyncio.Event, on_status: Callable[[Engine], None]) -> None:
        """Poll the source every `interval_s` until `stop` is set; errors back off, never end the loop."""
        while not stop.is_set():
            delay = interval_s
            try:
                await self.run_once()
            except RetryableError as exc:
                self._error("source", str(exc))
                delay = max(interval_s, self.backoff.next_delay(exc.retry_after))
                self._persist_errors()
            except SyncError as exc:
                self._error("source", str(exc))
                delay = max(interval_s, self.backoff.next_delay())
                self._persist_errors()
            except (SQLAlchemyError, OSError) as exc:  # the register's own database is down: wait for it
                self._error("database", f"database unavailable ({exc.__class__.__name__})")
                delay = max(interval_s, self.backoff.next_delay())
            on_status(self)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


def lag_seconds(state: FeedState, now: datetime | None = None) -> float | None:
    """Return how far behind the source a feed may be: time since it was last seen current."""
    if state.last_synced_at is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - state.last_synced_at).total_seconds())


def missing_indexes(conn: Connection, tables: Sequence[Table]) -> list[tuple[Table, Index | PrimaryKeyConstraint]]:
    """Return the primary keys and indexes the tables' models declare that the database lacks (PostgreSQL)."""
    present = set(
        conn.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s)",
            ([t.name for t in tables],),
        ).scalars()
    )
    declared: list[tuple[Table, Index | PrimaryKeyConstraint]] = []
    for table in tables:
        key: PrimaryKeyConstraint = table.primary_key
        declared += [(table, key), *((table, i) for i in sorted(table.indexes, key=lambda i: str(i.name)))]
    return [(table, index) for table, index in declared if str(index.name) not in present]


def drop_indexes(conn: Connection, table: Table, keep: Sequence[str] = ()) -> None:
    """Drop a table's primary key and the indexes its model declares, but those named in `keep`."""
    quote = conn.dialect.identifier_preparer.quote
    if str(table.primary_key.name) not in keep:
        name = quote(str(table.primary_key.name))
        conn.exec_driver_sql(f"ALTER TABLE {quote(table.name)} DROP CONSTRAINT IF EXISTS {name}")
    for index in table.indexes:
        if str(index.name) not in keep:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {quote(str(index.name))}")


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           keep: Sequence[str] = ()) -> None:  # fmt: skip
    """Insert rows, or update them where their key exists; columns in `keep` are written on insert only.

    PostgreSQL: the rows are COPYed into a temporary staging table and merged with one
    `INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE`, the fastest way in (per-row upserts through
    an ORM manage a few hundred rows a second; this manages tens of thousands). Many rows are first
    COPYed straight into the table inside a savepoint (a bootstrap's rows are all new); a key that
    exists already undoes that and the merge runs instead. SQLite: one prepared
    `INSERT ... ON CONFLICT DO UPDATE` run over all rows (executemany, in C).
    """
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "postgresql":
        values = operator.itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)

        def write(copy: psycopg.Copy) -> None:
            write_row = copy.write_row
            for row in rows:
                write_row(values(row))

        copy_upsert(conn, table, columns, write, len(rows), keys, keep)
        return
    # The columns' own bind processors (dates and times as SQLAlchemy stores them on SQLite).
    processors = [table.c[c].type.bind_processor(conn.dialect) for c in columns]
    parameters = [
        tuple(p(row[c]) if p is not None else row[c] for c, p in zip(columns, processors, strict=True)) for row in rows
    ]
    placeholders = ", ".join("?" for _ in columns)
    names, conflict, action = _upsert_clauses(columns, keys, keep)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({placeholders}) ON CONFLICT ({conflict}) {action}'  # noqa: S608 - our own names
    conn.exec_driver_sql(statement, parameters)


def _upsert_clauses(columns: Sequence[str], keys: Sequence[str], keep: Sequence[str]) -> tuple[str, str, str]:
    """Return an upsert's column list, conflict target and conflict action."""
    updates = [c for c in columns if c not in keys and c not in keep]
    names = ", ".join(f'"{c}"' for c in columns)
    conflict = ", ".join(f'"{k}"' for k in keys)
    action = "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in updates) if updates else "DO NOTHING"
    return names, conflict, action


def copy_upsert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    write: Callable[[psycopg.Copy], None],
    count: int,
    keys: Sequence[str],
    keep: Sequence[str] = (),
) -> None:
    """PostgreSQL's `upsert`: `write` puts `count` rows of `columns` into a COPY (by row or as COPY text).

    The rows must be unique by `keys` (one statement may not touch a row twice).
    """
    names, conflict, action = _upsert_clauses(columns, keys, keep)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def copy_into(target: str) -> None:
        with cursor.copy(f'COPY "{target}" ({names}) FROM STDIN') as copy:
            write(copy)

    merged: set[str] = conn.info.setdefault("sync_merged_tables", set())
    if count >= DIRECT_COPY_FROM and table.name not in merged:
        # A bootstrap's rows are new: COPY them straight in. The first key already stored (a
        # unique violation) rolls the attempt back and sends this table through the merge from
        # then on (for this connection: a follower's rows are mostly updates).
        try:
            with conn.begin_nested():
                copy_into(table.name)
        except psycopg.errors.UniqueViolation:
            merged.add(table.name)
        else:
            return
    stage = f"sync_stage_{table.name}"
    conn.exec_driver_sql(
        f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" (LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
    )
    conn.exec_driver_sql(f'TRUNCATE "{stage}"')
    copy_into(stage)
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{stage}" ON CONFLICT ({conflict}) {action}'  # noqa: S608 - our own table and column names
    )


def copy_append(conn: Connection, table: Table, columns: Sequence[str], data: bytes) -> None:
    """COPY rows given as COPY text straight into a table (a bulk load: the caller knows every key is new)."""
    if not data:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        copy.write(data)
