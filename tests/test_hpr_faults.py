"""HPR's SOAP source answering badly never ends its follower, and nothing is lost (SQLite, PostgreSQL).

The change list (HentRegisterEndringer) answered badly is retried; a bad HentPersoner answer falls
back to HentPerson per number. Either way the follower keeps polling, counts what went wrong, logs no
national identity number, and once the source answers well the register is reproduced row for row.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from helsegraf.upstream import soap
from test_soap_faults import NIN, _engine, spoilable_rig
from test_sync_registers import Rig, generated, register_tables, table_rows

BAD = {
    "not XML": (200, b"<<< not xml"),
    "an empty body": (200, b""),
    "a SOAP fault": (500, soap.fault("Service is temporarily unavailable", "s:Server")),
    "a truncated answer": (
        200,
        b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>',
    ),
}


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> Any:
    async for made in spoilable_rig(backend, tmp_path, frozenset({"hpr"})):
        yield made


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("operation", ["HentRegisterEndringer", "HentPersoner"])
async def test_a_bad_hpr_answer_is_counted_and_the_follower_goes_on(
    rig: Rig, operation: str, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = rig.database("hpr", ("hpr",))
    engine = _engine(rig, "hpr", url)
    transport = rig.transport
    transport.spoil = ("hpr", operation, lambda *_: BAD[bad])
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
