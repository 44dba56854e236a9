"""AR's CommunicationParty export (CPE REST, the party as in `ar.wsdl`) read into the register's rows.

What the export and its events carry is normalised here, each with a test: `-1` where AR means "no
parent" (ParentHerId, ParentOrganizationNumber), `9999-12-31T23:59:59.997` where it means "no end"
(Valid.To and certificate or address validity), and postal codes that arrive as integers without
their leading zero (`PhysicalAddress.PostalCode` is `xs:int` in the contract: 150 is 0150).

`party_rows(document)` returns the rows of one party (the export's `CommunicationParties[]` items
and the events' `CommunicationParty` have the same shape). `ArAdapter` follows AR for the sync
engine: an empty database reads `CommunicationPartyExport` (every party at once, its position the
export's `LastEventId`), then `CommunicationPartyEvents?EventId=` from the stored event id, following
`Links.Next`. The events carry the changed party whole, so no second call is needed. The contract
gives addresses and certificates no id: their rows are numbered here, and a changed party's rows
are replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import httpx
from sqlalchemy import Connection, Table, delete, func, select

from helsegraf.models.ar import (
    Certificate,
    CommunicationParty,
    CoverageArea,
    ElectronicAddress,
    FutureElectronicAddress,
    PhysicalAddress,
)
from helsegraf.sync.engine import Adapter, Batch, Entry, RetryableError, check, upsert

NO_PARENT: Final = -1
OPEN_END_PREFIX: Final = "9999-12-31"
POSTAL_DIGITS: Final = 4
TYPES: Final = {"Organization": "ORGANIZATION", "Service": "SERVICE", "Person": "PERSON", "Department": "DEPARTMENT"}


class PartyDocumentError(ValueError):
    """A party document lacks what a row needs (the message names the field, never a value)."""


def none_if_sentinel(value: Any) -> Any:
    """Return None for AR's "none" sentinels (-1, the year-9999 end), else the value."""
    if value == NO_PARENT or value == str(NO_PARENT):
        return None
    if isinstance(value, str) and value.startswith(OPEN_END_PREFIX):
        return None
    return value


def postal_code(value: Any) -> str | None:
    """Return a four-digit postal code, restoring the leading zero an integer lost (150 -> "0150")."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > POSTAL_DIGITS:
        raise PartyDocumentError("PhysicalAddress.PostalCode is not a Norwegian postal code")
    return text.zfill(POSTAL_DIGITS)


def _moment(value: Any) -> datetime | None:
    value = none_if_sentinel(value)
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    moment = _moment(value)
    return None if moment is None else moment.date()


def _code(value: Any) -> str | None:
    return None if value is None else (value.get("CodeValue") if isinstance(value, dict) else str(value))


def party_rows(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Return the rows of one party document: the party, its electronic and physical addresses."""
    her_id = document.get("HerId")
    if not isinstance(her_id, int) or her_id <= 0:
        raise PartyDocumentError("CommunicationParty.HerId is missing or not a positive number")
    valid = document.get("Valid") or {}
    org_number = none_if_sentinel(document.get("OrganizationNumber"))
    parent_org = none_if_sentinel(document.get("ParentOrganizationNumber"))
    party = {
        "her_id": her_id,
        "name": document.get("Name") or "",
        "display_name": document.get("DisplayName"),
        "type": TYPES.get(str(document.get("Type")), "ORGANIZATION"),
        "parent_her_id": none_if_sentinel(document.get("ParentHerId")),
        "parent_name": document.get("ParentName"),
        "parent_org_number": f"{int(parent_org):09d}" if parent_org is not None else None,
        "org_number": f"{int(org_number):09d}" if org_number is not None else None,
        "business_type": _code(document.get("BusinessType")),
        "parent_business_type": _code(document.get("ParentBusinessType")),
        "municipality_code": _code(document.get("Municipality")),
        "active": bool(document.get("Active")),
        "is_valid": document.get("IsValidCommunicationParty"),
        "valid_from": _day(valid.get("From")),
        "valid_to": _day(valid.get("To")),
        "last_changed": _moment(document.get("LastChanged")),
        "hpr_number": ((document.get("Person") or {}).get("HPRInformation") or {}).get("HPRNumber"),
        "service_code": _code(document.get("Code")),
        "service_code_system": _oid(document.get("Code")),
        "service_code_text": (document.get("Code") or {}).get("CodeText"),
        "location_description": document.get("LocationDescription"),
    }
    electronic = [
        {"her_id": her_id, "type": _code(a.get("Type")) or a.get("TypeCodeValue"), "address": a.get("Address")}
        for a in document.get("ElectronicAddresses") or []
        if a.get("Address")
    ]
    physical = [
        {
            "her_id": her_id,
            "type": _code(a.get("Type")) or a.get("TypeCodeValue"),
            "street": a.get("StreetAddress"),
            "postbox": a.get("Postbox"),
            "postal_code": postal_code(a.get("PostalCode")),
            "city": a.get("City"),
            "country": _code(a.get("Country")),
        }
        for a in document.get("PhysicalAddresses") or []
    ]
    return {"ar_communication_party": [party], "ar_electronic_address": electronic, "ar_physical_address": physical,
            **_more_rows(her_id, document)}  # fmt: skip


