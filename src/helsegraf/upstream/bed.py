"""A faithful fake of Enhetsregisteret's open-data API (data.brreg.no/enhetsregisteret/api).

Paths and parameters are the published document's (`contracts/enhetsregisteret-openapi.yml`) and the
JSON is what the live API returns (`contracts/enhetsregisteret-responses.yml`): HAL pages of
`/enheter` and `/underenheter` (filter `organisasjonsnummer`, a comma-separated list; `page*size`
at most 10,000), one unit at `/enheter/{orgnr}` and `/underenheter/{orgnr}` (a deleted unit keeps
answering, with `slettedato`; a removed one is 410), and the change feeds `/oppdateringer/enheter`
and `/oppdateringer/underenheter` from an `oppdateringsid`. Units of form BEDR are underenheter
(with `overordnetEnhet` and `beliggenhetsadresse`); the rest are enheter. No credentials: the data
is open. The feeds begin with one update per unit, so a client bootstraps by reading them from 1.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helsegraf.data.world import OrgNumbers, World
from helsegraf.upstream.faults import Faults

FEED_MAX = 10_000  # the live API's largest `size`
DEPTH_MAX = 10_000  # "Max dypde (page*size) er 10 000"
DEFAULT_SIZE = 20
UNDERENHET_FORM = "BEDR"
FEEDS = {"enheter": "oppdaterteEnheter", "underenheter": "oppdaterteUnderenheter"}
BASE_URL = "https://data.brreg.no/enhetsregisteret/api"
COLUMNS = (
    "org_number", "name", "org_form", "industry_code", "parent_org_number", "street", "postal_code",
    "postal_place", "municipality_code", "valid_from", "valid_to", "last_changed",
)  # fmt: skip


def feed_of(row: dict[str, Any]) -> str:
    """Return the feed a unit belongs to: underenheter for BEDR, else enheter."""
    return "underenheter" if row["org_form"] == UNDERENHET_FORM else "enheter"


def stamp(value: datetime) -> str:
    """Return brreg's timestamp form, yyyy-MM-dd'T'HH:mm:ss.SSS'Z'."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class BedSource:
    """The nation's organisations as Enhetsregisteret units, with the two change feeds."""

    def __init__(self, world: World) -> None:
        self.as_of = world.as_of
        table = world.tables["bed_organization"]
        assert table.columns == COLUMNS, table.columns  # noqa: S101 - the generator's shape
        self.units: dict[str, dict[str, Any]] = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in table.rows}
        self.removed: set[str] = set()
        self.updates: dict[str, list[dict[str, Any]]] = {"enheter": [], "underenheter": []}
        for row in sorted(self.units.values(), key=lambda r: (r["last_changed"], r["org_number"])):
            self._update(row, "Sletting" if row["valid_to"] else "Ny", row["last_changed"])
        self.orgs = OrgNumbers(random.Random(world.seed * 7919 + 1), start=39_000_000)
        self.day = 0

    def _update(self, row: dict[str, Any], kind: str, at: datetime) -> None:
        feed = self.updates[feed_of(row)]
        feed.append({"oppdateringsid": len(feed) + 1, "dato": stamp(at), "organisasjonsnummer": row["org_number"],
                     "endringstype": kind})  # fmt: skip

    def latest(self, feed: str) -> int:
        """Return the newest update id of a feed (0 when empty)."""
        return len(self.updates[feed])

    def unit(self, row: dict[str, Any]) -> dict[str, Any]:
        """Return a unit as the API's JSON."""
        kind = feed_of(row)
        unit: dict[str, Any] = {
            "organisasjonsnummer": row["org_number"],
            "navn": row["name"],
            "organisasjonsform": {"kode": row["org_form"], "beskrivelse": row["org_form"]},
        }
        if row["industry_code"] is not None:
            unit["naeringskode1"] = {"kode": row["industry_code"], "beskrivelse": row["industry_code"]}
        if row["parent_org_number"] is not None:
            unit["overordnetEnhet"] = row["parent_org_number"]
        if any(row[c] is not None for c in ("street", "postal_code", "postal_place", "municipality_code")):
            address: dict[str, Any] = {"land": "Norge", "landkode": "NO"}
            for key, column in (("postnummer", "postal_code"), ("poststed", "postal_place"),
                                ("kommunenummer", "municipality_code")):  # fmt: skip
                if row[column] is not None:
                    address[key] = row[column]
            if row["street"] is not None:
                address["adresse"] = [row["street"]]
            unit["beliggenhetsadresse" if kind == "underenheter" else "forretningsadresse"] = address
        if row["valid_from"] is not None:
            unit["registreringsdatoEnhetsregisteret"] = row["valid_from"].isoformat()
        if row["valid_to"] is not None:
            unit["slettedato"] = row["valid_to"].isoformat()
        unit["_links"] = {"self": {"href": f"{BASE_URL}/{kind}/{row['org_number']}"}}
        return unit

    # -- a day of changes ------------------------------------------------------------------------

    def day_of_changes(self, rng: random.Random, scale: int = 1) -> dict[str, list[str]]:
        """Append a day: new units, a changed one, a closed one; return org numbers by kind of change."""
        self.day += 1
        today = self.as_of + timedelta(days=self.day)
        now = datetime(today.year, today.month, today.day, 8, tzinfo=UTC)
        done: dict[str, list[str]] = defaultdict(list)
        parents = [r for r in self.units.values() if r["org_form"] == "AS" and r["valid_to"] is None]
        for _ in range(scale):
            if not parents:
                break
            parent = rng.choice(parents)
            number = self.orgs.take()
            row = {**parent, "org_number": number, "name": f"{parent['name']} AVD {rng.randint(2, 9)}",
                   "org_form": UNDERENHET_FORM, "parent_org_number": parent["org_number"], "valid_from": today,
                   "valid_to": None, "last_changed": now}  # fmt: skip
            self.units[number] = row
            self._update(row, "Ny", now)
            done["new"].append(number)
        open_units = sorted(n for n, r in self.units.items() if r["valid_to"] is None and n not in done["new"])
        if len(open_units) >= 2:
            changed, closed = rng.sample(open_units, 2)
            row = self.units[changed]
            row.update(name=f"{row['name']} (NY)"[:200], last_changed=now)
            self._update(row, "Endring", now)
            done["changed"].append(changed)
            row = self.units[closed]
            row.update(valid_to=today, last_changed=now)
            self._update(row, "Sletting", now)
            done["closed"].append(closed)
        return done


