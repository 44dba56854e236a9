"""An open-loop load generator: a steady request rate for a fixed time, from its own process.

`python -m bench.loadgen --url URL --rate R --duration S --body FILE [--header K:V]...` prints one JSON
object: requests sent and completed, errors, throughput, and latency percentiles (client-observed
and server-side from Server-Timing). Open loop: requests start on schedule whether or not earlier
ones have answered, so a slow server shows up as latency and errors, not as a lower offered rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import summary


@dataclass
class _Tally:
    """What the answers said: client latencies, Server-Timing durations and statement counts, errors by kind."""

    latencies: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def answer(self, response: httpx.Response, started: float) -> None:
        """Count a response: an error unless it is 200 without GraphQL errors, else its latencies."""
        if response.status_code != httpx.codes.OK or b'"errors"' in response.content:
            self.error(str(response.status_code))
            return
        self.latencies.append((time.perf_counter() - started) * 1000)
        timing = response.headers.get("server-timing", "")
        if "dur=" in timing:
            self.server.append(float(timing.split("dur=", 1)[1].split(",", 1)[0]))
        if "statements" in timing:
            self.statements.append(int(timing.split('desc="', 1)[1].split(" ", 1)[0]))

    def summary(self, elapsed: float) -> dict[str, object]:
        return {
            "completed": len(self.latencies), "errors": self.errors,
            "throughput_rps": round(len(self.latencies) / elapsed, 1),
            "client": summary(self.latencies) if self.latencies else {},
            "server": summary(self.server) if self.server else {},
        }  # fmt: skip


async def run(
    url: str, rate: float, duration: float, bodies: list[bytes], headers: dict[str, str]
) -> dict[str, object]:
    """Send `rate` requests per second for `duration` seconds; return the statistics."""
    tally = _Tally()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(body: bytes) -> None:
            started = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                tally.error(type(exc).__name__)
                return
            tally.answer(response, started)

        tasks = []
        begin = time.perf_counter()
        total = int(rate * duration)
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(bodies[i % len(bodies)])))
        sent_in = time.perf_counter() - begin
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    return {"offered_rate": rate, "duration_s": round(sent_in, 2), "sent": total, **tally.summary(elapsed)}


async def closed_loop(
    url: str, concurrency: int, duration: float, bodies: list[bytes], headers: dict[str, str]
) -> dict[str, object]:
    """Keep `concurrency` requests in flight for `duration` seconds (the server's capacity); return the statistics."""
    tally = _Tally()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        deadline = time.perf_counter() + duration
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.perf_counter() < deadline:
                body = bodies[next(counter) % len(bodies)]
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    tally.error(type(exc).__name__)
                    continue
                tally.answer(response, started)

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begin
    statements = tally.statements
    return {
        "concurrency": concurrency, "duration_s": round(elapsed, 2), **tally.summary(elapsed),
        "statements": {"min": min(statements), "max": max(statements)} if statements else None,
    }  # fmt: skip


def main() -> None:
    """Parse arguments, pin to the last CPU where possible, run, print JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, help="open loop: requests per second")
    parser.add_argument("--concurrency", type=int, help="closed loop: requests kept in flight")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--bodies", required=True, help="a JSON file with a list of request bodies to cycle through")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {(os.cpu_count() or 1) - 1})
    bodies = [json.dumps(b).encode() for b in json.loads(Path(args.bodies).read_text())]
    headers = {"content-type": "application/json"} | dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    if args.concurrency:
        result = asyncio.run(closed_loop(args.url, args.concurrency, args.duration, bodies, headers))
    else:
        result = asyncio.run(run(args.url, args.rate, args.duration, bodies, headers))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
