"""Hostile load: does good traffic keep its throughput while another client attacks, and does the worker stay small?

`helsegraf serve` (one worker) on the PostgreSQL nation answers the integrator query (1, 10 and 100
patients per request in turn, clinician token) from a closed-loop client (`bench.loadgen`), alone for
`--duration` seconds and for as long again while an attacker (this module, in a process of its own)
sends, as fast as it is answered (alternating rounds of both):

- refused documents: 60 kB alias documents, each one new (they would fill a parse cache), cost bombs
  (nested patient lists), fan-out fragments (`F30 { ...F29 ...F29 }`, 1.2 kB), variables that cannot be
  coerced, request heads of 1 MB;
- stalled connections: `--stalled` sockets that send half a request head and then nothing, opened again
  each time the server closes one.

The server runs on the first CPU and both clients on the last, the attacker niced, so that what the
attacker costs the server is measured (not the CPU its own client burns on a small machine).
Reported: good throughput alone and under attack and their ratio (target >= 80 %), the worker's peak
resident memory (target < 300 MB), the server's CPU per request of each kind, and what the attacker
sent and got back.
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

    # Built and encoded before the clock starts, so that the attacker's own CPU goes to sending.
    big_head = {"x-big": "a" * 1_000_000, "content-type": "application/json"}
    plain = {"content-type": "application/json"}
    aliases = [json.dumps({"query": _alias_document(n)}).encode() for n in range(300)]
    fixed = {
        "fan-out": json.dumps({"query": FAN_OUT}).encode(),
        "cost bomb": json.dumps({"query": COST_BOMB}).encode(),
        "bad variable": json.dumps(
            {"query": "query($r: Int!) { reshUnit(reshId: $r) { reshId } }", "variables": {"r": "x" * 5000}}
        ).encode(),
        "1 MB head": json.dumps({"query": "{ __typename }"}).encode(),
    }

    def bodies(n: int) -> tuple[str, bytes, dict[str, str]]:
        kind = ("aliases 60 kB", "fan-out", "cost bomb", "bad variable", "1 MB head")[n % 5]
        if kind == "aliases 60 kB":
            return kind, aliases[(n // 5) % len(aliases)], plain  # each one new to the server's caches, 300 times
        return kind, fixed[kind], big_head if kind == "1 MB head" else plain

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def sender() -> None:
            while time.monotonic() < stop_at:
                kind, body, headers = bodies(next(counter))
                try:
                    response = await client.post(f"{url}/graphql", content=body, headers=headers)
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


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(  # noqa: PLR0915 - the measurement, in order
    persons: int,
    duration: float,
    concurrency: int,
    attackers: int,
    stalled: int,
    refusal_delay_ms: int = 0,
    rounds: int = 3,
) -> dict[str, Any]:
    """Measure good traffic alone, then under attack; print and store the figures."""
    settings = nation_database(persons)
    nins = _patients(settings.effective_database_url, 500)
    home = tempfile.mkdtemp(prefix="helsegraf-hostile-")
    bearer = mint(Path(home), role="clinician", hpr_number=1, org_number="974760673", ttl_seconds=4 * 3600)
    env = {**os.environ, "HELSEGRAF_HOME": home, "HELSEGRAF_LOG_FORMAT": "plain",
           "HELSEGRAF_REFUSAL_DELAY_MS": str(refusal_delay_ms)}  # fmt: skip
    command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url", settings.effective_database_url,
               "--workers", "1"]  # fmt: skip
    process, base = start_server(command, ready="/readyz", what="helsegraf serve", env=env)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) > 1:  # the server on the first CPU, both clients on the last (bench.loadgen pins itself there)
        os.sched_setaffinity(process.pid, {cpus[0]})
        os.sched_setaffinity(0, {cpus[-1]})
        results_cpus = {"server": cpus[0], "clients": cpus[-1]}
    else:
        results_cpus = {}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        # Mixed good traffic: one, ten and a hundred patients per request, in turn.
        sizes = [1, 10, 100]
        json.dump([{"query": INTEGRATOR_QUERY, "variables": {"nins": nins[i : i + sizes[i % 3]]}} for i in range(300)],
                  handle)  # fmt: skip
    results: dict[str, Any] = {"persons": persons, "duration_s": duration, "concurrency": concurrency,
                               "attackers": attackers, "stalled": stalled, "cpus": results_cpus,
                               "refusal_delay_ms": refusal_delay_ms, "rounds_count": rounds}  # fmt: skip
    try:
        warm = _good(base, handle.name, bearer, 5, concurrency)
        warm.communicate()
        # Alone and under attack in alternating rounds (the machine's other load drifts; each side sees it alike).
        phase = duration / rounds
        alone_runs, attacked_runs, attack_tallies = [], [], []
        cpu_alone = cpu_attacked = 0.0
        rss_alone = rss_peak = 0.0
        for _ in range(rounds):
            peak, cpu = _Peak(process.pid), _cpu_s(process.pid)
            alone_runs.append(json.loads(_good(base, handle.name, bearer, phase, concurrency).communicate()[0]))
            rss_alone, cpu_alone = max(rss_alone, peak.done()), cpu_alone + _cpu_s(process.pid) - cpu
            peak, cpu = _Peak(process.pid), _cpu_s(process.pid)
            attacked = _good(base, handle.name, bearer, phase, concurrency)
            attacker = subprocess.Popen(  # niced: on this machine its own CPU would otherwise starve the good client
                [sys.executable, "-m", "bench.hostile", "--url", base, "--duration", str(phase), "--attackers",
                 str(attackers), "--stalled", str(stalled)], stdout=subprocess.PIPE, text=True,
                preexec_fn=lambda: os.nice(19),  # noqa: PLW1509 - no threads in the child before exec
            )  # fmt: skip
            attacked_runs.append(json.loads(attacked.communicate()[0]))
            attack_tallies.append(json.loads(attacker.communicate()[0]))
            rss_peak, cpu_attacked = max(rss_peak, peak.done()), cpu_attacked + _cpu_s(process.pid) - cpu
        results["rounds"] = {"alone": alone_runs, "under_attack": attacked_runs}
        results["alone"], results["under_attack"] = _merged(alone_runs, duration), _merged(attacked_runs, duration)
        results["attack"] = dict(sum((Counter(t) for t in attack_tallies), Counter()))
        results["rss_mb_alone"], results["rss_mb_peak"] = rss_alone, rss_peak
        # The server's CPU per request, which the machine's other load does not change as much as the rates.
        good_ms = cpu_alone * 1000 / max(results["alone"]["completed"], 1)
        attacks = sum(results["attack"].values())
        attack_ms = (cpu_attacked * 1000 - good_ms * results["under_attack"]["completed"]) / max(attacks, 1)
        results["server_cpu"] = {"alone_s": round(cpu_alone, 2), "under_attack_s": round(cpu_attacked, 2),
                                 "ms_per_good_request": round(good_ms, 2),
                                 "ms_per_attack_request": round(attack_ms, 2)}  # fmt: skip
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


def _merged(runs: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """Add up the rounds of one side: requests, errors, throughput; the latencies are the rounds' means."""
    errors: Counter[str] = sum((Counter(r["errors"]) for r in runs), Counter())
    completed = sum(r["completed"] for r in runs)
    client = {k: round(sum(r["client"].get(k, 0) for r in runs) / len(runs), 1) for k in ("p50_ms", "p99_ms")}
    return {"completed": completed, "errors": dict(errors), "throughput_rps": round(completed / duration, 1),
            "client": client}  # fmt: skip


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
    cpu = results["server_cpu"]
    print(
        f"server CPU: {cpu['alone_s']} s alone, {cpu['under_attack_s']} s under attack; "
        f"{cpu['ms_per_good_request']} ms per good request, {cpu['ms_per_attack_request']} ms per attacking one; "
        f"refusal delay {results['refusal_delay_ms']} ms"
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
    print(json.dumps(asyncio.run(attack(args.url, args.duration, args.attackers, args.stalled))))


if __name__ == "__main__":
    main()
