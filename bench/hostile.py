"""Hostile load: does good traffic keep its throughput while another client attacks, and does the worker stay small?

`helsegraf serve` (one worker) on the PostgreSQL nation answers the integrator query (one patient per
request, clinician token) from a closed-loop client (`bench.loadgen`, pinned to the last CPU), first
alone for `--duration` seconds, then for as long again while an attacker (this module, in a process of
its own) sends, as fast as it is answered:

- refused documents: 60 kB alias documents, each one new (they would fill a parse cache), cost bombs
  (nested patient lists), fan-out fragments (`F30 { ...F29 ...F29 }`, 1.2 kB), variables that cannot be
  coerced, request heads of 1 MB;
- stalled connections: `--stalled` sockets that send half a request head and then nothing, opened again
  each time the server closes one.

Reported: good throughput alone and under attack and their ratio (target >= 80 %), the worker's peak
resident memory (target < 300 MB), and what the attacker sent and got back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import nation_database, start_server, stop, table, write_results
from bench.graph import INTEGRATOR_QUERY, _patients
from helsegraf.authz.tokens import mint

TARGET_RATIO = 0.8
TARGET_RSS_MB = 300
FAN_OUT = " ".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 31))
FAN_OUT += " fragment F0 on Query { __typename } query { ...F30 }"
COST_BOMB = ("{ gpContracts(openOnly: false, first: 100) { edges { node { patients(first: 100) { edges { node { "
             "gpHistory { contract { patients(first: 100) { edges { node { nin } } } } } } } } } } } }")  # fmt: skip


def _alias_document(n: int) -> str:
    """A 60 kB document of aliases, different for every `n`."""
    return "{ " + " ".join(f"a{n}x{i}: __typename" for i in range(4000)) + " }"


async def _stall(host: str, port: int, stop_at: float, tally: Counter[str]) -> None:
    """Keep one connection stalled mid-head; open another whenever the server closes it."""
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            tally["stall connect failed"] += 1
            await asyncio.sleep(0.5)
            continue
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Half")
        with contextlib.suppress(OSError, TimeoutError):
            answer = await asyncio.wait_for(reader.read(200), timeout=max(stop_at - time.monotonic(), 0.1))
            tally[f"stalled, then {answer.split(b' ', 2)[1].decode() if answer.startswith(b'HTTP') else 'closed'}"] += 1
        writer.close()


async def attack(url: str, duration: float, concurrency: int, stalled: int) -> dict[str, Any]:
    """Send refused documents, huge heads and stalled connections for `duration` seconds; count the answers."""
    stop_at = time.monotonic() + duration
    tally: Counter[str] = Counter()
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    counter = iter(range(10**9))

    def bodies(n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        kind = n % 5
        if kind == 0:
            return "aliases 60 kB", {"query": _alias_document(n)}, {}
        if kind == 1:
            return "fan-out", {"query": FAN_OUT}, {}
        if kind == 2:
            return "cost bomb", {"query": COST_BOMB}, {}
        if kind == 3:
            bad = {"query": "query($r: Int!) { reshUnit(reshId: $r) { reshId } }", "variables": {"r": "x" * 5000}}
            return "bad variable", bad, {}
        return "1 MB head", {"query": "{ __typename }"}, {"x-big": "a" * 1_000_000}

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def sender() -> None:
            while time.monotonic() < stop_at:
                kind, body, headers = bodies(next(counter))
                try:
                    response = await client.post(f"{url}/graphql", json=body, headers=headers)
                    tally[f"{kind} -> {response.status_code}"] += 1
                except httpx.HTTPError as exc:
                    tally[f"{kind} -> {type(exc).__name__}"] += 1

        await asyncio.gather(*(sender() for _ in range(concurrency)),
                             *(_stall(host, int(port), stop_at, tally) for _ in range(stalled)))  # fmt: skip
    return dict(tally)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _Peak:
    """Samples a process's resident memory every 0.2 s in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb(self.pid))
            self._stop.wait(0.2)

    def done(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak, 1)


