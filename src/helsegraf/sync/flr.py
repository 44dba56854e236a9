"""FLR from its SOAP contracts: the contract list by `UpdatedOn`, an export per municipality, then GetGPContract.

FLR's change events are not open to new subscribers. The feed is therefore the contract list:
`QueryGPContracts` without a municipality (paged) names every contract with its `UpdatedOn`, and a
contract whose `UpdatedOn` is at or after the stored position has changed (positions in seconds,
`sync/window.py`). An empty database loads through `ExportGPContracts`, one call per municipality
the list names: a ZIP of `ArrayOfGPContract` XML, one entry per office. After that each changed
contract is fetched with `GetGPContract`. A contract's rows (its doctors' periods, its patient
list, co-operating municipalities and utekontor) are replaced as FLR gives them; every id is FLR's.
"""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import httpx
from lxml import etree
from sqlalchemy import Connection, Table, delete, select, update

from helsegraf.models.flr import (
    TERM_COLUMNS,
    CoopMunicipality,
    GpContract,
    GpContractTerms,
    GpPeriod,
    ListMembership,
    OutOfOfficeLocation,
)
from helsegraf.sync.engine import Batch, Entry, RetryableError, check, upsert
from helsegraf.sync.window import WindowAdapter, position_of
from helsegraf.upstream import soap

READ: Final = "flr"
EXPORT: Final = "fastlegeinfo"
NS: Final = "{http://schemas.nhn.no/reg/flr}"
PAGE_SIZE: Final = 1000
SENTINEL_YEARS: Final = frozenset({1, 9999})
GENDERS: Final = {"1": "MALE", "2": "FEMALE"}
MAX_ZIP_BYTES: Final = 500_000_000
CHILDREN: Final = (GpPeriod, ListMembership, CoopMunicipality, OutOfOfficeLocation)


@dataclass(frozen=True)
class FlrSource:
    """Where FLR's read service and export service are, and their credentials (HTTP basic; repr hides it)."""

    url: str
    export_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _day(value: datetime | None) -> date | None:
    if value is None or value.year in SENTINEL_YEARS:
        return None
    return value.date()


def _moment(value: datetime | None) -> datetime | None:
    if value is None or value.year in SENTINEL_YEARS:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _value(code: Any) -> str | None:
    return None if code is None else code.CodeValue


def _list(container: Any, name: str) -> list[Any]:
    return list(getattr(container, name, None) or []) if container is not None else []


def _postal(value: int | None) -> str | None:
    return None if value is None else f"{int(value):04d}"  # xs:int: 150 is 0150


def contract_rows(c: Any) -> dict[str, list[dict[str, Any]]]:
    """Return a `GPContract` as the rows of FLR's tables."""
    valid = c.Valid
    status = _value(c.Status)
    district = c.GPOffice.District if c.GPOffice is not None else None
    contract = {
        "id": c.Id, "office_org_number": f"{int(c.GPOfficeOrganizationNumber):09d}",
        "municipality_code": _value(c.Municipality), "district": district.CodeText if district else None,
        "max_patients": c.MaxPatients, "is_open": status == "FAAA", "fixed_salary": bool(c.IsFixedSalary),
        "valid_from": _day(valid.From) if valid else None, "valid_to": _day(valid.To) if valid else None,
        "status": status, "patients_on_waiting_list": c.PatientsOnWaitingList,
        "common_list": c.ParticipatesOnCommonList, "agreement_date": _day(c.AgreementDate),
        "end_reason": _value(c.EndReason), "end_reason_text": c.EndReason.CodeText if c.EndReason else None,
        "updated_on": _moment(c.UpdatedOn),
    }  # fmt: skip
    periods = [
        {"id": p.Id, "contract_id": c.Id, "hpr_number": p.HprNumber, "relationship": _value(p.Relationship),
         "substitute_for_hpr_number": p.SubstituteForHprNumber, "working_percentage": p.WorkingPercentage,
         "valid_from": _day(p.Valid.From) if p.Valid else None, "valid_to": _day(p.Valid.To) if p.Valid else None,
         "working_on_days": ",".join(_list(p.WorkingOnDays, "DayOfWeek")) or None,
         "gp_gender": GENDERS.get(_value(p.GP.Sex) or "") if p.GP is not None else None}
        for p in _list(c.DoctorCycles, "GPOnContractAssociation")
    ]  # fmt: skip
    memberships = []
    for m in _list(c.PatientList, "PatientToGPContractAssociation"):
        patient = m.Patient
        memberships.append({
            "id": m.Id, "nin": m.PatientNIN, "contract_id": c.Id, "gp_her_id": m.GPHerId,
            "valid_from": _day(m.Period.From) if m.Period else None,
            "valid_to": _day(m.Period.To) if m.Period else None,
            "patient_birth_date": _day(patient.DateOfBirth) if patient else None,
            "patient_gender": GENDERS.get(_value(patient.Sex) or "") if patient else None,
            "begin_code": _value(m.BeginCode), "end_code": _value(m.EndCode), "updated_on": _moment(m.UpdatedOn),
        })  # fmt: skip
    coop = [{"contract_id": c.Id, "municipality_code": m.CodeValue} for m in _list(c.CoopMunicipalities, "Code")]
    outside = []
    for o in _list(c.OutOfOfficeOffices, "OutOfOfficeLocation"):
        [address, *_] = _list(o.PhysicalAddresses, "PhysicalAddress") or [None]
        outside.append({
            "id": o.Id, "contract_id": c.Id, "description": o.Description,
            "street": address.StreetAddress if address else None,
            "postal_code": _postal(address.PostalCode) if address else None,
            "postal_place": address.City if address else None,
            "valid_from": _day(o.Valid.From) if o.Valid else None, "valid_to": _day(o.Valid.To) if o.Valid else None,
        })  # fmt: skip
    return {"flr_gp_contract": [contract], "flr_gp_period": periods, "flr_list_membership": memberships,
            "flr_coop_municipality": coop, "flr_out_of_office": outside}  # fmt: skip


