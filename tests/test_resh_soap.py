"""RESH's SOAP contract: the fake's answers validate against resh.wsdl, and the sync reads them back row for row.

Every answer the fake sends in a bootstrap (GetModifiedReshIds, GetModifiedParentLinks, GetReshUnit
for each unit, the not-found fault) is validated against the schemas embedded in the WSDL with
xmlschema; the adapter then reproduces the generated RESH tables on SQLite and PostgreSQL, and a
moved unit reaches the graph.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmlschema
from lxml import etree

from helsegraf.sync.engine import Engine
from helsegraf.upstream import soap
from test_sync_registers import Rig, _ask, generated, register_tables, rig_of, table_rows

WSDL_NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "xs": "http://www.w3.org/2001/XMLSchema"}
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
PERSONS = 1500
SEED = 11


@cache
def wsdl_schema(contract: str) -> xmlschema.XMLSchema:
    """The schemas embedded in a WSDL's types, built together (they import each other's namespaces)."""
    schemas = etree.parse(str(soap.CONTRACTS / f"{contract}.wsdl")).findall(".//wsdl:types/xs:schema", WSDL_NS)
    built = xmlschema.XMLSchema(etree.tostring(schemas[0]).decode(), build=False)
    for other in schemas[1:]:
        built.add_schema(etree.tostring(other).decode())
    built.build()
    return built


def body_element(body: bytes) -> etree._Element:
    return etree.fromstring(body).find(f"{SOAP}Body")[0]


class Validating(httpx.AsyncBaseTransport):
    """Validates every SOAP answer (and request) against the WSDL's schemas on its way through."""

    def __init__(self, inner: httpx.AsyncBaseTransport, contract: str, prefix: str) -> None:
        self.inner, self.contract, self.prefix = inner, contract, prefix
        self.answers: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if request.url.path.startswith(self.prefix) and response.status_code == 200:
            wsdl_schema(self.contract).validate(body_element(request.content))
            answer = body_element(response.content)
            wsdl_schema(self.contract).validate(answer)
            name = etree.QName(answer).localname
            self.answers[name] = self.answers.get(name, 0) + 1
        return response


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> Any:
    wrap = functools.partial(Validating, contract="resh", prefix="/resh/")
    async for made in rig_of(backend, tmp_path, frozenset({"resh"}), wrap, PERSONS, SEED):
        yield made


def _engine(rig: Rig, url: str) -> Engine:
    [engine] = rig.engines({"resh": url})
    return engine


async def test_every_answer_validates_and_reads_back_row_for_row(rig: Rig) -> None:
    url = rig.database("resh", ("resh",))
    engine = _engine(rig, url)
    try:
        await engine.run_once()
    finally:
        engine.close()
    units = len(rig.upstream.world.tables["resh_unit"].rows)
    answers = rig.transport.answers
    assert answers["GetReshUnitResponse"] == units
    assert answers["GetModifiedReshIdsResponse"] == 1
    assert answers["GetModifiedParentLinksResponse"] == 1
    reference = generated(rig, "resh")
    for table in register_tables("resh"):
        expected = table_rows(reference, table)
        assert expected, table
        assert table_rows(url, table) == expected, table


async def test_an_unknown_resh_id_is_a_soap_fault(rig: Rig) -> None:
    headers, body = soap.request("resh", "GetReshUnit", reshId=1, excludeDetails=False, includeChildUnits=False,
                                 treeAtTime=None)  # fmt: skip
    response = await rig.client.post("http://upstream/resh/", content=body, headers=headers)
    assert response.status_code == 500
    assert soap.is_fault(response.status_code, response.content)
    with pytest.raises(soap.SoapFaultError, match="not found"):
        soap.read("resh", "GetReshUnit", response.content)
    malformed = await rig.client.post("http://upstream/resh/", content=b"<not-soap/>", headers=headers)
    assert malformed.status_code == 400


