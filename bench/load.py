"""Load test: `helsegraf serve --workers 2` on PostgreSQL under a steady rate, from a separate process.

Scenarios: the integrator query for one patient per request and for 100 patients per request,
each with a clinician token, each for `duration` seconds at a fixed rate. Reports throughput,
latency percentiles and errors (the target is none).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import nation_database, start_server, table, write_results
from bench.graph import INTEGRATOR_QUERY, _patients
from helsegraf.authz.tokens import mint

# wrk keeps a number of requests in flight; only this one offers a fixed rate whatever the answers do.
GENERATOR = "bench/loadgen.py (Python, open loop at a fixed rate; wrk cannot offer a fixed rate)"


def _serve(url: str, home: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "HELSEGRAF_HOME": home, "HELSEGRAF_LOG_FORMAT": "plain"}
    command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url", url, "--workers", str(workers)]
    return start_server(command, ready="/readyz", what="helsegraf serve", env=env)


def _scenario(base: str, bearer: str, nins: list[str], size: int, rate: float, duration: float) -> dict[str, Any]:
    bodies = [{"query": INTEGRATOR_QUERY, "variables": {"nins": nins[i : i + size]}} for i in range(0, 2000, size)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(bodies, handle)

    def command(seconds: float) -> list[str]:
        return [sys.executable, "-m", "bench.loadgen", "--url", f"{base}/graphql", "--rate", str(rate),
                "--duration", str(seconds), "--bodies", handle.name,
                "--header", f"authorization: Bearer {bearer}", "--header", "x-purpose: load-test"]  # fmt: skip

    subprocess.run(command(5), check=True, capture_output=True)  # warm up: pools, caches, prepared statements
    output = subprocess.run(command(duration), check=True, capture_output=True, text=True).stdout
    Path(handle.name).unlink()
    return json.loads(output)  # type: ignore[no-any-return]


def run(persons: int, duration: float, single_rate: float, hundred_rate: float, workers: int = 2) -> dict[str, Any]:
    """Run both scenarios against a fresh server and print the results."""
    settings = nation_database(persons)
    nins = _patients(settings.effective_database_url, 2000)
    home = tempfile.mkdtemp(prefix="helsegraf-load-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=4 * 3600)
    process, base = _serve(settings.effective_database_url, home, workers)
    results: dict[str, Any] = {"persons": persons, "workers": workers, "generator": GENERATOR}
    try:
        results["single_patient"] = _scenario(base, bearer, nins, 1, single_rate, duration)
        results["hundred_patients"] = _scenario(base, bearer, nins, 100, hundred_rate, duration)
    finally:
        process.terminate()
        process.wait(timeout=30)
    rows = []
    for name in ("single_patient", "hundred_patients"):
        r = results[name]
        rows.append((name, str(r["offered_rate"]), str(r["throughput_rps"]), str(r["completed"]),
                     str(sum(r["errors"].values())), str(r["client"].get("p50_ms")), str(r["client"].get("p99_ms")),
                     str(r["server"].get("p50_ms")), str(r["server"].get("p99_ms"))))  # fmt: skip
    print(
        table(
            rows, ("scenario", "rate/s", "done/s", "requests", "errors", "p50 ms", "p99 ms", "server p50", "server p99")
        )
    )
    print(f"generator: {GENERATOR}")
    print(f"results: {write_results(f'load-{persons}', results)}")
    return results
