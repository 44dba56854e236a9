"""BED from Enhetsregisteret: the update feeds of enheter and underenheter, then the changed units.

Two feeds, each with its own cursor (`oppdateringsid`). A page of updates names units by
organisation number with an `endringstype`: `Ny` and `Endring` are fetched 100 at a time through
the search (`organisasjonsnummer=a,b,...`); `Sletting` units one by one (the search no longer lists
them; the unit answers with its `slettedato`), and so is a unit the search leaves out. A deleted
unit keeps its row with `valid_to` set to its `slettedato`; a removed one (`Fjernet`, HTTP 410) is
closed at the update's date. Nothing is erased. No credentials: the data is open (NLOD).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import Connection, and_, update

from helsegraf.models.bed import Organization
from helsegraf.sync.engine import Adapter, Batch, Entry, RetryableError, check, upsert
from helsegraf.sync.preg import describe
from helsegraf.upstream.contracts import enhetsregisteret_responses as br

FEED_PAGE = 2000  # updates per call (the live API allows up to 10,000)
SEARCH_MAX = 100  # organisation numbers per search call (keeps the URL short)
FEED_ITEMS = {"enheter": "oppdaterteEnheter", "underenheter": "oppdaterteUnderenheter"}
KINDS = frozenset(e.value for e in br.Endringstype)
REMOVED = "removed"  # a unit that answers 410: erased from the open data


@dataclass
class BedSource:
    """Where Enhetsregisteret's API is (https://data.brreg.no/enhetsregisteret/api in production)."""

    base_url: str


class BedAdapter(Adapter):
    """Enhetsregisteret's update feeds into BED."""

    register = "bed"
    feeds = ("enheter", "underenheter")
    page_size = FEED_PAGE

    def __init__(self, source: BedSource, concurrency: int = 4) -> None:
        self.base = source.base_url.rstrip("/")
        self.concurrency = concurrency

    async def head(self, client: httpx.AsyncClient, feed: str) -> int:
        """Return the number of updates in the feed (the fake's and brreg's ids count from 1)."""
        response = check(await client.get(f"{self.base}/oppdateringer/{feed}", params={"size": 1}), feed)
        page = response.json().get("page") or {}
        return int(page.get("totalElements") or 0)

    async def page(self, client: httpx.AsyncClient, feed: str, after: int) -> list[Entry]:
        """Return the updates after `after`."""
        params = {"oppdateringsid": after + 1, "size": self.page_size}
        response = check(await client.get(f"{self.base}/oppdateringer/{feed}", params=params), feed)
        try:
            body = response.json()
            items = body.get("_embedded", {}).get(FEED_ITEMS[feed], []) if isinstance(body, dict) else None
        except ValueError:
            items = None
        if not isinstance(items, list):
            raise RetryableError(f"{feed} updates after {after}: not a page of updates")
        entries = []
        for item in items:
            try:
                u = br.Oppdatering.model_validate(item)
            except ValidationError:
                # An update this client cannot read (say, a new endringstype): keep its place in the
                # feed so it is skipped with a reason, not lost in a gap.
                position = item.get("oppdateringsid") if isinstance(item, dict) else None
                if isinstance(position, int):
                    entries.append(Entry(position, str(item.get("organisasjonsnummer") or ""), "?"))
                continue
            entries.append(Entry(u.oppdateringsid, u.organisasjonsnummer, u.endringstype.value, u.dato))
        return entries

    async def documents(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """Fetch the changed units: searched in hundreds, deleted and missing ones one by one."""
        feed = batch.feed
        limit = asyncio.Semaphore(self.concurrency)
        latest: dict[str, Entry] = {}
        for entry in batch.entries:
            if entry.kind not in KINDS or entry.kind == "Ukjent":
                batch.skipped[entry.position] = "unknown update type"
            else:
                latest[entry.key] = entry
        searched = [k for k, e in latest.items() if e.kind in {"Ny", "Endring"}]
        single = [k for k, e in latest.items() if e.kind in {"Sletting", "Fjernet"}]

        async def search(chunk: list[str]) -> dict[str, Any]:
            async with limit:
                response = await client.get(
                    f"{self.base}/{feed}", params={"organisasjonsnummer": ",".join(chunk), "size": len(chunk)}
                )
            found: dict[str, Any] = {}
            body = check(response, feed).json()
            for item in (body.get("_embedded") or {}).get(feed) or []:
                key = item.get("organisasjonsnummer") if isinstance(item, dict) else None
                try:
                    found[str(key)] = br.EnhetMedAdresser.model_validate(item)
                except ValidationError as exc:
                    found[str(key)] = describe(exc)
            return found

        async def one(key: str) -> tuple[str, Any]:
            async with limit:
                response = await client.get(f"{self.base}/{feed}/{key}")
            if response.status_code == 410:  # noqa: PLR2004 - Gone: removed from the open data
                return key, REMOVED
            if response.status_code == 404:  # noqa: PLR2004 - never existed (or not in this feed)
                return key, None
            try:
                return key, br.EnhetMedAdresser.model_validate_json(check(response, feed).content)
            except ValidationError as exc:
                return key, describe(exc)

        found: dict[str, Any] = {}
        for part in await asyncio.gather(*(search(searched[i : i + SEARCH_MAX]) for i in range(0, len(searched), SEARCH_MAX))):
            found.update(part)
        missing = [k for k in searched if k not in found] + single
        found.update(dict(await asyncio.gather(*(one(k) for k in missing))))
        for entry in batch.entries:
            if entry.position in batch.skipped:
                continue
            document = found.get(entry.key)
            if document is None:
                batch.skipped[entry.position] = "unit not returned by Enhetsregisteret"
            elif isinstance(document, str) and document != REMOVED:
                batch.skipped[entry.position] = document
            else:
                batch.documents[entry.key] = document

    def apply(self, conn: Connection, batch: Batch) -> int:
        """Upsert the changed units; close removed ones."""
        changed: dict[str, Any] = {}
        for entry in batch.entries:
            if entry.key in batch.documents and entry.position not in batch.skipped:
                changed[entry.key] = entry.at
        rows = []
        table = Organization.__table__
        for key, at in changed.items():
            unit = batch.documents[key]
            if unit == REMOVED:
                closed = at.date() if at is not None else date.today()  # noqa: DTZ011 - the update's own date is missing
                conn.execute(
                    update(table)
                    .where(and_(table.c.org_number == key, table.c.valid_to.is_(None)))
                    .values(valid_to=closed, last_changed=at)
                )
                continue
            address = unit.forretningsadresse or unit.beliggenhetsadresse
            lines = [line for line in (address.adresse or []) if line] if address is not None else []
            rows.append({
                "org_number": unit.organisasjonsnummer, "name": unit.navn,
                "org_form": unit.organisasjonsform.kode or "UKJENT",
                "industry_code": unit.naeringskode1.kode if unit.naeringskode1 else None,
                "parent_org_number": unit.overordnetEnhet, "street": ", ".join(lines) or None,
                "postal_code": address.postnummer if address else None,
                "postal_place": address.poststed if address else None,
                "municipality_code": address.kommunenummer if address else None,
                "valid_from": unit.registreringsdatoEnhetsregisteret, "valid_to": unit.slettedato, "last_changed": at,
            })  # fmt: skip
        upsert(conn, table, rows, ["org_number"])
        return len(changed)