def _oid(value: Any) -> str | None:
    oid = value.get("OID") if isinstance(value, dict) else None
    return None if oid is None else str(oid)


USAGES: Final = {"Encryption": "ENCRYPTION", "Signing": "SIGNING"}


def _more_rows(her_id: int, document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Certificates, coverage areas and future electronic addresses of a party."""
    certificates = []
    for c in document.get("Certificates") or []:
        usage = USAGES.get(str(c.get("Usage")))
        begins, ends = _moment(c.get("NotBefore")), _moment(c.get("NotAfter"))
        if usage is None or not c.get("SerialNumber") or begins is None or ends is None:
            raise PartyDocumentError("Certificates[] needs Usage, SerialNumber, NotBefore and NotAfter")
        certificates.append({"her_id": her_id, "usage": usage, "serial_number": str(c["SerialNumber"])[:64],
                             "valid_from": begins, "valid_to": ends, "ldap_url": c.get("LdapUrl"),
                             "subject": c.get("CnName")})  # fmt: skip
    area_type = document.get("CoverageAreaType")
    municipality = _code(area_type) if _oid(area_type) == "3402" else None
    coverage = []
    for a in document.get("CoverageAreas") or []:
        org = none_if_sentinel(a.get("OrganizationNumber"))
        coverage.append({"her_id": her_id, "covered_her_id": none_if_sentinel(a.get("HerId")),
                         "name": a.get("Name") or a.get("DisplayName") or "",
                         "org_number": f"{int(org):09d}" if org is not None else None,
                         "municipality_code": municipality})  # fmt: skip
    future = []
    for a in document.get("FutureElectronicAddresses") or []:
        starts = _moment(a.get("ValidFrom"))
        if a.get("Address") and starts is not None:
            future.append({"her_id": her_id, "type": _code(a.get("Type")) or a.get("TypeCodeValue"),
                           "address": a["Address"], "valid_from": starts})  # fmt: skip
    return {"ar_certificate": certificates, "ar_coverage_area": coverage, "ar_future_electronic_address": future}


CHILD_MODELS: Final = {
    "ar_electronic_address": ElectronicAddress, "ar_physical_address": PhysicalAddress, "ar_certificate": Certificate,
    "ar_coverage_area": CoverageArea, "ar_future_electronic_address": FutureElectronicAddress,
}  # fmt: skip


def apply_parties(conn: Connection, parties: list[dict[str, list[dict[str, Any]]]]) -> None:
    """Upsert parties and replace their addresses, certificates and coverage areas (numbered here)."""
    if not parties:
        return
    her_ids = [p["ar_communication_party"][0]["her_id"] for p in parties]
    party_table: Table = CommunicationParty.__table__  # type: ignore[assignment]
    upsert(conn, party_table, [p["ar_communication_party"][0] for p in parties], ["her_id"])
    for name, model in CHILD_MODELS.items():
        table: Table = model.__table__  # type: ignore[assignment]
        for start in range(0, len(her_ids), 500):
            conn.execute(delete(table).where(table.c.her_id.in_(her_ids[start : start + 500])))
        next_id = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        rows = []
        for party in parties:
            for row in party[name]:
                rows.append({"id": next_id, **row})
                next_id += 1
        if rows:
            conn.execute(table.insert(), rows)


# -- following AR --------------------------------------------------------------------------------

KINDS: Final = frozenset({"CommunicationPartyCreated", "CommunicationPartyUpdated"})


@dataclass(frozen=True)
class ArSource:
    """Where AR's CommunicationParty REST API is, and the bearer token it takes (repr hides it)."""

    base_url: str
    token: str | None = field(default=None, repr=False)


class ArAdapter(Adapter):
    """AR's export, then its events, into the AR database."""

    register = "ar"
    feeds = ("events",)
    page_size = 1000

    def __init__(self, source: ArSource, concurrency: int = 4) -> None:
        self.base = source.base_url.rstrip("/")
        self.headers = {"Accept": "application/json"}
        if source.token:
            self.headers["Authorization"] = f"Bearer {source.token}"
        self.concurrency = concurrency
        self._export: dict[str, Any] | None = None
        self._pages: dict[int, list[Entry]] = {}

    def contiguous(self, feed: str, after: int) -> bool:
        """Event ids follow each other; the export's page jumps to its LastEventId."""
        del feed
        return after > 0

    async def _json(self, client: httpx.AsyncClient, path: str, **params: Any) -> Any:
        response = check(await client.get(f"{self.base}/{path}", params=params, headers=self.headers), path)
        try:
            return response.json()
        except ValueError:
            raise RetryableError(f"{path}: not JSON") from None

    async def _events(self, client: httpx.AsyncClient, after: int) -> tuple[list[Entry], bool]:
        body = await self._json(client, "CommunicationPartyEvents", EventId=after)
        items = body.get("CommunicationParties") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise RetryableError(f"CommunicationPartyEvents after {after}: not a page of events")
        entries = []
        for item in items:
            event_id = item.get("EventId") if isinstance(item, dict) else None
            if not isinstance(event_id, int):
                continue
            at = None
            with contextlib.suppress(ValueError):
                at = _moment(item.get("FromDatetime"))
            entries.append(Entry(event_id, str(item.get("HerId") or ""), str(item.get("EventType")), at,
                                 document=item.get("CommunicationParty")))  # fmt: skip
        more = bool(((body.get("Links") or {}).get("Next") or {}).get("Href"))
        return entries, more

    async def head(self, client: httpx.AsyncClient, feed: str, after: int) -> int:
        """Return the export's LastEventId for an empty database, else the newest event id (pages kept for `page`)."""
        del feed
        self._pages = {}
        if after == 0:
            self._export = await self._json(client, "CommunicationPartyExport")
            last = self._export.get("LastEventId") if isinstance(self._export, dict) else None
            if not isinstance(last, int):
                raise RetryableError("CommunicationPartyExport: no LastEventId")
            return last
        position = after
        while True:
            entries, more = await self._events(client, position)
            if not entries:
                return position
            self._pages[position] = entries
            position = max(e.position for e in entries)
            if not more:
                return position

    async def page(self, client: httpx.AsyncClient, feed: str, after: int) -> list[Entry]:
        """Return the export's parties (all at its LastEventId), or the events after the stored id."""
        del feed
        if after == 0:
            export = self._export if self._export is not None else await self._json(client, "CommunicationPartyExport")
            self._export = None
            last = int(export.get("LastEventId") or 0)
            at = None
            with contextlib.suppress(ValueError):
                at = _moment(export.get("LastDateTimeOffset"))
            parties = export.get("CommunicationParties") or []
            return [Entry(last, str(p.get("HerId") if isinstance(p, dict) else ""), "export", at, document=p)
                    for p in parties] if last else []  # fmt: skip
        if after in self._pages:
            return self._pages.pop(after)
        entries, _more = await self._events(client, after)
        return entries

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Read the parties that came with the entries into rows (a bad one is skipped with the reason)."""
        del client
        for entry in batch.entries:
            if entry.kind not in KINDS and entry.kind != "export":
                batch.skipped[entry.position] = "unknown event type"
                continue
            if not isinstance(entry.document, dict):
                batch.skipped[entry.position] = "malformed party: CommunicationParty is missing"
                continue
            try:
                batch.documents[entry.key] = party_rows(entry.document)
            except (PartyDocumentError, ValueError, TypeError) as exc:
                reason = str(exc) if isinstance(exc, PartyDocumentError) else exc.__class__.__name__
                batch.skipped[entry.position] = f"malformed party: {reason}"
        await asyncio.sleep(0)

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Upsert the changed parties with their rows."""
        apply_parties(conn, list(batch.documents.values()))
        return len(batch.documents)
