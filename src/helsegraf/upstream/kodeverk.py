"""A fake of the code-list service (volven-style exports) over the nation's code systems, with versions.

Volven exports one code system per file (`sync/kodeverk.py` reads the shape). How a client learns
that a new version exists is not published, so the list of versions is our own (docs/registers.md,
"Sync"): `GET versjoner?etter=N` returns the versions numbered after N (at most 500), each with its
code system's OID, its version name and when it was published; `GET eksport/{oid}/{versjon}` returns
that version's export. The list begins with the version every code system has today (published
before the list began, so without a date), then each day of changes publishes a new version of one
code system that rewords a code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import orjson
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helsegraf.upstream.faults import Faults

VERSIONS_PER_CALL: Final = 500


@dataclass
class Version:
    """One published version of a code system: its codes as (value, text, active)."""

    number: int
    oid: str
    name: str
    description: str
    version: str
    published: datetime | None
    codes: list[tuple[str, str, bool]] = field(default_factory=list)


class KodeverkSource:
    """The nation's code systems as volven exports, with the numbered list of versions."""

    def __init__(self, world: Any) -> None:
        self.as_of: date = world.as_of
        systems = world.tables["kodeverk_code_system"]
        codes = world.tables["kodeverk_code"]
        by_system: dict[str, list[tuple[str, str, bool]]] = {}
        for row in codes.rows:
            item = dict(zip(codes.columns, row, strict=True))
            by_system.setdefault(item["system_oid"], []).append((item["value"], item["text"], bool(item["active"])))
        self.versions: list[Version] = []
        for row in systems.rows:
            s = dict(zip(systems.columns, row, strict=True))
            self.versions.append(Version(len(self.versions) + 1, s["oid"], s["name"], s["description"],
                                         s["version"] or "1", None, by_system.get(s["oid"], [])))  # fmt: skip
        self.day = 0

    @property
    def latest(self) -> int:
        """Return the newest version number."""
        return len(self.versions)

    def current(self, oid: str) -> Version:
        """Return a code system's newest version."""
        return next(v for v in reversed(self.versions) if v.oid == oid)

    def export(self, oid: str, version: str) -> bytes | None:
        """Return one version's export (None if there is no such version)."""
        found = next((v for v in self.versions if v.oid == oid and v.version == version), None)
        if found is None:
            return None
        root = etree.Element("Kodeverk")
        for tag, value in (("OID", found.oid), ("Navn", found.name), ("Beskrivelse", found.description),
                           ("Versjon", found.version)):  # fmt: skip
            etree.SubElement(root, tag).text = value
        for value, text, active in found.codes:
            element = etree.SubElement(root, "Kode")
            etree.SubElement(element, "Verdi").text = value
            etree.SubElement(element, "Tekst").text = text
            etree.SubElement(element, "Aktiv").text = "true" if active else "false"
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")

    def day_of_changes(self, rng: random.Random, scale: int = 1) -> dict[str, list[str]]:
        """Publish a new version of one code system that rewords one of its codes."""
        del scale
        self.day += 1
        today = self.as_of + timedelta(days=self.day)
        now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
        systems = sorted({v.oid for v in self.versions if v.codes and v.oid != "3402"})
        if not systems:
            return {}
        old = self.current(rng.choice(systems))
        index = rng.randrange(len(old.codes))
        value, text, active = old.codes[index]
        codes = list(old.codes)
        codes[index] = (value, f"{text} (revidert)"[:200], active)
        version = str(int(old.version) + 1) if old.version.isdigit() else f"{old.version}.1"
        self.versions.append(Version(self.latest + 1, old.oid, old.name, old.description, version, now, codes))
        return {"reworded": [f"{old.oid}/{value}"]}


def create_app(source: KodeverkSource, faults: Faults | None = None) -> Starlette:
    """Return the fake code-list service (mounted at .../kodeverk)."""
    faults = faults or Faults()

    async def versions(request: Request) -> Response:
        if (refused := await faults.before(request)) is not None:
            return refused
        raw = request.query_params.get("etter", "0")
        if not raw.isdigit():
            return JSONResponse({"title": "Bad Request", "status": 400, "detail": "etter is a whole number"}, 400)
        chosen = source.versions[int(raw) : int(raw) + VERSIONS_PER_CALL]
        items = [
            {"Nummer": v.number, "OID": v.oid, "Navn": v.name, "Versjon": v.version,
             "Publisert": v.published.isoformat().replace("+00:00", "Z") if v.published else None,
             "Eksport": f"eksport/{v.oid}/{v.version}"}
            for v in chosen
        ]  # fmt: skip
        return Response(orjson.dumps({"SisteNummer": source.latest, "Versjoner": items}),
                        media_type="application/json")  # fmt: skip

    async def export(request: Request) -> Response:
        if (refused := await faults.before(request)) is not None:
            return refused
        body = source.export(request.path_params["oid"], request.path_params["versjon"])
        if body is None:
            return JSONResponse({"title": "Not Found", "status": 404}, 404)
        return Response(body, media_type="application/xml")

    app = Starlette(routes=[Route("/versjoner", versions), Route("/eksport/{oid}/{versjon}", export)])
    app.state.source, app.state.faults = source, faults
    return app
