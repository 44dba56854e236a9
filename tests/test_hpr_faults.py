"""HPR's SOAP source answering badly never ends its follower, and nothing is lost (SQLite, PostgreSQL).

The change list (HentRegisterEndringer) answered badly is retried; a bad HentPersoner answer falls
back to HentPerson per number. Either way the follower keeps polling, counts what went wrong, logs no
national identity number, and once the source answers well the register is reproduced row for row.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from helsegraf.data.nation import generate
from helsegraf.upstream import soap
from helsegraf.upstream.server import Upstream
from test_soap_faults import MEDIA, NIN, _engine
from test_sync_registers import Rig, generated, register_tables, table_rows

PERSONS = 600
SEED = 5

BAD = {
    "not XML": (200, b"<<< not xml"),
    "an empty body": (200, b""),
    "a SOAP fault": (500, soap.fault("Service is temporarily unavailable", "s:Server")),
    "a truncated answer": (
        200,
        b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>',
    ),
}


class Spoiling(httpx.AsyncBaseTransport):
    """Answers one HPR operation badly while `spoil` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.spoil: tuple[re.Pattern[bytes], tuple[int, bytes]] | None = None
        self.spoiled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.spoil is not None:
            pattern, (status, body) = self.spoil
            await request.aread()
            if pattern.search(request.content):
                self.spoiled += 1
                return httpx.Response(status, content=body, headers=MEDIA, request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> Any:
    upstream = Upstream(generate(PERSONS, SEED), frozenset({"hpr"}))
    transport = Spoiling(httpx.ASGITransport(app=upstream.app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://upstream", timeout=10) as client:
        rig = Rig(upstream, client, backend, tmp_path, [])
        rig.transport = transport  # type: ignore[attr-defined]
        yield rig
    from conftest import drop_postgres_database  # noqa: PLC0415

    for url in rig.urls:
        drop_postgres_database(url)


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("operation", ["HentRegisterEndringer", "HentPersoner"])
async def test_a_bad_hpr_answer_is_counted_and_the_follower_goes_on(
    rig: Rig, operation: str, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = rig.database("hpr", ("hpr",))
    engine = _engine(rig, "hpr", url)
    transport = rig.transport  # type: ignore[attr-defined]
    transport.spoil = (re.compile(rb"<(\w+:)?" + operation.encode() + rb"[\s>/]"), BAD[bad])
    stop = asyncio.Event()
    caplog.set_level(logging.WARNING, logger="helsegraf")
    try:
        follower = asyncio.create_task(engine.follow(0.05, stop, lambda _e: None))
        await asyncio.sleep(1.0)
        assert not follower.done(), follower.exception() if follower.done() else None
        assert transport.spoiled >= 1
        if operation == "HentRegisterEndringer":  # nothing can be applied while the change list is unreadable
            assert sum(engine.errors.values()) >= 1, engine.errors
        transport.spoil = None
        stop.set()
        await follower  # ends as asked, without an exception
        again = _engine(rig, "hpr", url)
        try:
            await again.run_once()
        finally:
            again.close()
    finally:
        stop.set()
        engine.close()
    assert not [r.getMessage() for r in caplog.records if NIN.search(r.getMessage())]
    reference = generated(rig, "hpr")
    for table in register_tables("hpr"):
        assert table_rows(url, table) == table_rows(reference, table), table
