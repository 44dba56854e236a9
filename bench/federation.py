"""The gateway's added latency: the 100-patient integrator query through Hive Gateway and seven
register subgraphs, against the same query to one `helsegraf serve` of all registers. Both run
as separate processes on loopback, on the same PostgreSQL nation, with a clinician token.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import nation_database, summary, table, write_results
from bench.graph import INTEGRATOR_QUERY, _patients
from bench.load import _serve
from helsegraf.authz.tokens import mint
from helsegraf.config import Settings
from helsegraf.federation import free_port, running


def _time(url: str, bearer: str, batches: list[list[str]], runs: int) -> list[float]:
    samples = []
    with httpx.Client(timeout=60) as client:
        for i in range(runs + 10):
            started = time.perf_counter()
            body = {"query": INTEGRATOR_QUERY, "variables": {"nins": batches[i % len(batches)]}}
            response = client.post(url, json=body, headers={"authorization": f"Bearer {bearer}"})
            elapsed = (time.perf_counter() - started) * 1000
            body = response.json()
            if response.status_code != 200 or "errors" in body:
                raise RuntimeError(str(body)[:500])
            if i >= 10:  # the first ten warm up
                samples.append(elapsed)
    return samples


def run(persons: int, runs: int = 100) -> dict[str, Any]:
    """Measure both paths and print the gateway's added latency."""
    settings = nation_database(persons)
    nins = _patients(settings.effective_database_url, 2000)
    batches = [nins[i : i + 100] for i in range(0, 2000, 100)]
    home = tempfile.mkdtemp(prefix="helsegraf-federation-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=3600)
    process, base = _serve(settings.effective_database_url, home, 1)
    try:
        monolith = _time(f"{base}/graphql", bearer, batches, runs)
    finally:
        process.terminate()
        process.wait(timeout=30)
    fed_settings = Settings(home=Path(home), database_url=settings.effective_database_url)
    with running(fed_settings, work=Path(home) / "federation", gateway_port=free_port(), base_port=0) as url:
        gateway = _time(url, bearer, batches, runs)
    results = {"persons": persons, "query": "100 patients", "monolith": summary(monolith), "gateway": summary(gateway)}
    results["added_p50_ms"] = round(results["gateway"]["p50_ms"] - results["monolith"]["p50_ms"], 2)
    sides = (("monolith (helsegraf serve)", results["monolith"]), ("Hive Gateway + 7 subgraphs", results["gateway"]))
    rows = [(name, str(r["n"]), str(r["p50_ms"]), str(r["p95_ms"]), str(r["p99_ms"])) for name, r in sides]
    print(table(rows, ("100 patients, client-observed", "runs", "p50 ms", "p95 ms", "p99 ms")))
    print(f"the gateway adds {results['added_p50_ms']} ms at p50")
    print(f"results: {write_results(f'federation-{persons}', results)}")
    return results