def _page(request: Request, default: int = DEFAULT_SIZE, maximum: int = DEPTH_MAX) -> tuple[int, int] | Response:
    try:
        page = int(request.query_params.get("page", "0"))
        size = int(request.query_params.get("size", str(default)))
    except ValueError:
        return JSONResponse({"status": 400, "error": "Bad Request", "message": "page and size are numbers"}, 400)
    if page < 0 or size < 1 or size > maximum or (page + 1) * size > DEPTH_MAX:
        return JSONResponse({"status": 400, "error": "Bad Request", "message": "page*size is at most 10000"}, 400)
    return page, size


def _hal(name: str, items: list[dict[str, Any]], page: int, size: int, total: int) -> Response:
    body = {
        "_embedded": {name: items},
        "page": {"size": size, "totalElements": total, "totalPages": -(-total // size), "number": page},
    }
    return Response(orjson.dumps(body), media_type="application/json")


def create_app(source: BedSource, faults: Faults | None = None) -> Starlette:
    """Return the fake Enhetsregisteret as a Starlette app (mounted at .../enhetsregisteret/api)."""
    faults = faults or Faults()

    def listing(kind: str):  # noqa: ANN202 - a Starlette endpoint
        async def endpoint(request: Request) -> Response:
            if (fault := await faults.before(request)) is not None:
                return fault
            paging = _page(request)
            if isinstance(paging, Response):
                return paging
            page, size = paging
            wanted = request.query_params.get("organisasjonsnummer")
            numbers = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else sorted(source.units)
            rows = [source.units[n] for n in numbers if n in source.units]
            # Like the live search, deleted and removed units are not listed; ask for them one by one.
            rows = [r for r in rows if feed_of(r) == kind and r["valid_to"] is None and r["org_number"]
                    not in source.removed]  # fmt: skip
            chosen = rows[page * size : (page + 1) * size]
            items = [
                {"organisasjonsnummer": r["org_number"], "navn": None} if r["org_number"] in faults.malformed
                else source.unit(r)
                for r in chosen
                if r["org_number"] not in faults.withheld
            ]  # fmt: skip
            return _hal(kind, items, page, size, len(rows))

        return endpoint

    def one(kind: str):  # noqa: ANN202 - a Starlette endpoint
        async def endpoint(request: Request) -> Response:
            if (fault := await faults.before(request)) is not None:
                return fault
            number = request.path_params["organisasjonsnummer"]
            row = source.units.get(number)
            if row is None or feed_of(row) != kind:
                return JSONResponse({"status": 404, "error": "Not Found"}, 404)
            if number in source.removed:
                return Response(status_code=410)
            return Response(orjson.dumps(source.unit(row)), media_type="application/json")

        return endpoint

    def updates(kind: str):  # noqa: ANN202 - a Starlette endpoint
        async def endpoint(request: Request) -> Response:
            if (fault := await faults.before(request)) is not None:
                return fault
            paging = _page(request, maximum=FEED_MAX)
            if isinstance(paging, Response):
                return paging
            page, size = paging
            raw = request.query_params.get("oppdateringsid", "1")
            if not raw.isdigit() or int(raw) < 1:
                return JSONResponse({"status": 400, "error": "Bad Request", "message": "oppdateringsid >= 1"}, 400)
            feed = source.updates[kind][int(raw) - 1 :]
            return _hal(FEEDS[kind], feed[page * size : (page + 1) * size], page, size, len(feed))

        return endpoint

    routes = []
    for kind in ("enheter", "underenheter"):
        routes += [
            Route(f"/{kind}", listing(kind)),
            Route(f"/{kind}/{{organisasjonsnummer}}", one(kind)),
            Route(f"/oppdateringer/{kind}", updates(kind)),
        ]
    app = Starlette(routes=routes)
    app.state.source, app.state.faults = source, faults
    return app


def as_date(value: str | None) -> date | None:
    """Parse an ISO date (brreg's dates are plain yyyy-MM-dd)."""
    return date.fromisoformat(value) if value else None
