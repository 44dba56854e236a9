"""RESH from its SOAP contract: GetModifiedReshIds and GetModifiedParentLinks since a moment, then GetReshUnit.

RESH's changes are named by time, like HPR's: `GetModifiedReshIds(date)` lists the units changed
since a moment, without saying when. Each is fetched with `GetReshUnit`, whose `LastChanged` gives
its position (whole seconds since 1970, as in `sync/hpr.py`: position P means every change stamped
before second P has been applied). Parent links carry no change time at all: they are read with
the same moment as the units and applied with the window's last batch, once every unit they join
is stored. A link is keyed by (unit, parent, start): a moved unit's old link gets its end, the new
one is added (numbered here; the contract gives links no id). Services are replaced per unit.

The unit's organisational level is its `Properties` code of system 8628, the designation its
`OrganizationalDesignation` (8624); the deprecated `unit_type` is derived from the pair.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import httpx
from lxml import etree
from sqlalchemy import Connection, Table, and_, delete, func, select, update

from helsegraf.data.hospitals_details import LEVEL_AND_DESIGNATION
from helsegraf.models.resh import ParentLink, ReshService, ReshUnit
from helsegraf.sync.engine import Batch, Entry, RetryableError, check, upsert
from helsegraf.sync.window import WindowAdapter, position_of
from helsegraf.upstream import soap

CONTRACT: Final = "resh"
SENTINEL_YEARS: Final = frozenset({1, 9999})
UNIT_TYPES: Final = {pair: kind for kind, pair in LEVEL_AND_DESIGNATION.items()}
LINKS: Final = "__links__"  # the batch document that carries the window's parent links


@dataclass(frozen=True)
class ReshSourceAddress:
    """Where RESH's SOAP service (BasicHttpBinding) is."""

    url: str


def _day(value: datetime | None) -> date | None:
    if value is None or value.year in SENTINEL_YEARS:
        return None
    return value.date()


def _moment(value: datetime | None) -> datetime | None:
    if value is None or value.year in SENTINEL_YEARS:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _org(value: int | None) -> str | None:
    return None if value in (None, 0, -1) else f"{int(value):09d}"


def unit_rows(unit: Any) -> dict[str, list[dict[str, Any]]]:
    """Return a GetReshUnit result as the rows of resh_unit and resh_service."""
    properties = list(getattr(unit.Properties, "Code", None) or []) if unit.Properties is not None else []
    level: str | None = next((c.CodeValue for c in properties if c.OID == 8628), None)  # noqa: PLR2004 - organisatorisk nivå
    designation: str | None = unit.OrganizationalDesignation.CodeValue if unit.OrganizationalDesignation else None
    valid = unit.Valid
    unit_type = UNIT_TYPES.get((level, designation), "UNIT") if level is not None else "UNIT"
    row = {
        "resh_id": unit.ReshId, "name": unit.Name or "", "short_name": unit.ShortName,
        "unit_type": unit_type, "org_number": _org(unit.OrganizationNumber),
        "valid_from": _day(valid.From) if valid else None, "valid_to": _day(valid.To) if valid else None,
        "display_name": unit.DisplayName, "organizational_level": level, "organizational_designation": designation,
        "treatment_facility_org_number": _org(unit.TreatmentFacilityOrganizationNumber),
        "top_org_number": _org(unit.TopOrganizationNumber), "top_org_resh_id": unit.TopOrganizationReshId,
        "last_changed": _moment(unit.LastChanged),
    }  # fmt: skip
    services = []
    for service in list(getattr(unit.Services, "Service", None) or []) if unit.Services is not None else []:
        if service.Code is None or not service.Code.CodeValue:
            continue
        services.append({
            "resh_id": unit.ReshId, "code": service.Code.CodeValue,
            "code_system": str(service.Code.OID) if service.Code.OID is not None else None,
            "owner_resh_id": service.OwnerReshId,
            "valid_from": _day(service.Valid.From) if service.Valid else None,
            "valid_to": _day(service.Valid.To) if service.Valid else None,
        })  # fmt: skip
    return {"resh_unit": [row], "resh_service": services}


def items(result: Any, name: str) -> list[Any]:
    """Return an array result's items (zeep hands a single-part array back as a plain list)."""
    if result is None:
        return []
    if isinstance(result, list):
        return result
    return list(getattr(result, name, None) or [])


def link_rows(result: Any) -> list[dict[str, Any]]:
    """Return a GetModifiedParentLinks result as rows (without id)."""
    return [
        {"resh_id": k.ReshId, "parent_resh_id": k.ParentReshId,
         "valid_from": _day(k.Period.From) if k.Period else None, "valid_to": _day(k.Period.To) if k.Period else None}
        for k in items(result, "ParentLink")
    ]  # fmt: skip