def read_export(body: bytes) -> dict[int, Any]:
    """Return the contracts in an ExportGPContracts ZIP (its entries' `ArrayOfGPContract`), by id."""
    element = soap.client(READ).get_element(f"{NS}ArrayOfGPContract")  # type: ignore[no-untyped-call]  # zeep ships no types
    found: dict[int, Any] = {}
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        if sum(i.file_size for i in archive.infolist()) > MAX_ZIP_BYTES:
            raise ValueError("the export unpacks to more than the limit")
        for name in archive.namelist():
            parsed = element.parse(etree.fromstring(archive.read(name), soap.PARSER), soap.client(READ).wsdl.types)
            for contract in _list(parsed, "GPContract"):
                found[int(contract.Id)] = contract
    return found


def apply_contracts(conn: Connection, contracts: list[dict[str, list[dict[str, Any]]]]) -> None:
    """Upsert contracts and replace their rows."""
    if not contracts:
        return
    ids = [c["flr_gp_contract"][0]["id"] for c in contracts]
    table: Table = GpContract.__table__  # type: ignore[assignment]
    upsert(conn, table, [c["flr_gp_contract"][0] for c in contracts], ["id"])
    record_terms(conn, [c["flr_gp_contract"][0] for c in contracts])
    for model in CHILDREN:
        child: Table = model.__table__  # type: ignore[assignment]
        for start in range(0, len(ids), 500):
            conn.execute(delete(child).where(child.c.contract_id.in_(ids[start : start + 500])))
        rows = [r for c in contracts for r in c[child.name]]
        for start in range(0, len(rows), 5000):
            conn.execute(child.insert(), rows[start : start + 5000])


def record_terms(conn: Connection, contracts: list[dict[str, Any]], today: date | None = None) -> None:
    """Keep each contract's listetak, open status and fixed salary as periods (flr_gp_contract_terms).

    A contract seen for the first time gets one period over its validity (what FLR tells: today's values).
    When the values differ from its latest period's, that period ends and a new one begins on the day the
    contract changed (FLR's UpdatedOn, else today); changed again on the day its period began (or after the
    contract ended), the period takes the new values. The latest period ends when the contract does.
    """
    from helsegraf.http.context import oslo_today  # noqa: PLC0415 - the sync runs without the HTTP layer loaded

    terms: Table = GpContractTerms.__table__  # type: ignore[assignment]
    ids = [c["id"] for c in contracts]
    latest: dict[int, Any] = {}
    for start in range(0, len(ids), 500):
        for row in conn.execute(select(terms).where(terms.c.contract_id.in_(ids[start : start + 500]))
                                .order_by(terms.c.valid_from)):  # fmt: skip
            latest[row.contract_id] = row
    new: list[dict[str, Any]] = []
    for c in contracts:
        values = {name: c[name] for name in TERM_COLUMNS}
        current = latest.get(c["id"])
        changed_on = c["updated_on"].date() if c.get("updated_on") else (today or oslo_today())
        if current is None:
            new.append({"contract_id": c["id"], "valid_from": c["valid_from"] or changed_on,
                        "valid_to": c["valid_to"], **values})  # fmt: skip
            continue
        mine = (terms.c.contract_id == c["id"]) & (terms.c.valid_from == current.valid_from)
        if values == {name: getattr(current, name) for name in TERM_COLUMNS}:
            if current.valid_to != c["valid_to"]:
                conn.execute(update(terms).where(mine).values(valid_to=c["valid_to"]))
        elif changed_on <= current.valid_from or (c["valid_to"] is not None and changed_on >= c["valid_to"]):
            conn.execute(update(terms).where(mine).values(valid_to=c["valid_to"], **values))
        else:
            conn.execute(update(terms).where(mine).values(valid_to=changed_on))
            new.append({"contract_id": c["id"], "valid_from": changed_on, "valid_to": c["valid_to"], **values})
    if new:
        conn.execute(terms.insert(), new)


