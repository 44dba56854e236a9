"""A SOAP source answering badly (not XML, empty, foreign, a fault) never ends the follower (SQLite, PostgreSQL).

RESH and FLR are followed over SOAP. Whatever one operation answers, the follower logs and counts
it (a retry) or records a skip, keeps polling, and once the source answers well again the register
is reproduced row for row. No log line carries a national identity number.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from helsegraf.sync.engine import Engine
from helsegraf.upstream import soap
from test_sync_registers import Rig, generated, register_tables, rig_of, table_rows

PERSONS = 600
SEED = 5
NIN = re.compile(r"(?<!\d)\d{11}(?!\d)")
MEDIA = {"content-type": soap.MEDIA}


def _foreign(contract: str, name: str) -> bytes:
    if contract == "fastlegeinfo":  # one operation only: another contract's answer
        return soap.answer("flr", "GetGPContract")
    other = {"resh": "GetModifiedParentLinks", "flr": "GetGPContract"}[contract]
    return soap.answer(contract, other if other != name else "GetModifiedReshIds")


def _empty(contract: str, name: str) -> bytes:
    """An answer envelope holding the operation's response element and nothing in it."""
    qname = soap.operation(contract, name).output.body.qname
    envelope = etree.Element(f"{soap.ENVELOPE}Envelope")
    etree.SubElement(etree.SubElement(envelope, f"{soap.ENVELOPE}Body"), qname)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


BAD = {
    "not XML": lambda *_: (200, b"<<< not xml"),
    "an empty answer": lambda contract, name: (200, _empty(contract, name)),
    "another operation's answer": lambda contract, name: (200, _foreign(contract, name)),
    "a SOAP fault": lambda *_: (500, soap.fault("Service is temporarily unavailable", "s:Server")),
    "an empty body": lambda *_: (200, b""),
}


class Spoiling(httpx.AsyncBaseTransport):
    """Answers one SOAP operation badly while `spoil` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.spoil: tuple[str, str, Any] | None = None  # (contract, operation, answer)
        self.spoiled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.spoil is not None:
            contract, name, bad = self.spoil
            await request.aread()
            if f"<ns0:{name} ".encode() in request.content or f"<ns0:{name}>".encode() in request.content:
                self.spoiled += 1
                status, body = bad(contract, name)
                return httpx.Response(status, content=body, headers=MEDIA, request=request)
        return await self.inner.handle_async_request(request)


async def spoilable_rig(backend: str, tmp_path: Path, registers: frozenset[str]) -> Any:
    """A rig whose fakes of `registers` answer through a `Spoiling` transport (`rig.transport`)."""
    async for made in rig_of(backend, tmp_path, registers, Spoiling, PERSONS, SEED):
        yield made


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> Any:
    async for made in spoilable_rig(backend, tmp_path, frozenset({"resh", "flr"})):
        yield made


def _engine(rig: Rig, register: str, url: str) -> Engine:
    [engine] = rig.engines({register: url}, max_attempts=2)
    return engine


FIRST_LOAD = [("resh", "GetModifiedReshIds"), ("resh", "GetModifiedParentLinks"), ("resh", "GetReshUnit"),
              ("flr", "QueryGPContracts"), ("flr", "ExportGPContracts")]  # fmt: skip


LISTS = frozenset({"GetModifiedReshIds", "GetModifiedParentLinks", "QueryGPContracts", "ExportGPContracts"})


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize(("register", "operation"), FIRST_LOAD)
async def test_a_bad_answer_is_logged_and_counted_and_the_follower_goes_on(
    rig: Rig, register: str, operation: str, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = rig.database(register, (register,))
    engine = _engine(rig, register, url)
    transport = rig.transport
    transport.spoil = ("fastlegeinfo" if operation == "ExportGPContracts" else register, operation, BAD[bad])
    stop = asyncio.Event()
    caplog.set_level(logging.WARNING, logger="helsegraf")
    try:
        follower = asyncio.create_task(engine.follow(0.05, stop, lambda _e: None))
        await asyncio.sleep(0.6)
        assert not follower.done(), follower.exception() if follower.done() else None
        assert transport.spoiled >= 1
        if bad != "an empty answer" or operation not in LISTS:  # an empty change list says nothing changed
            assert sum(engine.errors.values()) + sum(engine.status.skipped.values()) >= 1, engine.errors
        transport.spoil = None
        stop.set()
        await follower  # ends as asked, without an exception
        again = _engine(rig, register, url)
        try:
            await again.run_once()
        finally:
            again.close()
    finally:
        stop.set()
        engine.close()
    assert not [r.getMessage() for r in caplog.records if NIN.search(r.getMessage())]
    if operation in LISTS:
        reference = generated(rig, register)
        for table in register_tables(register):
            assert table_rows(url, table) == table_rows(reference, table), table