def apply_links(conn: Connection, links: list[dict[str, Any]]) -> int:
    """Upsert parent links by (unit, parent, start); links to a unit not stored are left out. Return the count."""
    table: Table = ParentLink.__table__  # type: ignore[assignment]
    units: Table = ReshUnit.__table__  # type: ignore[assignment]
    wanted = {k["resh_id"] for k in links} | {k["parent_resh_id"] for k in links}
    known = set(conn.execute(select(units.c.resh_id).where(units.c.resh_id.in_(sorted(wanted)))).scalars())
    next_id = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    written = 0
    for link in links:
        if link["valid_from"] is None or not {link["resh_id"], link["parent_resh_id"]} <= known:
            continue
        key = and_(table.c.resh_id == link["resh_id"], table.c.parent_resh_id == link["parent_resh_id"],
                   table.c.valid_from == link["valid_from"])  # fmt: skip
        if not conn.execute(update(table).where(key).values(valid_to=link["valid_to"])).rowcount:
            conn.execute(table.insert().values(id=next_id, **link))
            next_id += 1
        written += 1
    return written


class ReshAdapter(WindowAdapter):
    """RESH's modified units and parent links into the RESH database."""

    register = "resh"
    feeds = ("units",)
    page_size = 500
    overlap_s = 300  # read five minutes before the cursor again: a change stamped then may show late

    def __init__(self, source: ReshSourceAddress, concurrency: int = 4) -> None:
        self.url = source.url
        self.concurrency = concurrency
        self._links: list[dict[str, Any]] = []

    async def _call(self, client: httpx.AsyncClient, name: str, **arguments: Any) -> Any:
        headers, body = soap.request(CONTRACT, name, **arguments)
        response = await client.post(self.url, content=body, headers=headers)
        if not soap.is_fault(response.status_code, response.content):
            check(response, name)
        try:
            return soap.read(CONTRACT, name, response.content)
        except soap.SoapFaultError:
            raise
        except (etree.XMLSyntaxError, ValueError, TypeError, AttributeError) as exc:
            raise RetryableError(f"{name}: unreadable answer ({exc.__class__.__name__})") from None

    async def changed(self, client: httpx.AsyncClient, feed: str, since: datetime, after: int) -> list[Entry]:
        """Read what changed since the moment: the units (each fetched) and the parent links."""
        del feed
        try:
            ids = items(await self._call(client, "GetModifiedReshIds", date=since), "int")
            self._links = link_rows(await self._call(client, "GetModifiedParentLinks", date=since))
        except soap.SoapFaultError as exc:
            raise RetryableError(f"RESH refused the change lists: {exc}") from None
        limit = asyncio.Semaphore(self.concurrency)

        async def one(resh_id: int) -> Entry:
            async with limit:
                try:
                    unit = await self._call(client, "GetReshUnit", reshId=resh_id, excludeDetails=False,
                                            includeChildUnits=False, treeAtTime=None)  # fmt: skip
                except soap.SoapFaultError:
                    return Entry(after + 1, f"{resh_id:012d}", "missing", None)
            try:
                rows = unit_rows(unit)
            except (TypeError, ValueError, AttributeError) as exc:
                raise RetryableError(f"GetReshUnit: unreadable unit ({exc.__class__.__name__})") from None
            stamp = rows["resh_unit"][0]["last_changed"] or since
            return Entry(position_of(stamp), f"{resh_id:012d}", "changed", stamp, document=rows)

        return list(await asyncio.gather(*(one(i) for i in ids)))

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Take the units that came with the entries; the last batch of a window also takes its parent links."""
        del client
        for entry in batch.entries:
            if entry.document is None:
                batch.skipped[entry.position] = "unit not returned by GetReshUnit"
            else:
                batch.documents[entry.key] = entry.document
        if self.last_position == batch.last:
            batch.documents[LINKS] = self._links
        await asyncio.sleep(0)

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Upsert the units, replace their services, then upsert the window's links."""
        units = [d for k, d in batch.documents.items() if k != LINKS]
        unit_table: Table = ReshUnit.__table__  # type: ignore[assignment]
        service_table: Table = ReshService.__table__  # type: ignore[assignment]
        upsert(conn, unit_table, [d["resh_unit"][0] for d in units], ["resh_id"])
        ids = [d["resh_unit"][0]["resh_id"] for d in units]
        for start in range(0, len(ids), 500):
            conn.execute(delete(service_table).where(service_table.c.resh_id.in_(ids[start : start + 500])))
        services = [s for d in units for s in d["resh_service"]]
        if services:
            conn.execute(service_table.insert(), services)
        if LINKS in batch.documents:
            apply_links(conn, batch.documents[LINKS])
        return len(units)
