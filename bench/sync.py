"""Sync throughput: bootstrap of PREG from the Persontjenesten fake, and follow lag under a steady stream.

Bootstrap: `helsegraf upstream --registers preg` serves a nation of `--persons` persons in a process of
its own; the sync engine (in this process, `--concurrency` bulk-by-id calls in flight) reads the event
log from the start into an empty PostgreSQL database. Reported: persons per second, end to end
(HTTP, JSON, the generated pydantic models, COPY and merge).

Follow: a fresh fake of the same nation emits `--rate` events a minute (days of changes every second);
the engine, starting at the bootstrapped cursor, polls every `--interval` seconds for `--duration`
seconds. Reported: the largest and the median lag seen (seconds since the feed was last current, and
events behind), sampled every second from the cursor table as /metrics reads it.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import database_name, recreate_database, table, write_results
from helsegraf.config import Settings
from helsegraf.migrate import upgrade
from helsegraf.sync.engine import Engine, lag_seconds
from helsegraf.sync.preg import PregAdapter, PregSource

DATABASE = database_name("sync")
EVENTS_PER_DAY_PER_SCALE = 10  # five moves, two births (two events each), a death, ... (upstream/preg.py)


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _upstream(persons: int, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "helsegraf.cli", "upstream", "--registers", "preg", "--persons", str(persons),
               "--port", str(port), *args]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return process, url  # noqa: TRY300 - the loop retries
        except httpx.HTTPError:
            if process.poll() is not None:
                raise SystemExit("helsegraf upstream exited before serving") from None
            time.sleep(1)
    process.kill()
    raise SystemExit("helsegraf upstream did not start within 30 minutes")


def _source(url: str) -> PregSource:
    return PregSource(f"{url}/persontjenesten", f"{url}/persontjenesten/connect/token", "helsegraf-sync",
                      "rehearsal-secret")  # fmt: skip


async def _bootstrap(url: str, database: str, concurrency: int) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=2 * concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        engine = Engine(PregAdapter(_source(url), concurrency=concurrency), database, client)
        started = time.perf_counter()
        status = await engine.run_once()
        elapsed = time.perf_counter() - started
        engine.close()
    return elapsed, status.applied["events"]


async def _follow(url: str, database: str, interval: float, duration: float, concurrency: int) -> dict[str, float]:
    lags: list[float] = []
    behind: list[int] = []
    async with httpx.AsyncClient(timeout=60) as client:
        engine = Engine(PregAdapter(_source(url), concurrency=concurrency), database, client)
        stop = asyncio.Event()
        follower = asyncio.create_task(engine.follow(interval, stop, lambda _e: None))
        start_position = engine.states()["events"].position
        ends = time.monotonic() + duration
        while time.monotonic() < ends:
            await asyncio.sleep(1)
            state = engine.states()["events"]
            lag = lag_seconds(state, datetime.now(UTC))
            head = int((await client.get(f"{url}/")).json()["persontjenesten"]["latestSequenceNumber"])
            lags.append(lag if lag is not None else duration)
            behind.append(max(0, head - state.position))
        stop.set()
        await follower
        applied = engine.states()["events"].position - start_position
        engine.close()
    return {
        "events_applied": applied,
        "events_per_minute": round(applied / duration * 60),
        "max_lag_s": round(max(lags), 2),
        "median_lag_s": round(statistics.median(lags), 2),
        "max_events_behind": max(behind),
    }


def run(persons: int, concurrency: int, rate: int, interval: float, duration: float) -> None:
    """Measure bootstrap persons/s and follow lag; print a table and store the results."""
    database = recreate_database(DATABASE)
    upgrade(Settings(home=Path(os.environ.get("HELSEGRAF_HOME", "/tmp")), database_url=database), stores=["preg"])  # noqa: S108 - a default home for the migration's files only
    print(f"starting the Persontjenesten fake with {persons:,} persons ...", flush=True)
    process, url = _upstream(persons, "--day-seconds", "0")
    try:
        print("bootstrapping PREG ...", flush=True)
        elapsed, applied = asyncio.run(_bootstrap(url, database, concurrency))
    finally:
        process.terminate()
        process.wait()
    scale = max(1, round(rate / 60 / EVENTS_PER_DAY_PER_SCALE))
    print(f"following {rate:,} events a minute for {duration:.0f} s ...", flush=True)
    process, url = _upstream(persons, "--day-seconds", "1", "--scale", str(scale))
    try:
        follow = asyncio.run(_follow(url, database, interval, duration, concurrency))
    finally:
        process.terminate()
        process.wait()
    results = {
        "persons": persons, "concurrency": concurrency, "bootstrap_seconds": round(elapsed, 2),
        "bootstrap_events": applied, "persons_per_second": round(persons / elapsed), "follow": follow,
        "follow_interval_s": interval, "target_rate_per_minute": rate,
    }  # fmt: skip
    rows = [
        ("bootstrap", f"{persons:,} persons in {elapsed:.1f} s", f"{persons / elapsed:,.0f} persons/s"),
        ("follow", f"{follow['events_per_minute']:,} events/min applied",
         (f"lag max {follow['max_lag_s']} s, median {follow['median_lag_s']} s, "
          f"at most {follow['max_events_behind']:,} events behind")),
    ]  # fmt: skip
    print(table(rows, ("phase", "work", "result")))
    print(f"results: {write_results(f'sync-{persons}', results)}")
