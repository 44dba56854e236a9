"""The sync engine against the registers' fakes: bootstrap, following, faults, restarts (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from helsegraf.config import Settings
from helsegraf.data.load import load
from helsegraf.data.nation import TABLE_ORDER, generate
from helsegraf.migrate import upgrade
from helsegraf.models import METADATA
from helsegraf.sync import Sources, adapters
from helsegraf.sync.bed import BedSource
from helsegraf.sync.engine import Backoff, Engine, SyncLockedError, register_lock
from helsegraf.sync.preg import PregSource
from helsegraf.upstream.server import Upstream
from conftest import create_postgres_database, drop_postgres_database

PERSONS = 1500
SEED = 7
SYNCED = ("preg", "bed")


def register_tables(register: str) -> list[str]:
    """The register's data tables (not the sync bookkeeping)."""
    return [name for name in METADATA[register].tables if "_sync_" not in name]


def table_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, in key order, with times normalised to UTC."""
    model = next(m.tables[table] for m in METADATA.values() if table in m.tables)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(model).order_by(*model.primary_key.columns)).all()
    finally:
        engine.dispose()

    def norm(value: Any) -> Any:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return value

    return [tuple(norm(v) for v in row) for row in rows]


@dataclass
class Rig:
    """A nation's fakes, a client that reaches them in-process, and databases to sync into."""

    upstream: Upstream
    client: httpx.AsyncClient
    backend: str
    tmp: Path
    urls: list[str]

    def database(self, name: str) -> str:
        """Return a new, migrated database URL on the backend under test."""
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp / name}.db"
        else:
            url = create_postgres_database(f"helsegraf_sync_{name}")
            self.urls.append(url)
        upgrade(Settings(home=self.tmp, database_url=url), stores=SYNCED)
        return url

    def engines(self, url: str, **options: Any) -> list[Engine]:
        """Return an engine per register, on one database."""
        sources = Sources(PregSource("http://upstream/persontjenesten", "http://upstream/persontjenesten/connect/token",
                                     "helsegraf-sync", "rehearsal-secret"),
                          BedSource("http://upstream/enhetsregisteret/api"))  # fmt: skip
        options.setdefault("backoff", Backoff(base_s=0.01, cap_s=0.05))
        return [Engine(a, url, self.client, **options) for a in adapters(sources, set(SYNCED))]

    async def sync_once(self, url: str, **options: Any) -> list[Engine]:
        """Run every register's engine once."""
        engines = self.engines(url, **options)
        try:
            for engine in engines:
                await engine.run_once()
        finally:
            for engine in engines:
                engine.close()
        return engines


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """Fakes of PREG and BED over a fresh nation, reached through httpx's ASGI transport."""
    world = generate(PERSONS, SEED)
    upstream = Upstream(world, frozenset(SYNCED))
    transport = httpx.ASGITransport(app=upstream.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://upstream", timeout=5) as client:
        rig = Rig(upstream, client, backend, tmp_path, [])
        yield rig
    for url in rig.urls:
        drop_postgres_database(url)


def generated(world: Any, tmp: Path, backend: str, urls: list[str]) -> str:
    """Load the generated nation the ordinary way (the generator's own rows) and return the URL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'generated.db'}"
    else:
        url = create_postgres_database("helsegraf_sync_generated")
        urls.append(url)
    settings = Settings(home=tmp, database_url=url)
    upgrade(settings, stores=SYNCED)
    only = type(world)(seed=world.seed, persons=world.persons, as_of=world.as_of)
    only.tables = {name: table for name, table in world.tables.items() if name.split("_", 1)[0] in SYNCED}
    _load_only(settings, only)
    return url


def _load_only(settings: Settings, world: Any) -> None:
    load(settings, world, tables=[t for t in TABLE_ORDER if t in world.tables])


async def test_bootstrap_reproduces_the_generated_nation_row_for_row(rig: Rig) -> None:
    synced = rig.database("synced")
    engines = await rig.sync_once(synced)
    reference = generated(rig.upstream.world, rig.tmp, rig.backend, rig.urls)
    for register in SYNCED:
        for table in register_tables(register):
            expected = table_rows(reference, table)
            assert expected, f"the generator made no {table} rows"
            assert table_rows(synced, table) == expected, table
    preg = engines[0]
    assert preg.status.applied["events"] == PERSONS
    assert preg.status.positions["events"] == rig.upstream.preg.latest  # type: ignore[union-attr]
    # The credentials were used: a token was fetched from the fake HelseID, once.
    assert rig.upstream.issuer.issued == 1