class FlrAdapter(WindowAdapter):
    """FLR's contracts into the FLR database: exported per municipality at first, then one by one as they change."""

    register = "flr"
    feeds = ("contracts",)
    page_size = 200

    def __init__(self, source: FlrSource, concurrency: int = 4) -> None:
        self.url, self.export_url = source.url, source.export_url
        self.auth = httpx.BasicAuth(source.username, source.password or "") if source.username else None
        self.concurrency = concurrency

    async def _call(self, client: httpx.AsyncClient, contract: str, url: str, name: str, **arguments: Any) -> Any:
        headers, body = soap.request(contract, name, **arguments)
        if self.auth is not None:
            response = await client.post(url, content=body, headers=headers, auth=self.auth)
        else:
            response = await client.post(url, content=body, headers=headers)
        if not soap.is_fault(response.status_code, response.content):
            check(response, name)
        try:
            return soap.read(contract, name, response.content)
        except soap.SoapFaultError:
            raise
        except (etree.XMLSyntaxError, ValueError, TypeError, AttributeError) as exc:
            raise RetryableError(f"{name}: unreadable answer ({exc.__class__.__name__})") from None

    async def changed(self, client: httpx.AsyncClient, feed: str, since: datetime, after: int) -> list[Entry]:
        """List every contract (QueryGPContracts without a municipality); keep those updated since the moment."""
        del feed
        entries: list[Entry] = []
        page = 1
        while True:
            try:
                result = await self._call(client, READ, self.url, "QueryGPContracts",
                                          queryParameters={"Page": page, "PageSize": PAGE_SIZE})  # fmt: skip
            except soap.SoapFaultError as exc:
                raise RetryableError(f"QueryGPContracts refused: {exc}") from None
            try:
                contracts = _list(result.Results, "GPContract")
                for c in contracts:
                    stamp = _moment(c.UpdatedOn)
                    if stamp is None or stamp >= since:
                        kind = "export" if after == 0 else "changed"
                        entries.append(Entry(position_of(stamp) if stamp else after + 1, f"{int(c.Id):015d}", kind,
                                             stamp, document=_value(c.Municipality)))  # fmt: skip
                total = int(result.Total or 0)
            except (TypeError, ValueError, AttributeError) as exc:
                raise RetryableError(f"QueryGPContracts: unreadable page ({exc.__class__.__name__})") from None
            if not contracts or page * PAGE_SIZE >= total:
                return entries
            page += 1

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Export the municipalities of a first load; fetch changed contracts one by one."""
        limit = asyncio.Semaphore(self.concurrency)
        exported = [e for e in batch.entries if e.kind == "export"]
        found: dict[int, Any] = {}

        async def export(municipality: str) -> None:
            async with limit:
                try:
                    body = await self._call(client, EXPORT, self.export_url, "ExportGPContracts", searchParameters={
                        "GetFullPersonInfo": False, "GetHistoricalData": True,
                        "Municipalities": {"Code": [{"CodeValue": municipality, "OID": 3402}]}})  # fmt: skip
                except soap.SoapFaultError as exc:
                    raise RetryableError(f"ExportGPContracts refused: {exc}") from None
            raw = body if isinstance(body, bytes) else base64.b64decode(body or b"")
            try:
                found.update(read_export(raw))
            except (zipfile.BadZipFile, etree.XMLSyntaxError, ValueError) as exc:
                raise RetryableError(f"ExportGPContracts: unreadable export ({exc.__class__.__name__})") from None

        async def one(entry: Entry) -> None:
            async with limit:
                try:
                    found[int(entry.key)] = await self._call(client, READ, self.url, "GetGPContract",
                                                             gpContractId=int(entry.key))  # fmt: skip
                except soap.SoapFaultError:
                    batch.skipped[entry.position] = "contract not returned by GetGPContract"

        municipalities = sorted({e.document for e in exported if e.document})
        await asyncio.gather(*(export(m) for m in municipalities),
                             *(one(e) for e in batch.entries if e.kind != "export"))  # fmt: skip
        for entry in batch.entries:
            contract = found.get(int(entry.key))
            if contract is None:
                batch.skipped.setdefault(entry.position, "contract missing from FLR's answer")
                continue
            try:
                batch.documents[entry.key] = contract_rows(contract)
            except (TypeError, ValueError, AttributeError) as exc:
                batch.skipped[entry.position] = f"malformed contract ({exc.__class__.__name__})"

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Replace the changed contracts' rows."""
        apply_contracts(conn, list(batch.documents.values()))
        return len(batch.documents)
