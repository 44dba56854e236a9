"""The access log at national scale: a person's own log read from a generated log of `--rows` entries.

Fills the access log of a PostgreSQL database of its own (a small nation beside it, so `me` resolves)
with `--rows` entries over `--months` monthly partitions: about 5.5 million persons, as in Norway,
each looked up now and then, and one sample citizen looked up `--probe` times over those months (an
integrator who asks for the same patient every day). The fill runs once per size and is reused.

Then it measures, on that log:
- `me { accessLog(first: 20) { totalCount edges { ... } pageInfo { endCursor } } }` through the app
  (in-process HTTP, the citizen's own token), the first page and a page deep into the log;
- the write path: one response's rows (1 and 100 persons) through the group commit, alternating with
  the same write into an empty access log, so "as fast as before" is measured in the same run.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from bench.common import ADMIN_URL, database_name, database_url, recreate_database, summary, table, write_results
from helsegraf.authz.access_log import AccessLogCountLoader, AccessLogLoader, GroupCommit, entry_rows
from helsegraf.authz.log_partitions import add_months, ensure_partitions, month_start
from helsegraf.authz.principal import Principal
from helsegraf.authz.release import Released
from helsegraf.authz.tokens import mint
from helsegraf.config import Settings
from helsegraf.data.sample import sample_ids
from helsegraf.db import Database
from helsegraf.http.app import create_app
from helsegraf.migrate import upgrade
from helsegraf.registers import AUDIT
from helsegraf.seeding import seed

NATION = 2_000  # persons in the nation beside the log (only the sample citizen's log is read)
PERSONS = 5_500_000  # distinct persons the generated entries are spread over
CHUNK = 2_000_000  # rows per INSERT
QUERY = """query($after: String) { me { accessLog(first: 20, after: $after) {
  totalCount edges { node { at purpose fields actor { role hprNumber orgNumber } } } pageInfo { endCursor } } } }"""


def _fill_sql(lower: datetime, seconds: int, month_first: int, last: int, first: int, count: int) -> str:
    # One statement per chunk, generated in the server: synthetic nins (month + 80 style, 11 digits), times
    # rising with the ids as a real log's do.
    return f"""
        INSERT INTO audit_access_log (at, request_id, nin, role, hpr_number, org_number, purpose, scopes, fields)
        SELECT timestamptz '{lower.isoformat()}' + ((g - {month_first}) * {seconds}.0 / {count}) * interval '1 second',
               'bench-' || g, '0181' || lpad((((g::bigint * 7919) % {PERSONS}) + 1)::text, 7, '0'), 'integrator',
               NULL, '974760673', 'bench', 'preg:identity flr:gp', 'identity gp'
        FROM generate_series({first}, {last}) AS g"""  # noqa: S608 - numbers only


def _prepare(rows: int, months: int, probe: int) -> tuple[Settings, str]:
    name = database_name(f"log_{rows}")
    url = database_url(name)
    settings = Settings(database_url=url)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        with psycopg.connect(url, autocommit=True) as conn:
            marker = conn.execute("SELECT to_regclass('bench_log_filled')").fetchone()
            filled = marker is not None and marker[0] is not None
        if filled:
            print(f"reusing {name}")
            return settings, str(sample_ids(settings, datetime.now(UTC).date())["personWithGp"])
    recreate_database(name)
    seed(settings, persons=NATION, seed_value=1, reset=False)
    citizen = str(sample_ids(settings, datetime.now(UTC).date())["personWithGp"])
    this = month_start(datetime.now(UTC).date())
    spans = [add_months(this, -i) for i in range(months - 1, -1, -1)]
    per_month = rows // months
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        from sqlalchemy import create_engine  # noqa: PLC0415

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as connection:
            ensure_partitions(connection, spans)
        engine.dispose()
        done = 0
        for month in spans:
            lower = datetime(month.year, month.month, 1, tzinfo=UTC)
            seconds = int((datetime(*add_months(month, 1).timetuple()[:3], tzinfo=UTC) - lower).total_seconds())
            for first in range(done, done + per_month, CHUNK):
                last = min(first + CHUNK, done + per_month) - 1
                conn.execute(_fill_sql(lower, seconds, done, last, first, per_month))
            done += per_month
            elapsed = time.perf_counter() - started
            print(f"  {done:,} rows ({done / elapsed:,.0f} rows/s), {month:%Y-%m}", flush=True)
        # The sample citizen: looked up `probe` times, spread evenly over the months.
        step = (datetime.now(UTC) - datetime(spans[0].year, spans[0].month, 1, tzinfo=UTC)) / probe
        at = [datetime(spans[0].year, spans[0].month, 1, tzinfo=UTC) + step * i for i in range(probe)]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO audit_access_log (at, request_id, nin, role, org_number, purpose, scopes, fields) "
                "VALUES (%s, %s, %s, 'integrator', '974760673', 'bench', 'preg:identity', 'identity')",
                [(t, f"probe-{i}", citizen) for i, t in enumerate(at)],
            )
        conn.execute("VACUUM ANALYZE audit_access_log")
        conn.execute("CREATE TABLE bench_log_filled ()")
    print(f"  filled {rows + probe:,} rows in {time.perf_counter() - started:.0f} s")
    return settings, citizen


async def _reads(settings: Settings, citizen: str, runs: int) -> dict[str, Any]:
    logging.getLogger("helsegraf.requests").setLevel(logging.WARNING)  # one line per request would drown the table
    app = create_app(settings)
    bearer = mint(settings.home, role="citizen", pid=citizen, ttl_seconds=3600)
    headers = {"authorization": f"Bearer {bearer}"}
    first_page: list[float] = []
    deep_page: list[float] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:

        async def ask(after: str | None) -> dict[str, Any]:
            response = await http.post("/graphql", json={"query": QUERY, "variables": {"after": after}},
                                       headers=headers)  # fmt: skip
            body = response.json()
            if response.status_code != 200 or "errors" in body:
                raise RuntimeError(body)
            return body["data"]["me"]["accessLog"]  # type: ignore[no-any-return]

        page = await ask(None)
        total = page["totalCount"]
        cursor = None
        for _ in range(25):  # 25 pages (500 entries) into the log
            cursor = (await ask(cursor))["pageInfo"]["endCursor"]
        for _ in range(10):
            await ask(None)
        for i in range(runs):
            for samples, after in ((first_page, None), (deep_page, cursor)) if i % 2 == 0 else (
                (deep_page, cursor), (first_page, None)):  # fmt: skip
                started = time.perf_counter()
                await ask(after)
                samples.append((time.perf_counter() - started) * 1000)
    await app.state.db.dispose()
    sql = await _sql(settings, citizen, runs)
    return {"entries_of_the_person": total, "first_page": summary(first_page), "page_26": summary(deep_page), **sql}


async def _sql(settings: Settings, citizen: str, runs: int) -> dict[str, Any]:
    """The two statements behind a page, timed alone: the page (20 + 1 rows) and the person's total."""
    db = Database(settings)
    page: list[float] = []
    count: list[float] = []
    try:
        for i in range(runs + 10):
            started = time.perf_counter()
            await AccessLogLoader(db).load(((citizen,), None, 20))
            middle = time.perf_counter()
            await AccessLogCountLoader(db).load((citizen,))
            if i >= 10:  # the first statements warm the pool and prepare
                page.append((middle - started) * 1000)
                count.append((time.perf_counter() - middle) * 1000)
    finally:
        await db.dispose()
    return {"sql_page": summary(page), "sql_total": summary(count)}