async def test_a_moved_unit_reaches_the_graph_within_one_poll_interval(rig: Rig) -> None:
    from helsegraf.config import Settings  # noqa: PLC0415
    from helsegraf.data.load import load  # noqa: PLC0415
    from helsegraf.data.nation import TABLE_ORDER  # noqa: PLC0415
    from helsegraf.migrate import upgrade  # noqa: PLC0415

    shared = rig.database("graph", ())
    settings = Settings(home=rig.tmp, database_url=shared)
    upgrade(settings)
    load(settings, rig.upstream.world, tables=[t for t in TABLE_ORDER if not t.startswith("resh_")])
    own = rig.database("own_resh", ("resh",))
    engine = _engine(rig, own)
    await engine.run_once()
    engine.close()
    moved = rig.upstream.day_of_changes()["resh"]["moved"][0]
    source = rig.upstream.resh
    assert source is not None
    today = rig.upstream.world.as_of + timedelta(days=1)
    before, after = source.parent(moved, today - timedelta(days=1)), source.parent(moved, today)
    assert before != after

    engine = _engine(rig, own)
    stop = asyncio.Event()
    follower = asyncio.create_task(engine.follow(0.2, stop, lambda _e: None))
    await asyncio.sleep(0.6)
    stop.set()
    await follower
    engine.close()

    query = """query($r: Int!, $before: Date!, $after: Date!) {
      then: reshUnit(reshId: $r) { parent(at: $before) { reshId } }
      now: reshUnit(reshId: $r) { parent(at: $after) { reshId } lastChanged }
      registers { name cursor lag } }"""
    graph = Settings(home=rig.tmp, database_url=shared, register_urls={"resh": own})
    body, _ = await _ask(graph, query, {"r": moved, "before": str(today - timedelta(days=1)), "after": str(today)})
    assert "errors" not in body, body
    assert body["data"]["then"]["parent"]["reshId"] == before
    assert body["data"]["now"]["parent"]["reshId"] == after
    assert body["data"]["now"]["lastChanged"].startswith(str(today))
    resh = next(r for r in body["data"]["registers"] if r["name"] == "resh")
    assert resh["cursor"] is not None and resh["lag"] < 30  # noqa: PT018


@pytest.mark.parametrize("overlap", [300, 0])
async def test_resh_reads_an_overlap_before_its_cursor_so_a_late_change_in_the_same_second_is_not_lost(
    rig: Rig, overlap: int
) -> None:
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    url = rig.database(f"overlap_{overlap}", ("resh",))
    engine = _engine(rig, url)
    engine.adapter.overlap_s = overlap
    source = rig.upstream.resh
    assert source is not None
    try:
        await engine.run_once()
        moved = rig.upstream.resh.day_of_changes(rig.upstream.rng)["moved"][0]  # type: ignore[union-attr]
        await engine.run_once()
        late = next(r for r in sorted(source.units) if r != moved)
        # Changed in the same second as the move, but visible only after the follower read past it.
        source.units[late].update(name="Sent endret enhet", last_changed=source.units[moved]["last_changed"])
        answers = rig.transport.answers
        before = answers["GetReshUnitResponse"]
        await engine.run_once()
        fetched = answers["GetReshUnitResponse"] - before
    finally:
        engine.close()
    synced = create_engine(url)
    try:
        with synced.connect() as conn:
            name = conn.execute(text("SELECT name FROM resh_unit WHERE resh_id = :r"), {"r": late}).scalar()
    finally:
        synced.dispose()
    if overlap:
        assert name == "Sent endret enhet"
        # GetModifiedReshIds names no times: each unit it lists in the overlap (the late one and the moved
        # one) is fetched to learn its LastChanged; only the late one is new.
        assert fetched == 2
    else:
        assert name != "Sent endret enhet"
        assert fetched == 0


def test_sentinel_dates_and_short_organisation_numbers_are_read_as_meant() -> None:
    """An open period may come as year 9999 (or 1); an organisation number is `xs:int` (leading zeros lost)."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from helsegraf.sync.resh import unit_rows  # noqa: PLC0415

    unit = {
        "ReshId": 42, "Name": "Avdeling", "OrganizationNumber": 31_000_013,
        "LastChanged": datetime(2026, 1, 2, tzinfo=UTC),
        "Properties": {"Code": [{"CodeValue": "9", "OID": 8628}]},
        "OrganizationalDesignation": {"CodeValue": "05", "OID": 8624},
        "Valid": {"From": datetime(2002, 1, 1, tzinfo=UTC), "To": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)},
        "Services": {"Service": [{"Code": {"CodeValue": "1001", "OID": 8668}, "OwnerReshId": 1,
                                  "Valid": {"From": datetime(1, 1, 1, tzinfo=UTC), "To": None}}]},
    }  # fmt: skip
    body = soap.answer("resh", "GetReshUnit", GetReshUnitResult=unit)
    wsdl_schema("resh").validate(body_element(body))
    rows = unit_rows(soap.read("resh", "GetReshUnit", body))
    [row] = rows["resh_unit"]
    assert row["valid_to"] is None
    assert row["org_number"] == "031000013"
    assert (row["organizational_level"], row["organizational_designation"], row["unit_type"]) == (
        "9",
        "05",
        "DEPARTMENT",
    )
    assert rows["resh_service"][0]["valid_from"] is None
