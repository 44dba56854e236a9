"""The benchmark suite: helsegraf beside PostGraphile v5, the hand-written baseline and plain Strawberry.

`python -m bench all --persons 100000` seeds PostgreSQL once (reused when present), starts every
server of bench/peers.py on that database, checks that the peers give helsegraf's answer, and
then measures the integrator query for 1, 100 and 1,000 patients per request, at each
concurrency (1 and 8 requests in flight), with wrk for a fixed time. The sides take turns within
each of `--rounds` rounds (forwards in even rounds, backwards in odd ones), so that the machine's
drift touches them alike; a figure is the median of the rounds' requests/s, and a ratio
(peer / helsegraf) is the median of the ratios taken round by round. Then helsegraf alone answers
scenarios (c)-(e). Everything goes to bench/results/suite-<persons>-<date>.json.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench import peers, wrk
from bench.common import nation_database, start_server, stop, table, write_results
from bench.graph import _patients
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
PATIENTS = 4000  # each scenario cycles through the same 4,000 listed patients
TARGET_RSS_MB = 300  # issue 16: a worker's resident memory under c8 load
FEW = 10  # a round with fewer answers than this gives a coarse figure, marked with *


def _ids(url: str) -> dict[str, Sequence[Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(text(sql)).scalars().all() for name, sql in IDS.items()}
    finally:
        engine.dispose()


def _others(ids: dict[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
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


def _statements(side: peers.Side, nins: list[str]) -> int | None:
    """Return the SQL statements helsegraf reports (Server-Timing) for one request."""
    timing = side.ask(nins).headers.get("server-timing", "")
    return int(timing.split('desc="', 1)[1].split(" ", 1)[0]) if 'desc="' in timing else None


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _cell(rounds: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Summarise one scenario at one concurrency: each side's median, and each ratio's median over rounds."""
    ours = [r["throughput_rps"] for r in rounds["helsegraf"]]
    cell: dict[str, Any] = {}
    for side, measured in rounds.items():
        rates = [r["throughput_rps"] for r in measured]
        ratios = [theirs / mine for theirs, mine in zip(rates, ours, strict=True) if mine and theirs]
        cell[side] = {
            "throughput_rps": _median(rates),
            "ratio_to_helsegraf": {"median": _median(ratios), "min": round(min(ratios), 3),
                                   "max": round(max(ratios), 3)} if ratios else None,
            "latency_p50_ms": _median([r["latency_ms"]["p50"] for r in measured]),
            "latency_p99_ms": max(r["latency_ms"]["p99"] for r in measured),
            "bad_answers": sum(r["bad_answers"] for r in measured),
            "generator_cpu_max": max(r["generator_cpu"] for r in measured),
            "rss_mb": max((size for r in measured for size in r.get("rss_mb", [])), default=None),
            "rounds": measured,
        }  # fmt: skip
    return cell


def _generator_ceiling(side: peers.Side, batches: list[list[str]], concurrencies: list[int], seconds: float,
                       threads: int) -> dict[str, Any]:  # fmt: skip
    """Drive the trivial endpoint with helsegraf's own bodies and headers: the most wrk reaches here."""
    process, base = start_server([sys.executable, "-m", "bench.trivial"], ready="/", what="trivial endpoint")
    try:
        target = side.target(batches)
        target.url = f"{base}/graphql"
        return {f"c{c}": wrk.run(target, c, seconds, threads) for c in concurrencies}
    finally:
        stop(process)


