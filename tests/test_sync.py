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
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from sqlalchemy import create_engine, select, text
from starlette.datastructures import Headers
from werkzeug.datastructures import ImmutableMultiDict

from helsegraf.config import Settings
from helsegraf.data.load import load
from helsegraf.data.nation import TABLE_ORDER, generate
from helsegraf.migrate import upgrade
from helsegraf.models import METADATA
from helsegraf.sync import Sources, adapters
from helsegraf.sync.bed import BedSource
from helsegraf.sync.engine import Backoff, Engine, SyncLockedError, register_lock
from helsegraf.sync.preg import PregSource
from helsegraf.upstream.contracts import openapi_document
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
    transport: ContractCheckingTransport
    malformed_on_purpose: bool = False

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


class _Request:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = f"{request.url.scheme}://{request.url.host}"
        self.path = request.url.path
        self.method = request.method.lower()
        self.body = request.content
        self.content_type = request.headers.get("content-type", "application/octet-stream")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())), header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(), path={},
        )  # fmt: skip


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))


CONTRACTS = {"/persontjenesten": "persontjenesten", "/enhetsregisteret/api": "enhetsregisteret"}


class ContractCheckingTransport(httpx.AsyncBaseTransport):
    """Validates every request the sync sends and every response a fake answers against the contract."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.checked = 0
        self.violations: list[str] = []
        self.specs = {}
        for prefix, name in CONTRACTS.items():
            document = openapi_document(name)
            document["servers"] = [{"url": f"http://upstream{prefix}"}]
            self.specs[prefix] = OpenAPI.from_dict(document)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        prefix = next((p for p in CONTRACTS if request.url.path.startswith(p + "/")), None)
        # The token endpoint is HelseID's, not the register's; faults (5xx, 429) are not in the contracts.
        if prefix and not request.url.path.endswith("/connect/token") and response.status_code < 429:  # noqa: PLR2004
            spec = self.specs[prefix]
            try:
                spec.validate_request(_Request(request))
                spec.validate_response(_Request(request), _Response(response))
                self.checked += 1
            except Exception as exc:  # noqa: BLE001 - every violation is collected and reported
                details = getattr(exc, "schema_errors", None) or getattr(exc, "__cause__", None) or exc
                self.violations.append(f"{request.method} {request.url.path}: {exc}: {details}"[:2000])
        return response


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """Fakes of PREG and BED over a fresh nation, reached through httpx's ASGI transport.

    Every exchange is checked against the registers' OpenAPI documents; a test that makes a fake
    send a malformed document on purpose sets `rig.malformed_on_purpose`.
    """
    world = generate(PERSONS, SEED)
    upstream = Upstream(world, frozenset(SYNCED))
    transport = ContractCheckingTransport(httpx.ASGITransport(app=upstream.app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://upstream", timeout=5) as client:
        rig = Rig(upstream, client, backend, tmp_path, [], transport)
        yield rig
    for url in rig.urls:
        drop_postgres_database(url)
    if not rig.malformed_on_purpose:
        assert transport.violations == []
        assert transport.checked > 0


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


async def test_the_contract_check_catches_a_fake_that_drifts(rig: Rig) -> None:
    """The checking transport is not a rubber stamp: a response off the contract is reported."""
    rig.malformed_on_purpose = True
    await rig.sync_once(rig.database("checked"))
    assert rig.transport.checked > 10
    assert rig.transport.violations == []
    some = next(iter(rig.upstream.preg.people))  # type: ignore[union-attr]
    rig.upstream.preg_faults.malformed.add(some)
    await rig.client.post(
        "http://upstream/persontjenesten/api/legal-basis/person/bulk-by-id",
        params={"informationParts": ["Name"]}, data={"personIds": [some]},
        headers={"api-version": "2", "authorization": rig.client.headers.get("authorization", "")},
    )  # fmt: skip
    assert len(rig.transport.violations) == 1
    assert "bulk-by-id" in rig.transport.violations[0]