def _good(base: str, bodies: str, bearer: str, seconds: float, concurrency: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench.loadgen", "--url", f"{base}/graphql", "--concurrency", str(concurrency),
               "--duration", str(seconds), "--bodies", bodies, "--header", f"authorization: Bearer {bearer}",
               "--header", "x-purpose: hostile-bench"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def run(persons: int, duration: float, concurrency: int, attackers: int, stalled: int) -> dict[str, Any]:
    """Measure good traffic alone, then under attack; print and store the figures."""
    settings = nation_database(persons)
    nins = _patients(settings.effective_database_url, 500)
    home = tempfile.mkdtemp(prefix="helsegraf-hostile-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=4 * 3600)
    env = {**os.environ, "HELSEGRAF_HOME": home, "HELSEGRAF_LOG_FORMAT": "plain"}
    command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url", settings.effective_database_url,
               "--workers", "1"]  # fmt: skip
    process, base = start_server(command, ready="/readyz", what="helsegraf serve", env=env)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump([{"query": INTEGRATOR_QUERY, "variables": {"nins": [nin]}} for nin in nins], handle)
    results: dict[str, Any] = {"persons": persons, "duration_s": duration, "concurrency": concurrency,
                               "attackers": attackers, "stalled": stalled, "machine": "shared, 2 cores"}  # fmt: skip
    try:
        warm = _good(base, handle.name, bearer, 5, concurrency)
        warm.communicate()
        peak = _Peak(process.pid)
        alone = _good(base, handle.name, bearer, duration, concurrency)
        results["alone"] = json.loads(alone.communicate()[0])
        results["rss_mb_alone"] = peak.done()
        peak = _Peak(process.pid)
        attacked = _good(base, handle.name, bearer, duration, concurrency)
        results["attack"] = asyncio.run(attack(base, duration, attackers, stalled))
        results["under_attack"] = json.loads(attacked.communicate()[0])
        results["rss_mb_peak"] = peak.done()
        health_started = time.perf_counter()
        health = httpx.get(f"{base}/healthz", timeout=5)
        results["healthz_after"] = {"status": health.status_code,
                                    "ms": round((time.perf_counter() - health_started) * 1000, 1)}  # fmt: skip
    finally:
        stop(process)
        Path(handle.name).unlink()
    alone_rps, attacked_rps = results["alone"]["throughput_rps"], results["under_attack"]["throughput_rps"]
    results["throughput_ratio"] = round(attacked_rps / alone_rps, 3) if alone_rps else 0.0
    results["passed"] = results["throughput_ratio"] >= TARGET_RATIO and results["rss_mb_peak"] < TARGET_RSS_MB
    _print(results)
    print(f"results: {write_results(f'hostile-{persons}', results)}")
    return results


def _print(results: dict[str, Any]) -> None:
    alone, attacked = results["alone"], results["under_attack"]
    print(table([
        ("alone", str(alone["throughput_rps"]), str(alone["client"].get("p50_ms")), str(alone["client"].get("p99_ms")),
         str(sum(alone["errors"].values())), str(results["rss_mb_alone"])),
        ("under attack", str(attacked["throughput_rps"]), str(attacked["client"].get("p50_ms")),
         str(attacked["client"].get("p99_ms")), str(sum(attacked["errors"].values())), str(results["rss_mb_peak"])),
    ], ("good traffic", "req/s", "p50 ms", "p99 ms", "errors", "worker RSS MB (peak)")))  # fmt: skip
    print(
        f"throughput kept: {results['throughput_ratio']:.0%} (target >= {TARGET_RATIO:.0%}); worker RSS peak "
        f"{results['rss_mb_peak']} MB (target < {TARGET_RSS_MB}); {'PASS' if results['passed'] else 'FAIL'}"
    )
    print("the attacker sent and got:")
    for kind, count in sorted(results["attack"].items()):
        print(f"  {count:>6}  {kind}")


def main() -> None:
    """Run the attacker alone (for trying it against a running server)."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--url", required=True, help="base URL of a running helsegraf serve")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--stalled", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(attack(args.url, args.duration, args.attackers, args.stalled)), indent=2))


if __name__ == "__main__":
    main()
