"""Database access: batched key look-ups and statement accounting, on PostgreSQL and SQLite.

Reads on PostgreSQL run on psycopg's own async pool in autocommit mode: a read is one round trip
(no BEGIN, no ROLLBACK on return, and no check query as the connection leaves the pool unless a
poll of its socket finds it suspect: `check_if_suspect`), SQL is compiled once per statement shape
(SQLAlchemy's cache key) and psycopg prepares it server-side after a few uses. SQLite and every write go through
SQLAlchemy's async engines.

**Rounds.** A request reads a level of its answer at a time, and the statements of one level are
independent (after FLR's memberships: HPR's doctors, FLR's contracts, AR's parties). Within a
request (`Database.for_request`), the reads that reach one PostgreSQL database within the same few
event-loop turns form a *round*, sent on one connection in psycopg's pipeline mode: one round trip
and one pool checkout instead of one each. Registers still never join in SQL: a round holds the
same statements, each with its own result. Stores in separate databases (other URLs) get rounds of
their own, and SQLite reads run one by one as before. A statement that fails in a round fails as it
would alone: one that another's failure aborted, or that a lost connection left unanswered, runs
again by itself (see `_ask_in_round`). `HELSEGRAF_FAST_PATHS=0` turns rounds off.
"""

from __future__ import annotations

import asyncio
import copy
import math
import os
import select
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import psycopg
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Select, Table, any_, bindparam, event, insert, make_url, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, KeyedColumnElement

from helsegraf.config import Settings, async_url
from helsegraf.registers import STORES

# SQLite allows 32766 bound parameters since 3.32; stay well below it.
SQLITE_CHUNK = 10_000
SQLITE_ROWS_PER_INSERT = 2000
COMPILED_CACHE_SIZE = 1000
T = TypeVar("T")
# SQLite reads whose caller was cancelled, finishing in the background (held here: the loop keeps weak refs).
_SETTLING: set[asyncio.Future[Any]] = set()


