"""FLR's SOAP contracts: ExportGPContracts (a ZIP of XML), QueryGPContracts and GetGPContract.

Every request and answer, and every XML entry of every export, is validated against the WSDLs'
schemas (flr.wsdl, fastlegeinfo.wsdl) with xmlschema; the adapter reproduces the generated FLR
tables row for row on SQLite and PostgreSQL, and a GP leaving a list and a patient changing lists
reach the graph within one poll interval.
"""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from helsegraf.sync.engine import Engine
from helsegraf.upstream import soap
from test_resh_soap import body_element, wsdl_schema
from test_sync_registers import Rig, _ask, generated, register_tables, rig_of, table_rows

PERSONS = 3000
SEED = 11


class Validating(httpx.AsyncBaseTransport):
    """Validates FLR's messages on the way through; unpacks each export and validates its entries."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.answers: dict[str, int] = {}
        self.entries = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if not request.url.path.startswith("/flr/") or response.status_code != 200:
            return response
        contract = "fastlegeinfo" if request.url.path.startswith("/flr/export/") else "flr"
        wsdl_schema(contract).validate(body_element(request.content))
        answer = body_element(response.content)
        wsdl_schema(contract).validate(answer)
        name = etree.QName(answer).localname
        self.answers[name] = self.answers.get(name, 0) + 1
        if name == "ExportGPContractsResponse":
            archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(answer[0].text)))
            for entry in archive.namelist():
                wsdl_schema("flr").validate(etree.fromstring(archive.read(entry)))
                self.entries += 1
        return response


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> Any:
    async for made in rig_of(backend, tmp_path, frozenset({"flr"}), Validating, PERSONS, SEED, timeout_s=30):
        yield made


def _engine(rig: Rig, url: str) -> Engine:
    [engine] = rig.engines({"flr": url})
    return engine


async def test_the_export_and_the_contract_list_validate_and_read_back_row_for_row(rig: Rig) -> None:
    url = rig.database("flr", ("flr",))
    engine = _engine(rig, url)
    try:
        await engine.run_once()
    finally:
        engine.close()
    source = rig.upstream.flr
    assert source is not None
    answers = rig.transport.answers
    municipalities = {c["municipality_code"] for c in source.contracts.values()}
    offices = {c["office_org_number"] for c in source.contracts.values()}
    assert answers["ExportGPContractsResponse"] == len(municipalities) >= 2
    assert rig.transport.entries == len(offices)
    assert answers["QueryGPContractsResponse"] >= 1
    assert "GetGPContractResponse" not in answers  # a first load is the export's
    reference = generated(rig, "flr")
    for table in register_tables("flr"):
        expected = table_rows(reference, table)
        assert expected, table
        assert table_rows(url, table) == expected, table


async def test_query_without_a_municipality_lists_every_contract_and_refuses_a_page_too_large(rig: Rig) -> None:
    source = rig.upstream.flr
    assert source is not None
    headers, body = soap.request("flr", "QueryGPContracts", queryParameters={"Page": 1, "PageSize": 1})
    listed = soap.read(
        "flr", "QueryGPContracts", (await rig.client.post("/flr/", content=body, headers=headers)).content
    )
    assert listed.Total == len(source.contracts)
    assert len(listed.Results.GPContract) == 1
    assert listed.Results.GPContract[0].PatientList is None  # the list is in GetGPContract and the export
    headers, body = soap.request("flr", "QueryGPContracts", queryParameters={"Page": 1, "PageSize": 5000})
    refused = await rig.client.post("/flr/", content=body, headers=headers)
    assert soap.is_fault(refused.status_code, refused.content)
    headers, body = soap.request("flr", "GetGPContract", gpContractId=1)
    missing = await rig.client.post("/flr/", content=body, headers=headers)
    with pytest.raises(soap.SoapFaultError, match="not found"):
        soap.read("flr", "GetGPContract", missing.content)


async def test_a_gp_leaving_a_list_and_a_patient_changing_lists_reach_the_graph(rig: Rig) -> None:
    from helsegraf.config import Settings  # noqa: PLC0415
    from helsegraf.data.load import load  # noqa: PLC0415
    from helsegraf.data.nation import TABLE_ORDER  # noqa: PLC0415
    from helsegraf.migrate import upgrade  # noqa: PLC0415

    shared = rig.database("graph", ())
    settings = Settings(home=rig.tmp, database_url=shared)
    upgrade(settings)
    load(settings, rig.upstream.world, tables=[t for t in TABLE_ORDER if not t.startswith("flr_")])
    own = rig.database("own_flr", ("flr",))
    engine = _engine(rig, own)
    await engine.run_once()
    engine.close()
    done = rig.upstream.day_of_changes()["flr"]
    left_contract, left_hpr = done["gp_left"]
    _from, to, membership = done["patient_moved"]
    source = rig.upstream.flr
    assert source is not None
    moved = next(m for m in source.memberships[to] if m["id"] == membership)
    today = rig.upstream.world.as_of + timedelta(days=1)

    engine = _engine(rig, own)
    stop = asyncio.Event()
    follower = asyncio.create_task(engine.follow(0.2, stop, lambda _e: None))
    await asyncio.sleep(0.6)
    stop.set()
    await follower
    engine.close()
    assert rig.transport.answers["GetGPContractResponse"] == 2

    query = """query($c: ID!, $n: ID!, $on: Date!) {
      gpContract(id: $c) { gpPeriods { hprNumber validTo } updatedOn }
      person(nin: $n) { gp(at: $on) { contract { id } beginReason { code } } }
      registers { name cursor lag } }"""
    graph = Settings(home=rig.tmp, database_url=shared, register_urls={"flr": own})
    body, _ = await _ask(graph, query, {"c": str(left_contract), "n": moved["nin"], "on": str(today)})
    assert "errors" not in body, body
    periods = {p["hprNumber"]: p for p in body["data"]["gpContract"]["gpPeriods"]}
    assert periods[left_hpr]["validTo"] == str(today)
    assert body["data"]["gpContract"]["updatedOn"].startswith(str(today))
    assert body["data"]["person"]["gp"] == {"contract": {"id": str(to)}, "beginReason": {"code": "BY"}}
    flr = next(r for r in body["data"]["registers"] if r["name"] == "flr")
    assert flr["cursor"] is not None and flr["lag"] < 30  # noqa: PT018
    # The list's listetak was lowered that day: the sync closed its period and opened one (flr_gp_contract_terms).
    terms = [r for r in table_rows(own, "flr_gp_contract_terms") if r[0] == left_contract]
    before = source.contracts[left_contract]["max_patients"] + 100
    found = [(str(r[1])[:10], r[5] and str(r[5])[:10], r[2]) for r in terms]  # valid_from, valid_to, max_patients
    assert found[-2:] == [(found[-2][0], str(today), before), (str(today), None, before - 100)]
    # The synced rows are FLR's after the day, row for row.
    rows = table_rows(own, "flr_list_membership")
    assert (membership, moved["nin"], to) in {r[:3] for r in rows}


def test_an_integer_postal_code_gets_its_leading_zero_back_and_sentinel_dates_are_null() -> None:
    """`PhysicalAddress.PostalCode` is `xs:int` (0150 arrives as 150); FLR may send year 9999 for an open end."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from helsegraf.sync.flr import contract_rows  # noqa: PLC0415

    contract = {
        "Id": 7, "GPOfficeOrganizationNumber": 31_000_013, "MaxPatients": 900, "Municipality": {"CodeValue": "0301"},
        "Status": {"CodeValue": "FAAA", "OID": 7751}, "UpdatedOn": datetime(2026, 1, 2, tzinfo=UTC),
        "Valid": {"From": datetime(2020, 1, 1, tzinfo=UTC), "To": datetime(9999, 12, 31, tzinfo=UTC)},
        "OutOfOfficeOffices": {"OutOfOfficeLocation": [{"Id": 3, "Description": "Utekontor",
            "PhysicalAddresses": {"PhysicalAddress": [{"PostalCode": 150, "StreetAddress": "Storgata 1",
                                                       "City": "Oslo"}]},
            "Valid": {"From": datetime(2021, 1, 1, tzinfo=UTC), "To": datetime(1, 1, 1, tzinfo=UTC)}}]},
    }  # fmt: skip
    body = soap.answer("flr", "GetGPContract", GetGPContractResult=contract)
    wsdl_schema("flr").validate(body_element(body))
    rows = contract_rows(soap.read("flr", "GetGPContract", body))
    [outside] = rows["flr_out_of_office"]
    assert outside["postal_code"] == "0150"
    assert outside["valid_to"] is None
    [row] = rows["flr_gp_contract"]
    assert row["valid_to"] is None
    assert row["office_org_number"] == "031000013"
    assert row["is_open"] is True
