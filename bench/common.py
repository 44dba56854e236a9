"""What the benchmarks share: the PostgreSQL nation they run on, timing and reporting."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg

from helsegraf.config import Settings
from helsegraf.federation import free_port

ADMIN_URL = os.environ.get("HELSEGRAF_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Every benchmark database's name starts with this (`<prefix>_100000_1`, `<prefix>_access_log`, ...): two
# checkouts sharing one PostgreSQL server give theirs different prefixes and never drop each other's.
DATABASE_PREFIX = os.environ.get("HELSEGRAF_BENCH_DATABASE_PREFIX", "helsegraf_bench")
RESULTS = Path(__file__).parent / "results"
LOGS = RESULTS / "logs"
_logs: dict[int, Path] = {}


def start_server(
    command: list[str], *, ready: str, what: str, env: dict[str, str] | None = None, timeout_s: float = 60
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `command --port <free port>` and wait until `ready` (a path) answers 200; return it and its base URL.

    The server's output goes to a log file under bench/results/logs/, whose end is shown if it fails to start.
    """
    port = free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{what.replace(' ', '-')}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}{ready}", timeout=1).status_code == httpx.codes.OK:
                _logs[process.pid] = log
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    msg = f"{what} did not become ready within {timeout_s:g} s (log {log}):\n{tail}"
    raise RuntimeError(msg)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """Stop servers this benchmark started (SIGTERM, then SIGKILL after 30 s); keep the logs of those that failed."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log = _logs.pop(process.pid, None)
        if log is not None and process.returncode in (0, -signal.SIGTERM):
            log.unlink(missing_ok=True)


def database_name(suffix: str) -> str:
    """Return the name of a benchmark database: HELSEGRAF_BENCH_DATABASE_PREFIX, then `_<suffix>`."""
    return f"{DATABASE_PREFIX}_{suffix}"


def database_url(name: str) -> str:
    """Return the URL of a benchmark database on the bench PostgreSQL server."""
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def recreate_database(name: str) -> str:
    """Drop and create a benchmark database; return its URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def nation_database(persons: int, seed: int = 1) -> Settings:
    """Return settings for a PostgreSQL database holding a nation of `persons`, seeding it if needed."""
    from helsegraf.data.load import populated_registers  # noqa: PLC0415
    from helsegraf.seeding import seed as run_seed  # noqa: PLC0415

    name = database_name(f"{persons}_{seed}")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    settings = Settings(database_url=database_url(name))
    if exists:
        try:
            populated = populated_registers(settings).get("preg")
        except Exception:  # noqa: BLE001 - a half-made database is simply made again
            populated = None
        if populated == persons:
            from helsegraf.migrate import pending_migrations, upgrade  # noqa: PLC0415

            # A nation seeded by an older version lacks later revisions' tables: bring it up to date.
            if pending_migrations(settings):
                print(f"migrating {name}")
                upgrade(settings)
            print(f"reusing {name}")
            return settings
    recreate_database(name)
    print(f"seeding {persons:,} persons into {name} ...")
    report = run_seed(settings, persons=persons, seed_value=seed, reset=False)
    print(f"  seeded in {report.generate_seconds + report.load_seconds:.1f} s")
    return settings


def percentile(samples: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) of samples."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples_ms: list[float]) -> dict[str, float]:
    """Return p50/p95/p99/mean of millisecond samples."""
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 3),
        "p95_ms": round(percentile(samples_ms, 95), 3),
        "p99_ms": round(percentile(samples_ms, 99), 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3),
    }


async def timed(runs: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Run `call(i)` `runs` times and return each run's milliseconds."""
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write a benchmark's results as JSON under bench/results/."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{date.today().isoformat()}.json"  # noqa: DTZ011
    path.write_text(json.dumps(results, indent=2, default=str))
    return path


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """Format rows as a plain text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
