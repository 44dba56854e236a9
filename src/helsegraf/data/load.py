"""Bulk-load a generated nation: COPY on PostgreSQL, executemany on SQLite, one transaction per store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy import Table as SaTable
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from helsegraf.config import Settings
from helsegraf.data.nation import TABLE_ORDER
from helsegraf.data.world import Table, World
from helsegraf.models import METADATA
from helsegraf.registers import REGISTERS

SQLITE_BATCH = 20_000
COPY_REPORT_EVERY = 50_000


class LoadError(RuntimeError):
    """Raised when a table cannot be loaded; names the table and the database's reason."""


def store_of(table: str) -> str:
    """Return the register a table belongs to (its name's prefix)."""
    return table.split("_", 1)[0]


def populated_registers(settings: Settings) -> dict[str, int]:
    """Return the registers whose tables already hold rows, with a row count of their first table."""
    found: dict[str, int] = {}
    for register in REGISTERS:
        first = next(iter(METADATA[register].tables.values()))
        engine = create_engine(settings.url_for(register), hide_parameters=True)
        try:
            with engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(first)).scalar_one()
        finally:
            engine.dispose()
        if count:
            found[register] = count
    return found


def load(
    settings: Settings,
    world: World,
    on_rows: Callable[[str, int], None] = lambda _t, _n: None,
    tables: Iterable[str] = TABLE_ORDER,
) -> dict[str, int]:
    """Insert every generated table (or the named ones) into its store's database; return rows per table."""
    engines: dict[str, Engine] = {}
    loaded: dict[str, int] = {}
    try:
        for name in tables:
            table = world.tables[name]
            url = settings.url_for(store_of(name))
            engine = engines.get(url) or engines.setdefault(url, create_engine(url, hide_parameters=True))
            try:
                if engine.dialect.name == "postgresql":
                    _copy(engine, table, on_rows)
                else:
                    _executemany(engine, table, on_rows)
            except Exception as exc:
                msg = f"loading {name} failed: {exc.__class__.__name__}: {exc}"
                raise LoadError(msg) from exc
            loaded[name] = len(table.rows)
        for engine in engines.values():
            _analyze(engine)
    finally:
        for engine in engines.values():
            engine.dispose()
    return loaded


def _model_table(name: str) -> SaTable:
    return METADATA[store_of(name)].tables[name]


def _copy(engine: Engine, table: Table, on_rows: Callable[[str, int], None]) -> None:
    """COPY rows in, with the table's indexes and foreign keys dropped meanwhile and rebuilt after.

    Building an index or validating a foreign key once over the loaded table is many times
    faster than maintaining it row by row.
    """
    model = _model_table(table.name)
    columns = ", ".join(f'"{column}"' for column in table.columns)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for constraint in model.foreign_key_constraints:
            conn.execute(DropConstraint(constraint))
        for index in model.indexes:
            conn.execute(DropIndex(index))
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for done, row in enumerate(table.rows, start=1):
                copy.write_row(row)
                if done % COPY_REPORT_EVERY == 0:
                    on_rows(table.name, COPY_REPORT_EVERY)
        for index in model.indexes:
            conn.execute(CreateIndex(index))
        for constraint in model.foreign_key_constraints:
            conn.execute(AddConstraint(constraint))
    on_rows(table.name, len(table.rows) % COPY_REPORT_EVERY)


def _batches(rows: list[tuple[Any, ...]], size: int) -> Iterable[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _executemany(engine: Engine, table: Table, on_rows: Callable[[str, int], None]) -> None:
    placeholders = ", ".join("?" for _ in table.columns)
    columns = ", ".join(f'"{column}"' for column in table.columns)
    statement = f"INSERT INTO {table.name} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names are ours
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        for batch in _batches(table.rows, SQLITE_BATCH):
            cursor.executemany(statement, batch)
            on_rows(table.name, len(batch))
        raw.commit()
    finally:
        raw.close()


def _analyze(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
