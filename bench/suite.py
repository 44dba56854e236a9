"""The benchmark suite: every scenario against `helsegraf serve` and, for (a) and (b), the physical-limit baseline.

`python -m bench all --persons 100000` seeds PostgreSQL once (reused when present), starts
helsegraf and the baseline (bench/baseline.py) with the same number of workers, checks that both
give the same answer, then runs each scenario closed-loop from a separate process pinned to a CPU
(bench/loadgen.py), after a warm-up: throughput, latency percentiles (client-observed, and
server-side from Server-Timing), SQL statements per request, and each worker's RSS afterwards.
Every scenario uses a clinician token. Scenarios (a) and (b) alternate between helsegraf and the
baseline in `--rounds` rounds, and their ratios are taken round by round, so that the machine's
drift during a run touches both sides alike.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.common import nation_database, start_server, table, write_results
from bench.graph import INTEGRATOR_QUERY, _patients
from bench.load import _serve
from helsegraf.authz.tokens import mint

CONTRACTS = (
    "query($m: String!) { gpContracts(municipality: $m, first: 50) { totalCount edges { node { id office { name } "
    "gps { relationship gp { name { full } approvals { category { code } validFrom validTo } } } } } } }"
)
RESH = (
    "query($r: Int!) { reshUnit(reshId: $r) { name children { name children { name children { name unitType } } } } }"
)
AUTHORIZATION = (
    "query($h: Int!, $d: Date!) { healthPersonnel(hprNumber: $h) { name { full } "
    'authorization(category: "LE", at: $d) { authorized reason approval { validFrom validTo } } } }'
)


IDS = {
    "municipalities": "SELECT municipality_code FROM flr_gp_contract GROUP BY municipality_code "
    "ORDER BY count(*) DESC LIMIT 10",
    "trusts": "SELECT resh_id FROM resh_unit WHERE unit_type = 'HF' ORDER BY resh_id",
    "doctors": "SELECT DISTINCT hpr_number FROM hpr_approval WHERE category = 'LE' ORDER BY hpr_number LIMIT 200",
}


def _ids(url: str) -> dict[str, Sequence[Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(text(sql)).scalars().all() for name, sql in IDS.items()}
    finally:
        engine.dispose()


def _bodies(nins: list[str], ids: dict[str, list[Any]]) -> dict[str, list[dict[str, Any]]]:
    def batches(size: int) -> list[dict[str, Any]]:
        return [{"query": INTEGRATOR_QUERY, "variables": {"nins": nins[i : i + size]}} for i in range(0, 4000, size)]

    return {
        "a_single_patient": batches(1),
        "b_100_patients": batches(100),
        "b_1000_patients": batches(1000),
        "c_gp_contracts_first_50": [{"query": CONTRACTS, "variables": {"m": m}} for m in ids["municipalities"]],
        "d_resh_subtree_4_levels": [{"query": RESH, "variables": {"r": r}} for r in ids["trusts"]],
        "e_hpr_authorization": [{"query": AUTHORIZATION, "variables": {"h": h, "d": d}}
                                for h in ids["doctors"] for d in ("2015-06-01", "2025-06-01")],
    }  # fmt: skip


def _rss_mb(pid: int) -> list[float]:
    """Return the resident memory (MB) of a server's worker processes (or of the process itself)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    sizes = []
    for child in children or [str(pid)]:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        sizes += [round(int(line.split()[1]) / 1024, 1) for line in status.splitlines() if line.startswith("VmRSS:")]
    return sizes


