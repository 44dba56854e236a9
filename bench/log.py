"""The access log's durable write: what a lone request pays for the group commit, and what it saves under load.

Writes the rows of one response (`--rows` persons) to the access log of a PostgreSQL database of its own,
each write awaited as a request awaits it: directly (one INSERT, one commit) and through the group commit
(authz/access_log.py), alternating in rounds. Alone (one writer) the difference is the grouping's cost;
with `--concurrency` writers at once, the commits per write show what the grouping saves.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime

from bench.common import database_name, recreate_database, summary, table, write_results
from helsegraf.authz.access_log import LOG, GroupCommit, entry_rows
from helsegraf.authz.principal import Principal
from helsegraf.authz.release import Released
from helsegraf.config import Settings
from helsegraf.db import Database
from helsegraf.migrate import upgrade
from helsegraf.registers import AUDIT

DATABASE = database_name("access_log")


def _rows(count: int, request: int) -> dict[str, list[object]]:
    principal = Principal(authenticated=True, subject="bench", role="clinician", scopes=frozenset({"preg:identity"}))
    released = {f"{80_000_000_000 + request * 1000 + i:011d}": Released({"identity"}, {"preg:identity"})
                for i in range(count)}  # fmt: skip
    return entry_rows(principal=principal, request_id=f"bench-{request}", purpose=None, released=released,
                      at=datetime.now(UTC))  # fmt: skip


async def _lone(db: Database, grouped: GroupCommit, runs: int, rows: int) -> tuple[list[float], list[float]]:
    direct, through_group = [], []
    for i in range(runs):
        for samples, write in ((direct, lambda r: db.append(AUDIT, LOG, {}, r)), (through_group, grouped.write)):
            batch = _rows(rows, i)
            started = time.perf_counter()
            await write(batch)
            samples.append((time.perf_counter() - started) * 1000)
    return direct, through_group


async def _loaded(db: Database, concurrency: int, seconds: float, rows: int, *, grouped: bool) -> dict[str, float]:
    group = GroupCommit(db)
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer(n: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            batch = _rows(rows, n * 1_000_000 + i)
            await (group.write(batch) if grouped else db.append(AUDIT, LOG, {}, batch))
            done += 1
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    commits = group.commits if grouped else done
    return {"writes_per_s": round(done / elapsed, 1), "writes_per_commit": round(done / max(commits, 1), 2)}


async def _run(runs: int, rows: int, concurrency: int, seconds: float) -> dict[str, object]:
    url = recreate_database(DATABASE)
    settings = Settings(database_url=url)
    upgrade(settings, [AUDIT])
    db = Database(settings)
    try:
        grouped = GroupCommit(db)
        await _lone(db, grouped, 20, rows)  # warm the pool and the prepared statement
        direct, through_group = await _lone(db, grouped, runs, rows)
        loaded = {name: await _loaded(db, concurrency, seconds, rows, grouped=name == "grouped")
                  for name in ("direct", "grouped")}  # fmt: skip
    finally:
        await db.dispose()
    extra_us = (statistics.median(through_group) - statistics.median(direct)) * 1000
    return {"rows_per_write": rows, "lone": {"direct": summary(direct), "grouped": summary(through_group),
            "grouping_costs_us_p50": round(extra_us, 1)}, "concurrency": concurrency, "loaded": loaded}  # fmt: skip


def run(runs: int, rows: int, concurrency: int, seconds: float) -> None:
    """Measure and print the access log's write, alone and under concurrent writers."""
    results = asyncio.run(_run(runs, rows, concurrency, seconds))
    lone = results["lone"]
    print(f"one writer, {rows} rows a write, {runs} writes each way, alternating (PostgreSQL):")
    print(table([(name, str(lone[name]["p50_ms"]), str(lone[name]["p95_ms"])) for name in ("direct", "grouped")],
                ("write", "p50 ms", "p95 ms")))  # fmt: skip
    print(f"the grouping costs a lone request {lone['grouping_costs_us_p50']} µs at the median")
    loaded = results["loaded"]
    print(f"\n{concurrency} writers at once for {seconds:g} s:")
    print(table([(name, str(v["writes_per_s"]), str(v["writes_per_commit"])) for name, v in loaded.items()],
                ("write", "writes/s", "writes per commit")))  # fmt: skip
    print(f"results: {write_results('access-log', results)}")
