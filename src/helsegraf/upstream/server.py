"""`helsegraf upstream`: the registers' fakes in one server, with a stream of daily changes.

Persontjenesten is mounted at `/persontjenesten` (its paths begin `/api/...`, its token endpoint is
`/persontjenesten/connect/token`), Enhetsregisteret at `/enhetsregisteret/api`, as on data.brreg.no;
HPR's SOAP service answers POSTs at `/hpr/`, RESH's at `/resh/`, FLR's read service at `/flr/` and
its export at `/flr/export/`; AR's CommunicationParty API is at `/ar`, the code-list service at
`/kodeverk`. Every `day_seconds` a day of changes is appended to each register's feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from helsegraf.data.world import World
from helsegraf.upstream import ar, bed, flr, hpr, kodeverk, preg, resh
from helsegraf.upstream.auth import TokenIssuer
from helsegraf.upstream.faults import Faults

log = logging.getLogger("helsegraf.upstream")
OTHERS = ("hpr", "ar", "kodeverk", "resh", "flr")  # the registers whose fakes came with part 2
SERVABLE = ("preg", "bed", "hpr", "ar", "kodeverk", "resh", "flr")


@dataclass
class Upstream:
    """The fakes of one nation, their faults and the day counter."""

    world: World
    registers: frozenset[str]
    issuer: TokenIssuer = field(default_factory=TokenIssuer)
    preg: preg.PregSource | None = None
    bed: bed.BedSource | None = None
    preg_faults: Faults = field(default_factory=Faults)
    bed_faults: Faults = field(default_factory=Faults)
    hpr: hpr.HprSource | None = None
    ar: ar.ArSource | None = None
    kodeverk: kodeverk.KodeverkSource | None = None
    resh: resh.ReshSource | None = None
    flr: flr.FlrSource | None = None
    faults: dict[str, Faults] = field(default_factory=dict)  # the other registers' faults, by register
    rng: random.Random = field(default_factory=lambda: random.Random(20_260_101))

    def __post_init__(self) -> None:
        if "preg" in self.registers:
            self.preg = preg.PregSource(self.world)
        if "bed" in self.registers:
            self.bed = bed.BedSource(self.world)
        if "hpr" in self.registers:
            self.hpr = hpr.HprSource(self.world)
        if "ar" in self.registers:
            self.ar = ar.ArSource(self.world)
        if "kodeverk" in self.registers:
            self.kodeverk = kodeverk.KodeverkSource(self.world)
        if "resh" in self.registers:
            self.resh = resh.ReshSource(self.world)
        if "flr" in self.registers:
            self.flr = flr.FlrSource(self.world)
        for register in OTHERS:
            self.faults.setdefault(register, Faults())
        self.faults.setdefault("preg", self.preg_faults)
        self.faults.setdefault("bed", self.bed_faults)

    def day_of_changes(self, scale: int = 1) -> dict[str, dict[str, list[str]]]:
        """Append one day of changes to every served register."""
        done: dict[str, dict[str, list[str]]] = {}
        if self.preg is not None:
            done["preg"] = self.preg.day_of_changes(self.rng, scale)
        if self.bed is not None:
            done["bed"] = self.bed.day_of_changes(self.rng, scale)
        for name in OTHERS:
            source = getattr(self, name)
            if source is not None:
                done[name] = source.day_of_changes(self.rng, scale)
        return done

    def app(self, day_seconds: float = 0, scale: int = 1) -> Starlette:
        """Return the combined Starlette app."""
        routes: list[Route | Mount] = [Route("/", self._index)]
        if self.preg is not None:
            routes.append(Mount("/persontjenesten", preg.create_app(self.preg, self.issuer, self.preg_faults)))
        if self.bed is not None:
            routes.append(Mount("/enhetsregisteret/api", bed.create_app(self.bed, self.bed_faults)))
        if self.hpr is not None:
            routes.append(Mount("/hpr", hpr.create_app(self.hpr, self.faults["hpr"])))
        if self.ar is not None:
            routes.append(Mount("/ar", ar.create_app(self.ar, self.faults["ar"])))
        if self.kodeverk is not None:
            routes.append(Mount("/kodeverk", kodeverk.create_app(self.kodeverk, self.faults["kodeverk"])))
        if self.resh is not None:
            routes.append(Mount("/resh", resh.create_app(self.resh, self.faults["resh"])))
        if self.flr is not None:
            routes.append(Mount("/flr", flr.create_app(self.flr, self.faults["flr"])))

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            task = asyncio.create_task(self._days(day_seconds, scale)) if day_seconds > 0 else None
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

        app = Starlette(routes=routes, lifespan=lifespan)
        app.state.upstream = self
        return app

    async def _days(self, seconds: float, scale: int) -> None:
        while True:
            await asyncio.sleep(seconds)
            done = self.day_of_changes(scale)
            log.info(
                "upstream: a day of changes",
                extra={"changes": {r: {k: len(v) for k, v in d.items()} for r, d in done.items()}},
            )

    async def _index(self, _request: object) -> JSONResponse:
        body = {}
        if self.preg is not None:
            body["persontjenesten"] = {
                "path": "/persontjenesten/api/legal-basis/",
                "latestSequenceNumber": self.preg.latest,
            }
        if self.bed is not None:
            body["enhetsregisteret"] = {
                "path": "/enhetsregisteret/api/",
                "updates": {f: self.bed.latest(f) for f in bed.FEEDS},
            }
        if self.hpr is not None:
            body["hpr"] = {"path": "/hpr/", "operations": list(hpr.OPERATIONS)}
        if self.ar is not None:
            body["ar"] = {"path": "/ar/", "lastEventId": self.ar.latest}
        if self.kodeverk is not None:
            body["kodeverk"] = {"path": "/kodeverk/", "latestVersion": self.kodeverk.latest}
        if self.resh is not None:
            body["resh"] = {"path": "/resh/", "operations": ["GetModifiedReshIds", "GetModifiedParentLinks",
                                                             "GetReshUnit"]}  # fmt: skip
        if self.flr is not None:
            body["flr"] = {"path": "/flr/", "export": "/flr/export/",
                           "operations": ["QueryGPContracts", "GetGPContract", "ExportGPContracts"]}  # fmt: skip
        return JSONResponse(body)