async def _to_completion(work: Awaitable[T]) -> T:
    """Await a SQLite read; when the caller is cancelled, let the read finish by itself in the background.

    A read cancelled mid-statement (a sibling field failed, the request's deadline passed) would leave its
    connection with the statement open, holding SQLite's read lock until garbage collection closes it:
    a writer meanwhile (the access or query log) waits its 5 s busy timeout and fails "database is
    locked". Finished, the read returns its connection (and the lock) at once; it is bounded by the
    statement timeout (`_bound_sqlite_statements`).
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        _SETTLING.add(task)
        task.add_done_callback(_settled)
        raise


def _settled(task: asyncio.Future[Any]) -> None:
    _SETTLING.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: the caller that wanted it is gone


@dataclass
class SqlStats:
    """The SQL statements a unit of work (a request, a test) issued, and the time they took."""

    statements: int = 0
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)
    round_trips: int = 0  # PostgreSQL round trips: a round of pipelined statements counts once

    @property
    def milliseconds(self) -> float:
        """Return the time spent in the database in milliseconds."""
        return round(self.seconds * 1000, 3)


_stats: ContextVar[tuple[SqlStats, ...]] = ContextVar("helsegraf_sql_stats", default=())


@contextmanager
def track_sql() -> Iterator[SqlStats]:
    """Count the statements issued inside the block (including tasks it spawns); blocks may nest."""
    stats = SqlStats()
    token = _stats.set((*_stats.get(), stats))
    try:
        yield stats
    finally:
        _stats.reset(token)


def _record(statement: str, seconds: float) -> None:
    for stats in _stats.get():
        stats.statements += 1
        stats.seconds += seconds
        stats.log.append(statement)


def _round_trip() -> None:
    for stats in _stats.get():
        stats.round_trips += 1


def _before_execute(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
    if context is not None:
        context.helsegraf_started = time.perf_counter()


def _after_execute(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
    started = getattr(context, "helsegraf_started", None)
    _record(statement, time.perf_counter() - started if started is not None else 0.0)
    _round_trip()


def make_engine(url: str, *, pool_size: int = 10, statement_timeout_ms: int = 0) -> AsyncEngine:
    """Create an async engine for a URL, with statement accounting attached."""
    url = async_url(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        kwargs = {"pool_size": pool_size, "max_overflow": pool_size, "pool_recycle": 1800, "pool_pre_ping": True,
                  "pool_timeout": 5, "connect_args": _pg_options(statement_timeout_ms)}  # fmt: skip
    # Parameters hold identity numbers: an error message must never carry them into a log line.
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _before_execute)
    event.listen(engine.sync_engine, "after_cursor_execute", _after_execute)
    if url.startswith("sqlite") and statement_timeout_ms:
        _bound_sqlite_statements(engine, statement_timeout_ms / 1000)
    return engine


# SQLite calls the progress handler every this many virtual-machine instructions (about 0.1 ms of work).
SQLITE_PROGRESS_STEPS = 10_000


def _bound_sqlite_statements(engine: AsyncEngine, limit_s: float) -> None:
    """Give SQLite the statement timeout PostgreSQL has: a statement running past it is interrupted.

    Each connection gets a progress handler that aborts the running statement (sqlite3 raises
    `OperationalError: interrupted`) once the deadline set when the statement started has passed.
    """

    def install(dbapi_connection: Any, record: Any) -> None:
        deadline = record.info["statement_deadline"] = [math.inf]
        dbapi_connection.run_async(
            lambda raw: raw.set_progress_handler(lambda: time.monotonic() > deadline[0], SQLITE_PROGRESS_STEPS)
        )

    def start(conn: Any, *_: Any) -> None:
        if deadline := conn.info.get("statement_deadline"):
            deadline[0] = time.monotonic() + limit_s

    def stop(conn: Any, *_: Any) -> None:
        if deadline := conn.info.get("statement_deadline"):
            deadline[0] = math.inf

    def returned(_dbapi_connection: Any, record: Any) -> None:
        # A failed or cancelled statement leaves its deadline armed: a cancelled one still runs in
        # aiosqlite's thread until the deadline stops it. The pool gets the connection back after that.
        if deadline := record.info.get("statement_deadline"):
            deadline[0] = math.inf

    event.listen(engine.sync_engine, "connect", install)
    event.listen(engine.sync_engine, "before_cursor_execute", start)
    event.listen(engine.sync_engine, "after_cursor_execute", stop)
    event.listen(engine.sync_engine.pool, "checkin", returned)


def is_statement_timeout(error: BaseException) -> bool:
    """Tell whether an error is a statement stopped by the statement timeout (PostgreSQL or SQLite)."""
    import sqlite3  # noqa: PLC0415 - only on the error path

    cause = getattr(error, "orig", None) or error
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause) == "interrupted"
    return isinstance(cause, psycopg.errors.QueryCanceled)


def _pg_options(statement_timeout_ms: int) -> dict[str, Any]:
    options: dict[str, Any] = {"connect_timeout": 3}
    if statement_timeout_ms:
        options["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return options


SQLITE_MIN_FREE_BYTES = 1024 * 1024  # below this, the access log is considered out of room


def _sqlite_writable(path: str) -> bool:
    """Tell whether a SQLite file takes writes now: room on its disk, and a write lock to be had at once."""
    import sqlite3  # noqa: PLC0415

    folder = Path(path).resolve().parent
    try:
        if shutil.disk_usage(folder).free < SQLITE_MIN_FREE_BYTES or os.statvfs(folder).f_flag & os.ST_RDONLY:
            return False
        if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):  # the journal is created beside it
            return False
        conn = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock: refused when read-only or locked by another process
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return False
    return True


def libpq_url(url: str) -> str:
    """Return a SQLAlchemy PostgreSQL URL as a libpq connection string."""
    return "postgresql://" + url.split("://", 1)[1]


def array_literal(values: Sequence[Any]) -> Any:
    """Return values as PostgreSQL's array text (`{1,NULL}`, `{"a",NULL}`) when all are ints, strings or datetimes.

    None is NULL. The statement casts the parameter to the column's array type, and PostgreSQL reads
    the text with the array type's input function. psycopg's own list dumper inspects and dumps each
    element in Python: at a thousand keys (or access-log rows) that was a fifth of a request's CPU.
    Strings without a quote or a backslash (identity numbers, codes, the access log's repeated actor
    columns) are joined in one call; datetimes go as ISO 8601 text, each distinct one formatted once
    (a request's access-log rows share one time). Anything else (dates, booleans, mixed types) goes to
    psycopg as the list it is.
    """
    if all(type(value) is str for value in values):
        joined = "".join(values)
        if '"' not in joined and "\\" not in joined:
            return '{"' + '","'.join(values) + '"}' if values else "{}"
        return "{" + ",".join(_quoted(value) for value in values) + "}"
    if all(type(value) is int or value is None for value in values):
        return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"
    if all(type(value) is str or value is None for value in values):
        # Every string quoted, with backslash and quote escaped: "NULL", commas and braces stay text.
        return "{" + ",".join("NULL" if value is None else _quoted(value) for value in values) + "}"
    if all(type(value) is datetime or value is None for value in values):
        formatted: dict[datetime, str] = {}
        for value in values:
            if value is not None and value not in formatted:
                formatted[value] = '"' + value.isoformat() + '"'
        return "{" + ",".join("NULL" if value is None else formatted[value] for value in values) + "}"
    return list(values)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def suspect(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Tell whether an idle connection may be dead: closed, broken, or with something waiting on its socket.

    An idle autocommit connection has nothing to read: the server sends on it only when it ends the
    session (a restart, `pg_terminate_backend`, an idle timeout: an error message, then end of file)
    or for the rare asynchronous message (a notice, a changed parameter). So a socket that polls
    readable, without waiting, is suspect; a quiet one is as alive as an empty query would have
    shown a moment ago. A connection lost without a word (a cable cut) looks quiet to both.
    """
    if conn.closed or conn.broken:
        return True
    try:
        fd = conn.pgconn.socket
    except psycopg.OperationalError:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


async def check_if_suspect(conn: psycopg.AsyncConnection[Any]) -> None:
    """Check a connection leaving the pool with an empty round trip, only if it is suspect.

    psycopg's own `check_connection` sends an empty query on every checkout: one more round trip
    for every round of reads and every access-log write. A connection that the poll finds suspect is checked
    that way (and discarded by the pool when the check fails); a quiet one goes out as it is.
    `HELSEGRAF_FAST_PATHS=0` checks every connection.
    """
    if suspect(conn):
        await AsyncConnectionPool.check_connection(conn)


# What `fetch_by_keys` filters by keys: a SELECT (the key test goes in its WHERE), or a function of the key
# test that returns the SELECT (for a test that belongs elsewhere, such as inside a subquery).
Keyed = Select[Any] | Callable[[ColumnElement[bool]], Select[Any]]


def _keyed(statement: Keyed, test: ColumnElement[bool]) -> Select[Any]:
    return statement.where(test) if isinstance(statement, Select) else statement(test)


class _ReadPool:
    """A lazily opened psycopg pool of autocommit connections that return named tuples.

    The pool connects in the background, so a server whose database is down still starts; a read
    waits at most `timeout` seconds for a connection, then fails (SERVICE_UNAVAILABLE), and the pool
    keeps reconnecting so service resumes by itself when the database is back.
    """

    def __init__(self, url: str, size: int, timeout: float, statement_timeout_ms: int, *, fast: bool = True) -> None:
        self.pool = AsyncConnectionPool(
            libpq_url(url), min_size=1, max_size=size, open=False, timeout=timeout, reconnect_timeout=10,
            # A connection is checked as it leaves the pool: those that died with a server restart are
            # discarded there, so requests after the restart do not fail on them (see `check_if_suspect`).
            check=check_if_suspect if fast else AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "row_factory": namedtuple_row, **_pg_options(statement_timeout_ms)},
        )  # fmt: skip
        self._opened = False
        self._lock = asyncio.Lock()

    async def ensure_open(self) -> AsyncConnectionPool:
        if not self._opened:
            async with self._lock:
                if not self._opened:
                    await self.pool.open(wait=False)
                    self._opened = True
        return self.pool


