"""Sync throughput: bootstrap of PREG from the Persontjenesten fake, and follow lag under a steady stream.

Bootstrap: `helsegraf upstream --registers preg` serves a nation of `--persons` persons in a process of
its own; the sync engine (in this process, `--concurrency` bulk-by-id calls in flight, or `--workers`
worker processes making them) reads the event log from the start into an empty PostgreSQL database
(HELSEGRAF_BENCH_SYNC_DATABASE, default `<HELSEGRAF_BENCH_DATABASE_PREFIX>_sync`), `--batch` events a transaction.
Reported: persons per second, end to end (HTTP, validation against the contract, mapping, COPY and
merge), and the CPU seconds per 1,000 persons spent by the client (this process and its workers),
the fake and the database (the PostgreSQL backends serving the sync's connections), with the load
average, since the machine may be shared.

Follow: a fresh fake of the same nation emits `--rate` events a minute (days of changes every second);
the engine, starting at the bootstrapped cursor, polls every `--interval` seconds for `--duration`
seconds. Reported: the largest and the median lag seen (seconds since the feed was last current, and
events behind), sampled every second from the cursor table as /metrics reads it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from bench.common import database_name, database_url, recreate_database, table, write_results
from helsegraf.config import Settings
from helsegraf.migrate import upgrade
from helsegraf.sync import engine as sync_engine
from helsegraf.sync.engine import Engine, lag_seconds
from helsegraf.sync.preg import PregAdapter, PregSource

DATABASE = os.environ.get("HELSEGRAF_BENCH_SYNC_DATABASE") or database_name("sync")
TICKS = os.sysconf("SC_CLK_TCK")
BULK_FROM = int(os.environ.get("HELSEGRAF_SYNC_BULK_FROM") or sync_engine.BULK_FROM)  # as `helsegraf sync` reads it
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


def _cpu_of(pid: int) -> float:
    """Return a process's CPU seconds so far (user + system, from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _database_cpu(database: str) -> float:
    """Return the CPU seconds of the PostgreSQL backends connected to the benchmark's database (same host)."""
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]
    return sum(_cpu_of(pid) for pid in pids)


async def _bootstrap(
    url: str, database: str, concurrency: int, workers: int, batch: int, fake: int
) -> dict[str, float]:
    limits = httpx.Limits(max_connections=2 * concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        adapter = PregAdapter(_source(url), concurrency=concurrency, workers=workers)
        engine = Engine(adapter, database, client, batch_size=batch, bulk_from=BULK_FROM)
        fake_before, own_before = _cpu_of(fake), time.process_time()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        status = await engine.run_once()
        elapsed = time.perf_counter() - started
        fake_cpu, own_cpu = _cpu_of(fake) - fake_before, time.process_time() - own_before
        database_cpu = _database_cpu(database)
        load = os.getloadavg()
        engine.close()  # joins the workers, so their CPU is counted among this process's children
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    return {
        "seconds": elapsed, "applied": status.applied["events"], "client_cpu": own_cpu + workers_cpu,
        "workers_cpu": workers_cpu, "fake_cpu": fake_cpu, "database_cpu": database_cpu, "load": load[0],
    }  # fmt: skip


async def _follow(
    url: str, database: str, interval: float, duration: float, concurrency: int, workers: int, batch: int
) -> dict[str, float]:
    lags: list[float] = []
    behind: list[int] = []
    async with httpx.AsyncClient(timeout=60) as client:
        adapter = PregAdapter(_source(url), concurrency=concurrency, workers=workers)
        engine = Engine(adapter, database, client, batch_size=batch)
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
        "load_average": round(os.getloadavg()[0], 2),
    }


def run(
    persons: int, concurrency: int, rate: int, interval: float, duration: float, workers: int = 0, batch: int = 10_000
) -> None:
    """Measure bootstrap persons/s and follow lag; print a table and store the results."""
    sync_log = logging.getLogger("helsegraf.sync")  # the engine's own lines (a bulk load's start and end)
    sync_log.setLevel(logging.INFO)
    sync_log.addHandler(logging.StreamHandler(sys.stdout))
    database = recreate_database(DATABASE)
    upgrade(Settings(home=Path(os.environ.get("HELSEGRAF_HOME", "/tmp")), database_url=database), stores=["preg"])  # noqa: S108 - a default home for the migration's files only
    print(f"starting the Persontjenesten fake with {persons:,} persons ...", flush=True)
    process, url = _upstream(persons, "--day-seconds", "0")
    try:
        print(f"bootstrapping PREG ({workers} workers, {concurrency} calls in flight, batches of {batch:,}) ...",
              flush=True)  # fmt: skip
        boot = asyncio.run(_bootstrap(url, database, concurrency, workers, batch, process.pid))
    finally:
        process.terminate()
        process.wait()
    elapsed = boot["seconds"]
    scale = max(1, round(rate / 60 / EVENTS_PER_DAY_PER_SCALE))
    print(f"following {rate:,} events a minute for {duration:.0f} s ...", flush=True)
    process, url = _upstream(persons, "--day-seconds", "1", "--scale", str(scale))
    try:
        follow = asyncio.run(_follow(url, database, interval, duration, concurrency, workers, batch))
    finally:
        process.terminate()
        process.wait()
    per_thousand = {k: round(boot[f"{k}_cpu"] / persons * 1000, 4) for k in ("client", "workers", "fake", "database")}
    results = {
        "persons": persons, "concurrency": concurrency, "workers": workers, "batch": batch,
        "bootstrap_seconds": round(elapsed, 2), "bootstrap_events": boot["applied"],
        "persons_per_second": round(persons / elapsed), "cpu_seconds_per_1000_persons": per_thousand,
        "bootstrap_load_average": round(boot["load"], 2), "follow": follow, "follow_interval_s": interval,
        "target_rate_per_minute": rate,
    }  # fmt: skip
    rows = [
        ("bootstrap", f"{persons:,} persons in {elapsed:.1f} s", f"{persons / elapsed:,.0f} persons/s"),
        ("cpu per 1,000 persons", f"client {per_thousand['client']} s (workers {per_thousand['workers']} s)",
         f"fake {per_thousand['fake']} s, database {per_thousand['database']} s"),
        ("follow", f"{follow['events_per_minute']:,} events/min applied",
         (f"lag max {follow['max_lag_s']} s, median {follow['median_lag_s']} s, "
          f"at most {follow['max_events_behind']:,} events behind")),
        ("load average", f"{boot['load']:.2f} at the end of bootstrap", f"{follow['load_average']} after following"),
    ]  # fmt: skip
    print(table(rows, ("phase", "work", "result")))
    print(f"results: {write_results(f'sync-{persons}', results)}")
