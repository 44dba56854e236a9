"""Statistics at national scale on PostgreSQL: the key-figure table and SSB 12005 for all municipalities.

Seeds a nation of its own (`<prefix>_stats_<persons>`), or takes an already seeded PostgreSQL
database (`--database NAME`: nothing is seeded or dropped, its schema is upgraded), then asks, through the app's HTTP
pipeline in-process with an analyst token, for Helsedirektoratet's national key figures
(`statistics { keyFigures }`) and SSB table 12005 for every municipality (`statistics { ssb12005 }`),
at today's date and at a past quarter end. Times are the app's own Server-Timing (request received to
response built, database and query log included). The target is under 2 s each for 5.5 million persons.

**The first request of a reference date publishes it** (stats/published.py: the date's grouped scans of
FLR and HPR, stored in the audit store), the later ones read the stored publication. Each table and
date is therefore timed twice over: its first, publishing request (with the date's publications
deleted just before, so that it publishes: the benchmark's database is a synthetic one), reported as
`... first (publishing)`, and `--runs` requests after it, which read the publication. One request of
public counts only (no publication) warms the pools and caches before anything is timed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import date
from typing import Any

import httpx
import psycopg

from bench.common import ADMIN_URL, database_name, database_url, recreate_database, summary, table, write_results
from helsegraf import migrate
from helsegraf.authz.tokens import mint
from helsegraf.config import Settings
from helsegraf.data.load import populated_registers
from helsegraf.db import libpq_url
from helsegraf.http.app import create_app
from helsegraf.http.context import oslo_today
from helsegraf.registers import AUDIT
from helsegraf.seeding import seed
from helsegraf.stats import published
from helsegraf.stats.engine import reference_date

KEY_FIGURES = "query($at: Date) { statistics { keyFigures(at: $at) { code value suppressed } } }"
SSB_12005 = """query($at: Date) { statistics { ssb12005(at: $at) { code lists openLists capacity
  patients { value } patientsOnListsWithGp { value } patientsOnListsWithoutGp { value } meanListLength
  reserveCapacity } } }"""
QUARTER_END = date(2025, 6, 30)


def _nation(persons: int) -> tuple[Settings, float | None]:
    """Return settings for the statistics nation, seeding it (and timing that) unless it is there already."""
    name = database_name(f"stats_{persons}")
    settings = Settings(database_url=database_url(name))
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        try:
            if populated_registers(settings).get("preg") == persons:
                migrate.upgrade(settings)
                print(f"reusing {name}")
                return settings, None
        except Exception:  # noqa: BLE001, S110 - a half-made database is simply made again
            pass
    recreate_database(name)
    migrate.upgrade(settings)
    print(f"seeding {persons:,} persons into {name} ...")
    started = time.perf_counter()
    seed(settings, persons=persons, seed_value=1, reset=False)
    seconds = time.perf_counter() - started
    print(f"  seeded in {seconds:.1f} s")
    return settings, seconds


WARM_UP = "{ statistics { table(measures: [LISTS, GPS]) { rows { values { value } } } } }"  # publishes nothing


def _unpublish(settings: Settings) -> None:
    """Delete every stored statistics publication, so that the next table of a date publishes it."""
    with psycopg.connect(libpq_url(settings.url_for(AUDIT)), autocommit=True) as conn:
        for table in published.TABLES:
            conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - the module's own table names


async def _measure(settings: Settings, runs: int) -> dict[str, Any]:
    app = create_app(settings)
    bearer = mint(settings.home, role="analyst", ttl_seconds=3600)
    headers = {"authorization": f"Bearer {bearer}", "x-purpose": "benchmark"}
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 timeout=120) as client:  # fmt: skip

        async def ask(query: str, at: str | None) -> tuple[float, Any]:
            response = await client.post("/graphql", json={"query": query, "variables": {"at": at}}, headers=headers)
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise SystemExit(f"request failed: {str(body)[:500]}")
            return float(response.headers["server-timing"].split("dur=", 1)[1].split(",", 1)[0]), body

        await ask(WARM_UP, None)
        for name, query in (("keyFigures", KEY_FIGURES), ("ssb12005", SSB_12005)):
            for label, at in (("today", None), ("quarter end", QUARTER_END.isoformat())):
                _unpublish(settings)
                first, body = await ask(query, at)  # publishes the date: FLR's and HPR's scans, stored
                results[f"{name} ({label}) first (publishing)"] = summary([first])
                times = []
                for _ in range(runs):
                    took, body = await ask(query, at)
                    times.append(took)
                results[f"{name} ({label})"] = summary(times)
                if name == "ssb12005":
                    results[f"{name} rows"] = len(body["data"]["statistics"]["ssb12005"])
    await app.state.db.dispose()
    results.update(await _published_by_the_server(settings))
    return results


def _is_published(settings: Settings, on: date) -> bool:
    with psycopg.connect(libpq_url(settings.url_for(AUDIT)), autocommit=True) as conn:
        sql = f"SELECT 1 FROM {published.PUBLICATION.name} WHERE reference_date = %s"  # noqa: S608 - its own table
        return conn.execute(sql, (on,)).fetchone() is not None


async def _published_by_the_server(settings: Settings) -> dict[str, Any]:
    """Time the server's own publication of the current reference date, then an analyst's first tables of it.

    A server publishes the last quarter end by itself (HELSEGRAF_STATS_PUBLISH_AFTER_DAYS, here 0), in the
    background as it starts: the analyst's first `keyFigures` and `ssb12005` of today then read it.
    """
    _unpublish(settings)
    today = oslo_today()
    ref = reference_date(today, today)
    app = create_app(replace(settings, stats_publish_after_days=0))
    bearer = mint(settings.home, role="analyst", ttl_seconds=3600)
    headers = {"authorization": f"Bearer {bearer}", "x-purpose": "benchmark"}
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        started = time.perf_counter()
        while not await asyncio.to_thread(_is_published, settings, ref):  # noqa: ASYNC110 - another connection's commit
            await asyncio.sleep(0.05)
        results["the server's own publication of today's reference date (background)"] = summary(
            [(time.perf_counter() - started) * 1000]
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     timeout=120) as client:  # fmt: skip
            for name, query in (("keyFigures", KEY_FIGURES), ("ssb12005", SSB_12005)):
                response = await client.post("/graphql", json={"query": query, "variables": {"at": None}},
                                             headers=headers)  # fmt: skip
                body = response.json()
                if response.status_code != 200 or body.get("errors"):
                    raise SystemExit(f"request failed: {str(body)[:500]}")
                took = float(response.headers["server-timing"].split("dur=", 1)[1].split(",", 1)[0])
                results[f"{name} (today) first, after the server published it"] = summary([took])
    return results


def _existing(name: str) -> tuple[Settings, int]:
    """Return settings for an already seeded database and its number of persons, or exit saying what is wrong."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        raise SystemExit(f"--database: no database {name!r} on {ADMIN_URL.rsplit('/', 1)[0]}/ (seed it first, "
                         "e.g. helsegraf seed --database-url ..., or leave --database out to seed one)")  # fmt: skip
    settings = Settings(database_url=database_url(name))
    try:
        persons = populated_registers(settings).get("preg", 0)
    except Exception as error:  # noqa: BLE001 - any failure to read it: not a seeded helsegraf database
        raise SystemExit(f"--database: {name!r} is not a seeded helsegraf database ({type(error).__name__})") from None
    if not persons:
        raise SystemExit(f"--database: {name!r} holds no persons (seed it first)")
    migrate.upgrade(settings)
    print(f"using {name} ({persons:,} persons), as it is")
    return settings, persons


def run(persons: int, runs: int = 5, database: str | None = None) -> dict[str, Any]:
    """Seed (once, unless `database` names a seeded one) and time the two tables."""
    if database is not None:
        settings, persons = _existing(database)
        seeded = None
    else:
        settings, seeded = _nation(persons)
    measured = asyncio.run(_measure(settings, runs))
    results = {"persons": persons, "database": database, "seed_s": seeded, "runs": runs, **measured}
    rows = [(name, str(v["n"]), f"{v['p50_ms']:.0f}", f"{v['p95_ms']:.0f}", f"{v['mean_ms']:.0f}")
            for name, v in measured.items() if isinstance(v, dict)]  # fmt: skip
    print(table(rows, ("table", "requests", "p50 ms", "p95 ms", "mean ms")))
    print(f"results: {write_results(f'stats-{persons}', results)}")
    return results