def _load(
    url: str, bodies: list[dict[str, Any]], bearer: str | None, duration: float, concurrency: int
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(bodies, handle)
    headers = ["--header", f"authorization: Bearer {bearer}"] if bearer else []
    command = [sys.executable, "-m", "bench.loadgen", "--url", url, "--concurrency", str(concurrency),
               "--bodies", handle.name, *headers]  # fmt: skip
    subprocess.run([*command, "--duration", str(min(3.0, duration))], check=True, capture_output=True)  # warm up
    result = json.loads(
        subprocess.run([*command, "--duration", str(duration)], check=True, capture_output=True, text=True).stdout
    )
    Path(handle.name).unlink()
    return result  # type: ignore[no-any-return]


def _measure(
    url: str, bodies: list[dict[str, Any]], bearer: str | None, duration: float, concurrency: int, pid: int
) -> dict[str, Any]:
    """Measure latency alone (one request at a time) and throughput under `concurrency`; note the workers' RSS."""
    measured = _load(url, bodies, bearer, duration, concurrency)
    measured["unloaded"] = _load(url, bodies, bearer, max(5.0, duration / 3), 1)
    measured["rss_mb"] = _rss_mb(pid)
    return measured


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _merged(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's rounds as one result: mean throughput, median p50s, the worst p99s, every statement count."""

    def latencies(pick: Any) -> dict[str, float]:
        parts = [pick(r) for r in rounds if pick(r).get("p50_ms") is not None]
        if not parts:
            return {}
        return {"p50_ms": _median([p["p50_ms"] for p in parts]), "p99_ms": max(p["p99_ms"] for p in parts)}

    statements = [r["statements"] for r in rounds if r.get("statements")]
    return {
        "throughput_rps": round(statistics.mean(r["throughput_rps"] for r in rounds), 1),
        "client": latencies(lambda r: r["client"]),
        "server": latencies(lambda r: r.get("server") or {}),
        "statements": {"min": min(s["min"] for s in statements), "max": max(s["max"] for s in statements)}
        if statements
        else {},
        "unloaded": {
            "client": latencies(lambda r: r["unloaded"]["client"]),
            "server": latencies(lambda r: r["unloaded"].get("server") or {}),
        },
        "rss_mb": [size for r in rounds for size in r["rss_mb"]],
        "rounds": rounds,
    }


def _interleaved(
    ours: tuple[str, int],
    theirs: tuple[str, int],
    scenario: list[dict[str, Any]],
    bearer: str,
    duration: float,
    concurrency: int,
    rounds: int,
) -> dict[str, Any]:
    """Measure helsegraf and the baseline in alternating rounds, so that drift on the machine touches both alike.

    Ratios are taken within each round; the report gives their median and range.
    """
    answer = [{"variables": b["variables"]} for b in scenario]
    sides: dict[str, list[dict[str, Any]]] = {"helsegraf": [], "baseline": []}
    measures = {
        "helsegraf": lambda: _measure(ours[0], scenario, bearer, duration / rounds, concurrency, ours[1]),
        "baseline": lambda: _measure(theirs[0], answer, None, duration / rounds, concurrency, theirs[1]),
    }
    for turn in range(rounds):
        # Each side goes first in every other round, so a steady drift does not favour one of them.
        for side in ("helsegraf", "baseline") if turn % 2 == 0 else ("baseline", "helsegraf"):
            sides[side].append(measures[side]())
    return {side: _merged(measured) for side, measured in sides.items()}


def _round_ratios(result: dict[str, Any], pick: Any) -> list[float]:
    """Return helsegraf's measure over the baseline's, round by round (rounds where either has none are left out)."""
    pairs = zip(result["helsegraf"]["rounds"], result["baseline"]["rounds"], strict=True)
    return [pick(ours) / pick(theirs) for ours, theirs in pairs if pick(ours) and pick(theirs)]


def _baseline(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    command = [sys.executable, "-m", "bench.baseline", "--database-url", url, "--workers", str(workers)]
    return start_server(command, ready="/healthz", what="the baseline")


def _same_answer(helsegraf: str, baseline: str, bearer: str, body: dict[str, Any]) -> bool:
    ours = httpx.post(helsegraf, json=body, headers={"authorization": f"Bearer {bearer}"}, timeout=60).json()
    theirs = httpx.post(baseline, json=body, timeout=60).json()
    return bool(ours == theirs)


def run(persons: int, duration: float = 15, concurrency: int = 8, workers: int = 2, rounds: int = 3) -> dict[str, Any]:
    """Run every scenario; print and write the results."""
    settings = nation_database(persons)
    url = settings.effective_database_url
    nins, ids = _patients(url, 4000), _ids(url)
    bodies = _bodies(nins, ids)
    home = tempfile.mkdtemp(prefix="helsegraf-bench-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=4 * 3600)
    server, base = _serve(url, home, workers)
    baseline, baseline_base = _baseline(url, workers)
    results: dict[str, Any] = {
        "persons": persons,
        "workers": workers,
        "concurrency": concurrency,
        "duration_s": duration,
        "rounds": rounds,
    }
    try:
        results["baseline_answers_match"] = _same_answer(
            f"{base}/graphql", f"{baseline_base}/answer", bearer, bodies["b_100_patients"][1]
        )
        ours, theirs = (f"{base}/graphql", server.pid), (f"{baseline_base}/answer", baseline.pid)
        for name, scenario in bodies.items():
            if name.startswith(("a_", "b_")):
                results[name] = _interleaved(ours, theirs, scenario, bearer, duration, concurrency, rounds)
            else:
                results[name] = {"helsegraf": _measure(ours[0], scenario, bearer, duration, concurrency, ours[1])}
    finally:
        for process in (server, baseline):
            process.terminate()
            process.wait(timeout=30)
    _report(results)
    print(f"results: {write_results(f'suite-{persons}', results)}")
    return results


def _report(results: dict[str, Any]) -> None:
    rows = []
    for name, sides in results.items():
        if not isinstance(sides, dict) or "helsegraf" not in sides:
            continue
        for side, r in sides.items():
            statements = r.get("statements") or {}
            alone = r["unloaded"]
            rows.append((name, side, str(alone["client"].get("p50_ms")), str(alone["client"].get("p99_ms")),
                         str(alone["server"].get("p50_ms", "")), str(r["throughput_rps"]),
                         str(r["client"].get("p50_ms")), str(r["client"].get("p99_ms")),
                         f"{statements.get('min', '')}-{statements.get('max', '')}" if statements else "",
                         str(max(r["rss_mb"], default=""))))  # fmt: skip
    print(table(rows, ("scenario", "server", "alone p50", "alone p99", "server p50", "loaded req/s", "loaded p50",
                       "loaded p99", "statements", "max RSS MB")))  # fmt: skip
    print(f"(latencies in ms; 'alone': one request at a time; 'loaded': {results['concurrency']} in flight)")
    a, b = results.get("a_single_patient", {}), results.get("b_1000_patients", {})
    if "baseline" in a and (ratios := _round_ratios(a, lambda r: r["throughput_rps"])):
        results["ratio_a_throughput"] = {"median": _median(ratios), "min": min(ratios), "max": max(ratios)}
        print(f"(a) helsegraf throughput / baseline: {statistics.median(ratios):.2f} "
              f"(rounds {min(ratios):.2f}-{max(ratios):.2f}; target >= 0.50)")  # fmt: skip
    if "baseline" in b and (ratios := _round_ratios(b, lambda r: r["unloaded"]["client"].get("p50_ms"))):
        results["ratio_b1000_latency"] = {"median": _median(ratios), "min": min(ratios), "max": max(ratios)}
        print(f"(b) 1,000 patients alone: helsegraf server p50 {b['helsegraf']['unloaded']['server'].get('p50_ms')} ms "
              f"(target < 250); latency / baseline: {statistics.median(ratios):.2f} "
              f"(rounds {min(ratios):.2f}-{max(ratios):.2f}; target <= 2)")  # fmt: skip
    print(f"baseline gives the same answer as helsegraf: {results.get('baseline_answers_match')}")
