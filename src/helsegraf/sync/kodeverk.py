"""Kodeverk: load a volven-style export of a code system, keeping every version of each code's text.

Volven (Direktoratet for e-helse's code-list service) exports one code system per file. This reads
the shape such exports have, matched by local element name so the namespace does not matter:

    <Kodeverk><OID>7701</OID><Navn>rekvisisjonsrett</Navn><Beskrivelse>…</Beskrivelse>
      <Versjon>2.1</Versjon>
      <Kode><Verdi>1</Verdi><Tekst>Full rekvisisjonsrett</Tekst><Aktiv>true</Aktiv>
            <GyldigFra>2001-01-01</GyldigFra><GyldigTil/></Kode> …</Kodeverk>

Loading is an upsert by (OID, value): a code whose text changed gets the new text and version
(its old text stays in `kodeverk_code_version`); a code the export no longer lists is marked
inactive rather than deleted, so what points at it keeps resolving.

`KodeverkAdapter` follows the code-list service for the sync engine: its numbered list of versions
(`versjoner?etter=N`, our own, see upstream/kodeverk.py) is the feed, and each version's export is
loaded in order, stamped with the version's publication time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import httpx
from lxml import etree
from sqlalchemy import Connection, select, update

from helsegraf.models.base import table_of
from helsegraf.models.kodeverk import Code, CodeSystem, CodeVersion
from helsegraf.sync.engine import Adapter, Batch, Entry, RetryableError, check

SYSTEM, CODE, VERSION = table_of(CodeSystem), table_of(Code), table_of(CodeVersion)
MAX_EXPORT_BYTES: Final = 50_000_000
MAX_CODES: Final = 200_000
# No DTDs, no entities, no network: an export is data, never instructions to the parser.
PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class ExportError(ValueError):
    """The export is not a code-system export this loader reads (the message says what is wrong)."""


@dataclass(frozen=True)
class ExportedCode:
    """One code of an export."""

    value: str
    text: str
    active: bool
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class Export:
    """A code system as one export version gives it."""

    oid: str
    name: str
    description: str
    version: str
    codes: tuple[ExportedCode, ...]


def _child(element: etree._Element, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip() or None
    return None


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ExportError(f"{what}: {text[:20]!r} is not a date") from None


def parse_export(data: bytes) -> Export:
    """Parse a volven-style export; raise ExportError when it is not one."""
    if len(data) > MAX_EXPORT_BYTES:
        raise ExportError(f"the export is larger than {MAX_EXPORT_BYTES:,} bytes")
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as exc:
        raise ExportError(f"the export is not well-formed XML: {exc.msg}") from None
    if etree.QName(root).localname != "Kodeverk":
        raise ExportError("the export's root element is not Kodeverk")
    oid, version = _child(root, "OID"), _child(root, "Versjon")
    if not oid or not oid.isdigit() or not version:
        raise ExportError("the export needs an OID (digits) and a Versjon")
    codes: list[ExportedCode] = []
    for element in root:
        if not isinstance(element.tag, str) or etree.QName(element).localname != "Kode":
            continue
        value, text = _child(element, "Verdi"), _child(element, "Tekst")
        if not value or text is None:
            raise ExportError(f"code {len(codes) + 1} of {oid} has no Verdi or no Tekst")
        codes.append(
            ExportedCode(
                value=value[:20],
                text=text[:200],
                active=(_child(element, "Aktiv") or "true").lower() != "false",
                valid_from=_date(_child(element, "GyldigFra"), f"{oid}/{value} GyldigFra"),
                valid_to=_date(_child(element, "GyldigTil"), f"{oid}/{value} GyldigTil"),
            )
        )
        if len(codes) > MAX_CODES:
            raise ExportError(f"the export has more than {MAX_CODES:,} codes")
    name = (_child(root, "Navn") or oid)[:60].lower()
    return Export(oid, name, (_child(root, "Beskrivelse") or name)[:200], version[:40], tuple(codes))


def apply_export(conn: Connection, export: Export, loaded_at: datetime | None) -> dict[str, int]:
    """Upsert an export into Kodeverk inside the caller's transaction; return counts of what changed."""
    current = conn.execute(select(SYSTEM.c.oid).where(SYSTEM.c.oid == export.oid)).first()
    system_values = {"name": export.name, "description": export.description, "version": export.version,
                     "last_changed": loaded_at}  # fmt: skip
    if current is None:
        conn.execute(SYSTEM.insert().values(oid=export.oid, **system_values))
    else:
        conn.execute(update(SYSTEM).where(SYSTEM.c.oid == export.oid).values(**system_values))
    existing = {row.value: row for row in conn.execute(select(CODE).where(CODE.c.system_oid == export.oid))}
    known_versions = {
        (row.value, row.version)
        for row in conn.execute(select(VERSION.c.value, VERSION.c.version).where(VERSION.c.system_oid == export.oid))
    }
    counts = {"added": 0, "reworded": 0, "unchanged": 0, "retired": 0}
    for code in export.codes:
        values = {"text": code.text, "active": code.active, "valid_from": code.valid_from, "valid_to": code.valid_to}
        before = existing.get(code.value)
        if before is None:
            conn.execute(
                CODE.insert().values(system_oid=export.oid, value=code.value, version=export.version, **values)
            )
            counts["added"] += 1
        elif before.text != code.text or before.active != code.active:
            if before.version is None and (code.value, "") not in known_versions:
                # The text from before any versioned load: kept under the empty version, so history is whole.
                old = {"text": before.text, "active": before.active, "loaded_at": None}
                conn.execute(VERSION.insert().values(system_oid=export.oid, value=code.value, version="", **old))
            conn.execute(update(CODE).where(CODE.c.system_oid == export.oid, CODE.c.value == code.value)
                         .values(version=export.version, **values))  # fmt: skip
            counts["reworded"] += 1
        else:
            conn.execute(update(CODE).where(CODE.c.system_oid == export.oid, CODE.c.value == code.value)
                         .values(valid_from=code.valid_from, valid_to=code.valid_to))  # fmt: skip
            counts["unchanged"] += 1
        if (code.value, export.version) not in known_versions:
            conn.execute(VERSION.insert().values(system_oid=export.oid, value=code.value, version=export.version,
                                                 text=code.text, active=code.active, loaded_at=loaded_at))  # fmt: skip
    listed = {code.value for code in export.codes}
    for value, row in existing.items():
        if value not in listed and row.active:
            conn.execute(update(CODE).where(CODE.c.system_oid == export.oid, CODE.c.value == value)
                         .values(active=False))  # fmt: skip
            counts["retired"] += 1
    return counts