# A round waits at least ROUND_MIN_TURNS event-loop turns for more statements, then stops after a
# turn in which none joined, or at ROUND_TURNS: the reads of one level start within two turns of
# each other (the preloader's tasks, then the dataloaders' dispatch). A turn costs microseconds.
ROUND_MIN_TURNS: Final = 2
ROUND_TURNS: Final = 4


@dataclass
class _Statement:
    """A read waiting in a round: its SQL, and (for all but the round's first) where its answer goes."""

    sql: str
    params: Mapping[str, Any]
    binary: bool
    answer: asyncio.Future[Any] | None = None  # (rows, seconds), an error, or _Again


class _Again(Exception):  # noqa: N818 - a marker, never raised to a caller
    """A statement of a round that must run again by itself (`retried`: it already had its first attempt)."""

    def __init__(self, *, retried: bool) -> None:
        super().__init__("again")
        self.retried = retried


class Database:
    """The engines of every store; stores that share a URL share an engine and a read pool."""

    def __init__(self, settings: Settings, *, pool_size: int = 10) -> None:
        self.settings = settings
        # Pipelined rounds of reads in a request's scope (see the module's docstring); tests switch it.
        self.pipeline = settings.fast_paths
        self._rounds: dict[_ReadPool, list[_Statement]] | None = None
        self._by_url: dict[str, AsyncEngine] = {}
        self._engines: dict[str, AsyncEngine] = {}
        self._read_pools: dict[str, _ReadPool] = {}
        self._pool_of: dict[str, _ReadPool] = {}
        timeout_ms, pool_timeout = settings.http.statement_timeout_ms, settings.http.pool_timeout_s
        for store in STORES:
            url = settings.url_for(store)
            if url not in self._by_url:
                self._by_url[url] = make_engine(url, pool_size=pool_size, statement_timeout_ms=timeout_ms)
                if url.startswith("postgresql"):
                    self._read_pools[url] = _ReadPool(url, pool_size, pool_timeout, timeout_ms,
                                                      fast=settings.fast_paths)  # fmt: skip
            self._engines[store] = self._by_url[url]
            if url in self._read_pools:
                self._pool_of[store] = self._read_pools[url]
        self._pg_dialect = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated
        self._compiled: dict[Any, SQLCompiler] = {}
        self._templates: dict[tuple[int, str, bool], Any] = {}
        self._inserts: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}  # `append`'s statements

    def for_request(self) -> Database:
        """Return the database as one request sees it: the same engines and pools, with rounds of its own.

        Rounds never mix requests: a slow statement of one request never holds back another's answers.
        """
        scoped = copy.copy(self)
        scoped._rounds = {} if self.pipeline else None  # noqa: SLF001 - the copy's own
        return scoped

    def engine(self, store: str) -> AsyncEngine:
        """Return the engine of a store."""
        return self._engines[store]

    def is_postgres(self, store: str) -> bool:
        """Tell whether a store lives in PostgreSQL (else SQLite)."""
        return store in self._pool_of

    def _pg_sql(self, statement: Select[Any]) -> tuple[str, Mapping[str, Any]]:
        """Return a statement's SQL (compiled once per shape) and its parameters."""
        key = statement._generate_cache_key()  # noqa: SLF001 - SQLAlchemy's own compiled-cache key
        if key is None:
            uncached = statement.compile(dialect=self._pg_dialect)
            return uncached.string, uncached.params
        compiled = self._compiled.get(key.key)
        if compiled is None:
            if len(self._compiled) >= COMPILED_CACHE_SIZE:
                self._compiled.clear()
            compiled = self._compiled[key.key] = statement.compile(dialect=self._pg_dialect, cache_key=key)
        return compiled.string, compiled.construct_params(extracted_parameters=key.bindparams)

    async def fetch(self, store: str, statement: Select[*tuple[Any, ...]]) -> Sequence[Any]:
        """Run one SELECT against a store and return all rows (attribute access by column name)."""
        read_pool = self._pool_of.get(store)
        if read_pool is None:
            return await _to_completion(self._sqlite_fetch(store, statement))
        sql, params = self._pg_sql(statement)
        return await self._run_pg(store, sql, params)

    async def fetch_alone(self, store: str, statement: Select[*tuple[Any, ...]]) -> Sequence[Any]:
        """Run one SELECT on a connection of its own, outside the request's rounds.

        For a long statement (a scan of millions of rows): in a round it would run ahead of the round's
        short reads on the round's one connection (a pipeline runs its statements one after another),
        delaying every one of them; alone it runs beside them. SQLite has no rounds: the same as `fetch`.
        """
        read_pool = self._pool_of.get(store)
        if read_pool is None:
            return await self.fetch(store, statement)
        sql, params = self._pg_sql(statement)
        return await self._run_alone(read_pool, sql, params)

    async def _sqlite_fetch(self, store: str, statement: Any, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        async with self._engines[store].connect() as conn:
            return (await conn.execute(statement, params)).all()

    def in_keys(self, store: str, column: ColumnElement[Any], keys: Sequence[Any]) -> ColumnElement[bool]:
        """Return `column IN keys` as one array parameter on PostgreSQL, a parameter list on SQLite."""
        if self.is_postgres(store):
            return column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))
        return column.in_(list(keys))

    def _template(self, store: str, statement: Keyed, column: KeyedColumnElement[Any]) -> Any:
        """Return `statement` filtered by a `keys` parameter, built (and on PostgreSQL compiled) once.

        `statement` must live as long as the process (a module-level constant or function): the cache is
        keyed on it. A function is given the key test and places it itself (say, inside a subquery).
        """
        postgres = self.is_postgres(store)
        key = (id(statement), column.key, postgres)
        cached = self._templates.get(key)
        if cached is None:
            if postgres:
                keyed = _keyed(statement, column == any_(bindparam("keys", type_=ARRAY(column.type))))
                compiled = keyed.compile(dialect=self._pg_dialect)
                cached = (statement, compiled.string, {k: v for k, v in compiled.params.items() if k != "keys"})
            else:
                cached = (statement, _keyed(statement, column.in_(bindparam("keys", expanding=True))), {})
            self._templates[key] = cached
        return cached

    async def fetch_by_keys(
        self, store: str, statement: Keyed, column: KeyedColumnElement[Any], keys: Sequence[Any], **params: Any
    ) -> list[Any]:
        """Run a (module-level) `statement` filtered to `column IN keys`: one statement on PostgreSQL, chunks on SQLite.

        `params` fill the statement's own named parameters (e.g. a date). On SQLite a row that answers keys
        of several chunks comes once per chunk.
        """
        if not keys:
            return []
        _, template, defaults = self._template(store, statement, column)
        if self.is_postgres(store):
            return await self._run_pg(store, template, {**defaults, **params, "keys": array_literal(keys)})
        rows: list[Any] = []
        for start in range(0, len(keys), SQLITE_CHUNK):
            chunk = {**params, "keys": list(keys[start : start + SQLITE_CHUNK])}
            rows += await _to_completion(self._sqlite_fetch(store, template, chunk))
        return rows

    async def _run_pg(
        self, store: str, sql: str, params: Mapping[str, Any], *, fetch: bool = True, binary: bool = False
    ) -> list[Any]:
        read_pool = self._pool_of[store]
        if fetch and self._rounds is not None:
            return await self._ask_in_round(read_pool, _Statement(sql, params, binary))
        return await self._run_alone(read_pool, sql, params, fetch=fetch, binary=binary)

    async def _run_alone(
        self,
        read_pool: _ReadPool,
        sql: str,
        params: Mapping[str, Any],
        *,
        fetch: bool = True,
        binary: bool = False,
        retried: bool = False,
    ) -> list[Any]:
        pool = await read_pool.ensure_open()
        started = time.perf_counter()
        for retry in (True,) if retried else (False, True):
            died = False
            try:
                async with pool.connection() as conn:
                    try:
                        cursor = await conn.execute(sql, params, binary=binary)
                        rows = await cursor.fetchall() if fetch else []
                    except psycopg.OperationalError:
                        died = conn.broken
                        raise
                break
            except psycopg.OperationalError:
                # Only a read on a connection that died (the server restarted under it) is retried, once, on
                # a fresh connection. A statement the timeout cancelled (QueryCanceled), a pool that had no
                # connection to give (PoolTimeout: an outage), or a write is never run twice.
                if retry or not fetch or not died:
                    raise
        _record(sql, time.perf_counter() - started)
        _round_trip()
        return rows

    async def _ask_in_round(self, read_pool: _ReadPool, statement: _Statement) -> list[Any]:
        """Run a read in this request's round for its database: join the round, or start it and run it.

        The first read of a round waits a few event-loop turns for the others (ROUND_TURNS), sends
        them all in one pipeline and hands each its outcome: its rows, its error, or "run again by
        yourself" (`_Again`), which the read then does in its own task. A round of one is a read alone.
        """
        assert self._rounds is not None  # noqa: S101 - only called in a request's scope
        rounds = self._rounds
        pending = rounds.get(read_pool)
        if pending is not None:
            statement.answer = asyncio.get_running_loop().create_future()
            pending.append(statement)
            return await self._outcome(read_pool, statement, await statement.answer)
        pending = rounds[read_pool] = [statement]
        outcomes: list[Any] = []
        try:
            for turn in range(ROUND_TURNS):
                joined = len(pending)
                await asyncio.sleep(0)
                if turn >= ROUND_MIN_TURNS - 1 and len(pending) == joined:
                    break
            rounds.pop(read_pool)
            if len(pending) == 1:
                return await self._run_alone(read_pool, statement.sql, statement.params, binary=statement.binary)
            outcomes = await self._pipelined(read_pool, pending)
        finally:
            if rounds.get(read_pool) is pending:
                del rounds[read_pool]
            # Cancelled before the round was answered, the reads that joined run by themselves.
            for index, other in enumerate(pending[1:], start=1):
                outcome = outcomes[index] if outcomes else _Again(retried=False)
                if other.answer is not None and not other.answer.done():
                    other.answer.set_result(outcome)
        return await self._outcome(read_pool, statement, outcomes[0])

    async def _outcome(self, read_pool: _ReadPool, statement: _Statement, outcome: Any) -> list[Any]:
        """Return a read's rows from its round, raise its error, or run it alone when it must run again."""
        if isinstance(outcome, _Again):
            return await self._run_alone(read_pool, statement.sql, statement.params, binary=statement.binary,
                                         retried=outcome.retried)  # fmt: skip
        if isinstance(outcome, BaseException):
            raise outcome
        rows, seconds = outcome
        _record(statement.sql, seconds)
        return rows  # type: ignore[no-any-return]

    async def _pipelined(self, read_pool: _ReadPool, statements: list[_Statement]) -> list[Any]:
        """Send a round's statements in one pipeline; return each one's (rows, seconds), error or _Again.

        In a pipeline, the first statement that fails aborts the ones after it until the pipeline's
        sync: it gets its own error, and those after it run again by themselves, so that each read
        fails (or succeeds) as it would alone. A connection that died counts as every read's first
        attempt (a lone read is retried once on a fresh connection only then).
        """
        started = time.perf_counter()
        died = False
        try:
            pool = await read_pool.ensure_open()
            async with pool.connection() as conn:
                cursors: list[Any] = []
                failure: BaseException | None = None
                try:
                    async with conn.pipeline():
                        for statement in statements:
                            sent = await conn.execute(statement.sql, statement.params, binary=statement.binary)
                            cursors.append(sent)  # one by one: the cursors sent before a failure count
                except psycopg.Error as error:
                    failure = error  # the first statement that failed: the ones after it were aborted
                    died = conn.broken
                    if died:
                        raise
                seconds = time.perf_counter() - started
                # Read the rows while the connection is still this round's (a cursor reads through it).
                outcomes: list[Any] = []
                for index in range(len(statements)):
                    cursor = cursors[index] if index < len(cursors) else None
                    if cursor is not None and cursor.pgresult is not None:
                        outcomes.append((await cursor.fetchall(), seconds))
                    elif failure is not None and not isinstance(failure, psycopg.errors.PipelineAborted):
                        outcomes.append(failure)  # the statement's own error (a timeout, say): never run twice
                        failure = psycopg.errors.PipelineAborted("aborted by an earlier statement of its round")
                    else:
                        outcomes.append(_Again(retried=False))
        except psycopg.OperationalError as error:
            # A connection that died under the round: every read runs again by itself, once (as a lone
            # read on a dead connection is retried once). No connection to be had (PoolTimeout): an outage.
            return [_Again(retried=True) if died else error for _ in statements]
        except Exception:  # noqa: BLE001 - not the database's: each read meets its own error alone
            return [_Again(retried=False) for _ in statements]
        _round_trip()
        return outcomes

    async def ready(self, store: str, *, write: bool = False, write_tables: tuple[str, ...] = ()) -> bool:
        """Tell whether a store answers on the connections that serve it, and (`write`) takes writes.

        PostgreSQL: a connection from the read pool (the one reads and access-log writes use) answers,
        and the server is not read-only (a standby, `default_transaction_read_only`). SQLite: a read
        answers; for writes, the file's disk has room and a write lock can be taken at once (not locked
        by another process, not on a read-only file system).
        """
        if self.is_postgres(store):
            pool = await self._pool_of[store].ensure_open()
            async with pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS read_only, "
                    # The tables written to must exist and take this user's inserts (a schema rolled back, a
                    # table renamed, a role without INSERT): else every personal request would be 503.
                    "coalesce(bool_and(to_regclass(t) IS NOT NULL AND has_table_privilege(to_regclass(t), 'INSERT')),"
                    " true) AS insertable FROM unnest(%s::text[]) AS t",
                    [list(write_tables) if write else []],
                )
                row = await cursor.fetchone()
            return row is not None and not (write and (row[0] or not row[1]))
        async with self._engines[store].connect() as conn:
            await conn.execute(text("SELECT 1"))
        if write:
            path = make_url(self.settings.url_for(store)).database
            if path and path != ":memory:":
                return await asyncio.to_thread(_sqlite_writable, path)
        return True

    def read_pools(self) -> dict[str, AsyncConnectionPool]:
        """Return the read pools by (password-free) database name, for metrics."""
        return {url.rsplit("/", 1)[-1]: p.pool for url, p in self._read_pools.items()}

    async def append(self, store: str, table: Table, shared: dict[str, Any], varying: dict[str, list[Any]]) -> None:
        """Insert one row per element of the `varying` columns, each row also holding the `shared` values.

        One statement: `INSERT ... SELECT ... FROM unnest(arrays)` on PostgreSQL (one round trip, the same
        prepared statement whatever the number of rows), multi-row inserts in one transaction on SQLite.
        """
        count = len(next(iter(varying.values())))
        if not count:
            return
        if not self.is_postgres(store):
            rows = [{**shared, **{k: v[i] for k, v in varying.items()}} for i in range(count)]
            async with self._engines[store].begin() as conn:
                for start in range(0, count, SQLITE_ROWS_PER_INSERT):
                    await conn.execute(insert(table).values(rows[start : start + SQLITE_ROWS_PER_INSERT]))
            return
        shape = (table.name, tuple(shared), tuple(varying))
        sql = self._inserts.get(shape)
        if sql is None:  # one statement per table and set of columns, built once
            columns = {c.key: c for c in table.columns}
            cast = {k: columns[k].type.compile(dialect=self._pg_dialect) for k in (*shared, *varying)}
            arrays = ", ".join(f"%({k})s::{cast[k]}[]" for k in varying)
            values = ", ".join([*(f"%({k})s::{cast[k]}" for k in shared), *(f"u.{k}" for k in varying)])
            names = ", ".join(f'"{k}"' for k in (*shared, *varying))
            sql = self._inserts[shape] = (f"INSERT INTO {table.name} ({names}) SELECT {values} "  # noqa: S608
                                          f"FROM unnest({arrays}) AS u({', '.join(varying)})")  # fmt: skip
        arrays_as_text = {k: array_literal(v) for k, v in varying.items()}
        await self._run_pg(store, sql, {**shared, **arrays_as_text}, fetch=False, binary=True)

    async def dispose(self) -> None:
        """Close every pool."""
        for read_pool in self._read_pools.values():
            if read_pool._opened:  # noqa: SLF001
                await read_pool.pool.close()
        for engine in self._by_url.values():
            await engine.dispose()