def _rows(count: int, request: int) -> dict[str, list[object]]:
    principal = Principal(authenticated=True, subject="bench", role="clinician", scopes=frozenset({"preg:identity"}))
    released = {f"0181{(request * 1000 + i) % 10_000_000:07d}": Released({"identity"}, {"preg:identity"})
                for i in range(count)}  # fmt: skip
    return entry_rows(principal=principal, request_id=f"bench-{request}", purpose=None, released=released,
                      at=datetime.now(UTC))  # fmt: skip


async def _writes(settings: Settings, runs: int) -> dict[str, Any]:
    empty = Settings(database_url=recreate_database(database_name("log_empty")))
    upgrade(empty, [AUDIT])
    results: dict[str, Any] = {}
    big, small = Database(settings), Database(empty)
    try:
        groups = {"national log": GroupCommit(big), "empty log": GroupCommit(small)}
        for persons in (1, 100):
            samples: dict[str, list[float]] = {name: [] for name in groups}
            for i in range(runs + 20):
                for name, group in groups.items() if i % 2 == 0 else reversed(groups.items()):
                    batch = _rows(persons, i)
                    started = time.perf_counter()
                    await group.write(batch)
                    if i >= 20:  # the first writes warm pools and prepared statements
                        samples[name].append((time.perf_counter() - started) * 1000)
            results[f"{persons}_persons"] = {name: summary(s) for name, s in samples.items()}
            national, fresh = (statistics.median(samples[n]) for n in groups)
            results[f"{persons}_persons"]["ratio_p50"] = round(national / fresh, 3)
    finally:
        await big.dispose()
        await small.dispose()
    return results


def run(rows: int, months: int, probe: int, runs: int) -> None:
    """Fill (once) and measure a person's access log and the write path at national scale."""
    settings, citizen = _prepare(rows, months, probe)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        total = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'audit_access_log_default'")
        size = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
                            "WHERE inhparent = 'audit_access_log'::regclass").fetchone()  # fmt: skip
        partitions = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_access_log'::regclass")
        counted = conn.execute("SELECT sum(reltuples)::bigint FROM pg_class c JOIN pg_inherits i ON c.oid = i.inhrelid "
                               "WHERE i.inhparent = 'audit_access_log'::regclass").fetchone()  # fmt: skip
        log = {"rows": int(counted[0] or 0) if counted else 0, "size": size[0] if size else None,
               "partitions": partitions.fetchone()[0], "default_rows": total.fetchone()[0]}  # fmt: skip
    reads = asyncio.run(_reads(settings, citizen, runs))
    writes = asyncio.run(_writes(settings, runs))
    results = {"log": log, "reads": reads, "writes": writes, "months": months}
    print(f"access log: {log['rows']:,} rows in {log['partitions']} partitions ({log['size']}); "
          f"the citizen has {reads['entries_of_the_person']:,} entries")  # fmt: skip
    print(table([(name, str(reads[name]["p50_ms"]), str(reads[name]["p95_ms"]), str(reads[name]["p99_ms"]))
                 for name in ("first_page", "page_26", "sql_page", "sql_total")],
                ("me { accessLog(first: 20) } via HTTP", "p50 ms", "p95 ms", "p99 ms")))  # fmt: skip
    rows_out = []
    for persons in (1, 100):
        w = writes[f"{persons}_persons"]
        rows_out += [(f"{persons} persons, {name}", str(w[name]["p50_ms"]), str(w[name]["p95_ms"]))
                     for name in ("national log", "empty log")]  # fmt: skip
    print(table(rows_out, ("group-commit write", "p50 ms", "p95 ms")))
    print(f"results: {write_results('access-log-scale', results)}")