def _integrator(sides: dict[str, peers.Side], nins: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Measure every side on every integrator scenario and concurrency, in alternating rounds."""
    results: dict[str, Any] = {}
    order = [s for s in peers.SIDES if s in sides]
    for size in options["sizes"]:
        batches = [nins[i : i + size] for i in range(0, PATIENTS, size)]
        targets = {name: sides[name].target(batches) for name in order}
        for name in order:  # warm up: pools, caches, prepared statements, Node's JIT
            wrk.run(targets[name], max(options["concurrency"]), options["warmup"], options["threads"])
        scenario: dict[str, Any] = {"statements": _statements(sides["helsegraf"], batches[0])}
        for concurrency in options["concurrency"]:
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in order}
            for turn in range(options["rounds"]):
                for name in order if turn % 2 == 0 else order[::-1]:
                    measured = wrk.run(targets[name], concurrency, options["duration"], options["threads"])
                    measured["rss_mb"] = _rss_mb(sides[name].process.pid)
                    rounds[name].append(measured)
                    print(f"  {size} patients c{concurrency} round {turn + 1} {name}: "
                          f"{measured['throughput_rps']} req/s, worker RSS {max(measured['rss_mb'], default=0):.0f} MB",
                          flush=True)  # fmt: skip
            scenario[f"c{concurrency}"] = _cell(rounds)
        results[f"{size}_patients"] = scenario
    return results


def _other_scenarios(side: peers.Side, url: str, options: dict[str, Any]) -> dict[str, Any]:
    """Measure helsegraf alone on scenarios (c)-(e), with a clinician token."""
    results: dict[str, Any] = {}
    for name, bodies in _others(_ids(url)).items():
        target = wrk.Target(side.url, [json.dumps(b).encode() for b in bodies], side.headers)
        wrk.run(target, max(options["concurrency"]), options["warmup"], options["threads"])
        measured: dict[str, Any] = {f"c{c}": wrk.run(target, c, options["duration"], options["threads"])
                                    for c in options["concurrency"]}  # fmt: skip
        timing = httpx.post(side.url, json=bodies[0], headers=side.headers, timeout=60).headers.get("server-timing", "")
        measured["statements"] = int(timing.split('desc="', 1)[1].split(" ", 1)[0]) if 'desc="' in timing else None
        results[name] = measured
    return results


def run(persons: int, options: dict[str, Any]) -> dict[str, Any]:
    """Run the suite with `options` (see `python -m bench all --help`); print and write the results."""
    wrk.binary()
    peers.require_postgraphile()
    settings = nation_database(persons)
    url = settings.effective_database_url
    nins = _patients(url, PATIENTS)
    home = tempfile.mkdtemp(prefix="helsegraf-bench-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=8 * 3600)
    results: dict[str, Any] = {"persons": persons, "generator": f"{wrk.version()}, bench/wrk_post.lua",
                               "pool_size_per_process": peers.POOL_SIZE, **options}  # fmt: skip
    sides = peers.start(url, home, bearer, options["workers"])
    try:
        checks = [nins[:1], [*nins[:100], peers.unknown_nin(url)], nins[:1000]]
        results["answers_checked"] = peers.check_answers(sides, checks)
        checked = results["answers_checked"]
        print(f"answers checked equal to helsegraf's: {', '.join(checked['equal'])} "
              f"({checked['patients']:,} patients, an unknown one among them)", flush=True)  # fmt: skip
        results["generator_ceiling"] = _generator_ceiling(
            sides["helsegraf"],
            [nins[i : i + 1] for i in range(PATIENTS)],
            options["concurrency"],
            min(5.0, options["duration"]),
            options["threads"],
        )
        results["integrator"] = _integrator(sides, nins, options)
        if not options["integrator_only"]:
            results["other_scenarios"] = _other_scenarios(sides["helsegraf"], url, options)
    finally:
        stop(*{side.process.pid: side.process for side in sides.values()}.values())
    report(results)
    print(f"results: {write_results(f'suite-{persons}', results)}")
    return results


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _ratio(cell: dict[str, Any], side: str) -> float | None:
    """Return a side's median ratio to helsegraf in a cell, or None when no round had both."""
    ratio = (cell.get(side) or {}).get("ratio_to_helsegraf")
    return ratio["median"] if ratio and ratio["median"] else None


def _cells(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Return ("1 patient, c1", cell) for every measured scenario and concurrency."""
    found = []
    for scenario, cells in results["integrator"].items():
        size = int(scenario.split("_")[0])
        label = "1 patient" if size == 1 else f"{size:,} patients"
        found += [(f"{label}, {key}", cell) for key, cell in cells.items() if key.startswith("c")]
    return found


def _figure(cell: dict[str, Any], side: str) -> str:
    figure = _rate(cell[side]["throughput_rps"])
    if side not in {"helsegraf", "helsegraf_no_token"} and (ratio := _ratio(cell, side)):
        figure += f" ({ratio:.2f}x)"
    if cell[side]["bad_answers"]:
        figure += f" [{cell[side]['bad_answers']} bad]"
    if min(r["requests"] for r in cell[side]["rounds"]) < FEW:
        figure += " *"
    return figure


def report(results: dict[str, Any]) -> None:
    """Print the suite's tables from its results."""
    print(f"\ngenerator: {results['generator']}, {results['threads']} thread(s), closed loop, "
          f"{results['duration']:g} s per measurement, {results['rounds']} rounds, {results['workers']} worker "
          f"processes and {results['pool_size_per_process']} connections per process for every server")  # fmt: skip
    if ceiling := results.get("generator_ceiling"):
        print("wrk against a trivial endpoint (same script, bodies, headers): " + ", ".join(
            f"{_rate(m['throughput_rps'])} req/s at {c} (wrk used {m['generator_cpu']:.0%} of a core)"
            for c, m in ceiling.items()))  # fmt: skip
    cells = _cells(results)
    sides = [s for s in peers.SIDES if cells and s in cells[0][1]]
    header = ("scenario", *(peers.LABELS[s] for s in sides))
    print("\nrequests/s, median of rounds (peer / helsegraf: the median of round-by-round ratios):")
    print(table([(label, *(_figure(cell, s) for s in sides)) for label, cell in cells], header))
    print(f"(* some round had fewer than {FEW} answers: a coarse figure; a longer --duration sharpens it)")
    print("\nlatency p50 / p99 in ms, as wrk saw it:")
    print(table([(label, *(f"{cell[s]['latency_p50_ms']:.1f} / {cell[s]['latency_p99_ms']:.0f}" for s in sides))
                 for label, cell in cells], header))  # fmt: skip
    statements = {k: v.get("statements") for k, v in results["integrator"].items()}
    print(f"\nhelsegraf SQL statements per request: {statements}")
    rss = {s: max((cell[s]["rss_mb"] or 0 for _, cell in cells), default=0) for s in sides}
    print("largest worker RSS (MB): " + ", ".join(f"{peers.LABELS[s]} {v:.0f}" for s, v in rss.items()))
    _targets(results, cells)
    for name, measured in results.get("other_scenarios", {}).items():
        print(f"{name} (helsegraf alone, {measured.get('statements')} statements): " + ", ".join(
            f"{_rate(m['throughput_rps'])} req/s at {c} (p50 {m['latency_ms']['p50']:.1f} ms)"
            for c, m in measured.items() if c.startswith("c")))  # fmt: skip


def _targets(results: dict[str, Any], cells: list[tuple[str, dict[str, Any]]]) -> None:
    """Print issue 16's targets beside what this run reached."""
    ratios = [r for _, cell in cells if (r := _ratio(cell, "postgraphile"))]
    if ratios:
        print(f"target helsegraf >= 1.0x PostGraphile in every row: helsegraf / PostGraphile from "
              f"{1 / max(ratios):.2f} to {1 / min(ratios):.2f}")  # fmt: skip
    single = results["integrator"].get("1_patients", {}).get("c8", {})
    if ratio := _ratio(single, "baseline"):
        print(f"target >= 0.6x the baseline at 1 patient, c8: {1 / ratio:.2f}")
    thousand = results["integrator"].get("1000_patients", {}).get("c1", {})
    if "baseline" in thousand:
        pairs = zip(thousand["helsegraf"]["rounds"], thousand["baseline"]["rounds"], strict=True)
        latency = [ours["latency_ms"]["p50"] / theirs["latency_ms"]["p50"] for ours, theirs in pairs
                   if ours["requests"] and theirs["requests"]]  # fmt: skip
        if latency:
            print(f"target <= 1.5x the baseline's latency at 1,000 patients, c1 p50: {statistics.median(latency):.2f}")
    # helsegraf with a token and without is one server: the largest RSS of its workers over both
    largest = max((cell[s]["rss_mb"] or 0 for _, cell in cells for s in ("helsegraf", "helsegraf_no_token")
                   if s in cell), default=0)  # fmt: skip
    print(f"target helsegraf worker RSS < {TARGET_RSS_MB} MB under load: largest {largest:.0f} MB")
