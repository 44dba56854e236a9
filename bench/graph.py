"""Graph latency in-process on PostgreSQL: the integrator query for 1 and 1,000 patients.

Times are server-side: the app's own Server-Timing (from request received to response built,
database included), so the in-process HTTP client's cost is left out. The app with a clinician
token and the app with authorisation disabled answer alternately, so drift on the machine
touches both alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.common import nation_database, summary, table, write_results
from helsegraf.authz.tokens import AuthSettings, mint
from helsegraf.http.app import create_app
from helsegraf.http.context import oslo_today

INTEGRATOR_QUERY = """
query($nins: [ID!]!) { persons(nins: $nins) { nin gp {
  gp { hprNumber name { full } } gpHerId
  contract { id office { orgNumber name } }
  officeCommunicationParty { herId electronicAddresses } } } }
"""


def _patients(url: str, count: int) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT nin FROM flr_list_membership "
                     "WHERE valid_from <= :on AND (valid_to IS NULL OR valid_to > :on) ORDER BY id LIMIT :n"),
                {"on": oslo_today(), "n": count},
            )  # fmt: skip
            return [r.nin for r in rows]
    finally:
        engine.dispose()


class _Client:
    """One app in-process, with the headers it is called with and the server-side times it reported."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app, self.headers = app, headers
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        self.times: list[float] = []

    async def ask(self, nins: list[str]) -> None:
        response = await self.http.post(
            "/graphql", json={"query": INTEGRATOR_QUERY, "variables": {"nins": nins}}, headers=self.headers
        )
        body = response.json()
        if "errors" in body or response.status_code != 200:
            raise RuntimeError(body)
        self.times.append(float(response.headers["server-timing"].split("dur=", 1)[1].split(",", 1)[0]))

    async def close(self) -> None:
        await self.http.aclose()
        await self.app.state.db.dispose()


async def _measure(persons: int, single_runs: int, batch_runs: int) -> dict[str, Any]:
    settings = nation_database(persons)
    nins = _patients(settings.effective_database_url, 5000)
    bearer = mint(settings.home, role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=3600)
    on = _Client(create_app(settings), {"authorization": f"Bearer {bearer}", "x-purpose": "benchmark"})
    off = _Client(create_app(replace(settings, auth=AuthSettings(mode="disabled"))), {})
    results: dict[str, Any] = {"persons": persons}
    for name, runs, size in (("single_patient", single_runs, 1), ("thousand_patients", batch_runs, 1000)):
        for client in (on, off):  # warm up: pools, caches, prepared statements
            for i in range(30 if size == 1 else 3):
                await client.ask(nins[i * size % 4000 : i * size % 4000 + size])
            client.times.clear()
        for i in range(runs):
            batch = nins[i * size % 4000 : i * size % 4000 + size]
            for client in (on, off) if i % 2 == 0 else (off, on):
                await client.ask(batch)
        results[name] = {"auth_on": summary(on.times), "auth_off": summary(off.times)}
    for client in (on, off):
        await client.close()
    results["auth_overhead_ratio_1000"] = round(
        results["thousand_patients"]["auth_on"]["p50_ms"] / results["thousand_patients"]["auth_off"]["p50_ms"], 3
    )
    return results


def run(persons: int, single_runs: int = 500, batch_runs: int = 40) -> dict[str, Any]:
    """Measure and print the integrator query's server-side latency, with a clinician token and without."""
    results = asyncio.run(_measure(persons, single_runs, batch_runs))
    rows = [(f"{label} (auth {auth})", str(r["n"]), str(r["p50_ms"]), str(r["p95_ms"]), str(r["p99_ms"]))
            for key, label in (("single_patient", "1 patient"), ("thousand_patients", "1,000 patients"))
            for auth in ("on", "off") for r in [results[key][f"auth_{auth}"]]]  # fmt: skip
    print(table(rows, ("query (server-side)", "runs", "p50 ms", "p95 ms", "p99 ms")))
    print(
        "1,000 patients with a clinician token / without authorisation (p50): "
        f"{results['auth_overhead_ratio_1000']:.2f}"
    )
    print(f"results: {write_results(f'graph-{persons}', results)}")
    return results