# -- following the code-list service ---------------------------------------------------------------


@dataclass(frozen=True)
class KodeverkSource:
    """Where the code-list service is (its version list and exports)."""

    base_url: str


def _published(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class KodeverkAdapter(Adapter):
    """The code-list service's versions into the Kodeverk database."""

    register = "kodeverk"
    feeds = ("versions",)
    page_size = 500

    def __init__(self, source: KodeverkSource, concurrency: int = 4) -> None:
        self.base = source.base_url.rstrip("/")
        self.concurrency = concurrency

    async def _list(self, client: httpx.AsyncClient, after: int) -> dict[str, Any]:
        response = check(await client.get(f"{self.base}/versjoner", params={"etter": after}), "versjoner")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("Versjoner"), list):
            raise RetryableError(f"versjoner after {after}: not a list of versions")
        return body

    async def head(self, client: httpx.AsyncClient, feed: str, after: int) -> int:
        """Return the newest version number."""
        del feed
        latest = (await self._list(client, after)).get("SisteNummer")
        if not isinstance(latest, int):
            raise RetryableError("versjoner: no SisteNummer")
        return latest

    async def page(self, client: httpx.AsyncClient, feed: str, after: int) -> list[Entry]:
        """Return the versions published after `after`."""
        del feed
        entries = []
        for item in (await self._list(client, after))["Versjoner"]:
            if isinstance(item, dict) and isinstance(item.get("Nummer"), int):
                key = f"{item.get('OID')}/{item.get('Versjon')}"
                entries.append(Entry(item["Nummer"], key, "version", _published(item.get("Publisert"))))
        return entries

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Fetch and parse each version's export."""
        limit = asyncio.Semaphore(self.concurrency)

        async def one(entry: Entry) -> None:
            async with limit:
                response = await client.get(f"{self.base}/eksport/{entry.key}")
            if response.status_code == 404:  # noqa: PLR2004 - the list named a version the service lacks
                batch.skipped[entry.position] = "export not found"
                return
            try:
                batch.documents[entry.key] = parse_export(check(response, "eksport").content)
            except ExportError as exc:
                batch.skipped[entry.position] = f"malformed export: {exc}"[:200]

        await asyncio.gather(*(one(e) for e in batch.entries))

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Load the exports in the order they were published."""
        written = 0
        for entry in batch.entries:
            export = batch.documents.get(entry.key)
            if export is not None and entry.position not in batch.skipped:
                apply_export(conn, export, entry.at)
                written += 1
        return written
